// Package report owns everything a person reads of a run: the step outputs,
// the job summary, the CLI's text and JSON, and the plan's renderings (text
// table, Markdown table, the plan output's JSON, and each item's field-level
// changes). It is fed by run.Result and writes no files: the adapters put
// its text where their medium wants it.
package report
