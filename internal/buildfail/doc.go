// Package buildfail turns a failed build into what a person can act on: the
// line of the template file to annotate (the failed step's `run:`, else
// `build_spec:`), and the end of the build's log made safe to print in the
// job's log and its summary.
//
// It does no I/O: the caller fetches the log (miosa.Client.BuildLogTail)
// and writes the annotation, the log group and the summary.
package buildfail
