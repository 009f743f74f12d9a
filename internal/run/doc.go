// Package run carries out one run of the tool, in any mode (validate, plan
// or apply), as a pipeline of values. Each stage takes the values of the
// stages before it and returns its own; nothing is shared between stages
// but the run's log, and no worker writes a shared value:
//
//	Load      files -> templates, their names and diagnostics
//	            (the schema check; the one validation path of every mode)
//	Observe   the server -> one remote value per template: its row, its
//	            builds, the build that serves it (plan.Served, called here
//	            alone), and the validate answers the decision needs; with a
//	            Record (the scope input), the builds only of the templates
//	            it cannot judge from the list row alone
//	Decide    templates + remote values -> plan.Compute, once per run
//	Execute   plan -> writes (the Record hears of them first); each worker
//	            returns its outcome. A create that meets an existing
//	            template observes that one template again and decides it
//	            alone.
//	Wait      builds -> their final states (apply with wait)
//	Result    every stage's values -> the Result, assembled once
//
// The adapters (internal/ghaction for the Action, internal/cli for the CLI)
// read the runner, the inputs and the flags once, and hand Do a Config of
// typed values that this package trusts: it reads no environment variable.
package run
