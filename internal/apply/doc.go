// Package apply runs one sync: it loads and validates the template files,
// reads the remote state, computes the plan, and in apply mode creates
// templates and triggers builds with deterministic idempotency keys, adopts
// the build the server queues by itself, and optionally waits for the builds.
// One code path serves the GitHub Action and the CLI; only the adapters that
// read inputs and write outputs differ.
package apply
