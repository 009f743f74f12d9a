package ghaction

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	githubactions "github.com/sethvargo/go-githubactions"

	"github.com/miosa-dev/sandbox-templates-action/internal/apply"
	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
	"github.com/miosa-dev/sandbox-templates-action/internal/textsafe"
)

// Exit codes of the action.
const (
	exitOK      = 0
	exitFailed  = 1
	exitUsage   = 2
	maxAnnotate = 10
)

// Main runs the action: inputs from INPUT_* variables, outputs to the
// runner's files. It returns the process exit code.
func Main(ctx context.Context, getenv func(string) string, stdout io.Writer, userAgent string) (code int) {
	a := githubactions.New(githubactions.WithGetenv(getenv), githubactions.WithWriter(stdout))
	// The library panics when it cannot write a command or file command;
	// this is the one place that turns such a panic into a failed step.
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(stdout, "::error::cannot write to the runner: %s\n", textsafe.Line(fmt.Sprint(p)))
			code = exitFailed
		}
	}()
	if key := a.GetInput("api-key"); key != "" {
		a.AddMask(key)
	}
	cfg, err := config(a.GetInput, getenv)
	if err != nil {
		a.Errorf("%s", err)
		setOutput(a, "status", apply.StatusFailed)
		return exitUsage
	}
	cfg.UserAgent = userAgent
	rep := reporter{a: a}
	res, err := apply.Run(ctx, cfg, rep)
	if err != nil {
		a.Errorf("%s", err)
		setOutput(a, "status", apply.StatusFailed)
		return exitUsage
	}
	annotate(a, res.Diagnostics)
	for _, p := range res.Problems {
		a.Errorf("%s", textsafe.Line(p))
	}
	writeOutputs(a, res)
	if on, err := boolInput(a.GetInput, "summary", true); err == nil && on && getenv("GITHUB_STEP_SUMMARY") != "" {
		a.AddStepSummary(Summary(res, cfg.Commit))
	}
	if res.OK() {
		return exitOK
	}
	return exitFailed
}

// reporter prints the run's progress to the step log.
type reporter struct{ a *githubactions.Action }

func (r reporter) Info(msg string) {
	for _, l := range strings.Split(strings.TrimRight(msg, "\n"), "\n") {
		r.a.Infof("%s", textsafe.LogLine(l))
	}
}
func (r reporter) Warn(msg string)   { r.a.Warningf("%s", msg) }
func (r reporter) Notice(msg string) { r.a.Noticef("%s", msg) }

// annotate turns the first problems into error annotations on their files.
// GitHub shows at most 10 per step; the rest are counted in a notice and
// listed in the job summary.
func annotate(a *githubactions.Action, diags diag.List) {
	n := 0
	for _, d := range diags {
		if n == maxAnnotate {
			break
		}
		props := map[string]string{"file": d.Path, "title": "sandbox template: " + d.Rule}
		if d.Line > 0 {
			props["line"] = strconv.Itoa(d.Line)
			props["col"] = strconv.Itoa(max(d.Col, 1))
		}
		msg := d.Message
		if d.Field != "" {
			msg = d.Field + ": " + msg
		}
		if d.Severity == diag.Warning {
			a.WithFieldsMap(props).Warningf("%s", msg)
		} else {
			a.WithFieldsMap(props).Errorf("%s", msg)
		}
		n++
	}
	if rest := len(diags) - n; rest > 0 {
		a.Noticef("%d more problem(s) not annotated (GitHub shows 10 per step): see the job summary or the log", rest)
	}
	for _, d := range diags {
		a.Infof("%s", textsafe.LogLine(d.String()))
	}
}

// Outputs computes the step outputs of a run: single-line JSON or plain words.
func Outputs(res *apply.Result) [][2]string {
	buildID := ""
	if ids := res.BuildIDs(); len(ids) == 1 {
		for _, id := range ids {
			buildID = id
		}
	}
	return [][2]string{
		{"status", res.Status},
		{"has-changes", strconv.FormatBool(res.Plan.Changes() > 0)},
		{"changes-count", strconv.Itoa(res.Plan.Changes())},
		{"plan", res.Plan.JSON()},
		{"template-ids", mustJSON(res.TemplateIDs)},
		{"build-ids", mustJSON(res.BuildIDs())},
		{"builds", mustJSON(res.Builds)},
		{"build-id", buildID},
		{"changed-templates", mustJSON(res.Plan.Changed())},
	}
}

func writeOutputs(a *githubactions.Action, res *apply.Result) {
	a.Group("Outputs")
	for _, kv := range Outputs(res) {
		setOutput(a, kv[0], kv[1])
		a.Infof("%s=%s", kv[0], textsafe.Line(kv[1]))
	}
	a.EndGroup()
}

// setOutput writes name=value on one line. Values are made single-line first,
// so no value can end the entry or add another output.
func setOutput(a *githubactions.Action, name, value string) {
	a.IssueFileCommand(&githubactions.Command{Name: "output", Message: name + "=" + textsafe.Line(value)})
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("ghaction: marshal output: %v", err)) // maps, slices and strings only
	}
	return string(b)
}
