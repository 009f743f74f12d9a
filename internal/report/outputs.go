package report

import (
	"strconv"

	"github.com/miosa-dev/sandbox-templates-action/internal/run"
)

// Outputs are the step outputs of a run, in order: single-line JSON or plain
// words. The Actions adapter writes them to GITHUB_OUTPUT; the CLI prints
// them.
func Outputs(res *run.Result) [][2]string {
	ids := res.BuildIDs()
	buildID := ""
	if len(ids) == 1 {
		for _, id := range ids {
			buildID = id
		}
	}
	return [][2]string{
		{"status", res.Status},
		{"has-changes", strconv.FormatBool(len(res.Changed) > 0)},
		{"changes-count", strconv.Itoa(len(res.Changed))},
		{"plan", PlanJSON(res.Plan)},
		{"template-ids", mustJSON(res.TemplateIDs)},
		{"build-ids", mustJSON(ids)},
		{"builds", mustJSON(res.Builds)},
		{"build-id", buildID},
		{"changed-templates", mustJSON(nonNil(res.Changed))},
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
