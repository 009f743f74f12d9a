// Package report owns everything a person reads of a run: the step outputs,
// the job summary, the CLI's text and JSON, and the plan's renderings (text
// table, Markdown table, the plan output's JSON, and each item's field-level
// changes). It is fed by run.Result and writes no files: the adapters put
// its text where their medium wants it.
//
// Everything it renders for GitHub fits GitHub's limits at any number of
// templates: FitOutputs keeps each output under 1 MB as valid JSON,
// SummaryWithin keeps the job summary under 1 MiB, and Fit, which both the
// summary and the pull request comment are built with, leaves out blocks by
// rank (the templates a run leaves alone first, problems last) and says
// what it left out.
package report
