package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/run"
	"github.com/miosa-dev/sandbox-templates-action/internal/textsafe"
)

// Text prints a run for a terminal: the problems, the builds, the outputs
// and the status, each line escaped for a log the runner may read.
func Text(w io.Writer, res *run.Result) {
	for _, d := range res.Diagnostics {
		fmt.Fprintln(w, textsafe.LogLine(d.String()))
	}
	if len(res.Builds) > 0 {
		fmt.Fprintln(w, "\nBuilds:")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TEMPLATE\tACTION\tBUILD\tSTATE\tDETAILS")
		for _, b := range res.Builds {
			var parts []string
			for _, d := range buildDetails(b) {
				parts = append(parts, d.text)
			}
			details := strings.Join(parts, " ")
			// Each cell is a log line's worth: the first one starts the line.
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", textsafe.LogLine(b.Name), b.Action, textsafe.LogLine(b.BuildID), textsafe.LogLine(b.State), textsafe.LogLine(details))
		}
		tw.Flush()
	}
	for _, b := range res.Builds {
		if len(b.LogTail) > 0 {
			fmt.Fprintf(w, "\nLast lines of the build log of %s (%s):\n", textsafe.LogLine(b.Name), textsafe.LogLine(b.BuildID))
			for _, l := range b.LogTail {
				fmt.Fprintln(w, "  "+textsafe.LogLine(l))
			}
		}
	}
	fmt.Fprintln(w, "\nOutputs:")
	for _, kv := range Outputs(res) {
		fmt.Fprintln(w, textsafe.LogLine("  "+kv[0]+"="+kv[1]))
	}
	fmt.Fprintf(w, "\nStatus: %s (%s, %s)\n", res.Status, res.Plan.Summary(), res.Duration.Round(time.Millisecond))
}

// JSON prints a run as one JSON object: status, mode, plan, builds, ids,
// diagnostics (a run-level one has no path) and the outputs.
func JSON(w io.Writer, res *run.Result) {
	outputs := map[string]string{}
	for _, kv := range Outputs(res) {
		outputs[kv[0]] = kv[1]
	}
	doc := map[string]any{
		"status":       res.Status,
		"mode":         res.Mode,
		"plan":         res.Plan,
		"builds":       res.Builds,
		"template_ids": res.TemplateIDs,
		"diagnostics":  nonNilDiags(res),
		"outputs":      outputs,
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(doc)
}

func nonNilDiags(res *run.Result) any {
	if res.Diagnostics == nil {
		return []any{}
	}
	return res.Diagnostics
}
