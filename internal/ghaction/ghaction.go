package ghaction

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	githubactions "github.com/sethvargo/go-githubactions"

	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
	"github.com/miosa-dev/sandbox-templates-action/internal/prcomment"
	"github.com/miosa-dev/sandbox-templates-action/internal/report"
	"github.com/miosa-dev/sandbox-templates-action/internal/run"
	"github.com/miosa-dev/sandbox-templates-action/internal/textsafe"
)

// maxAnnotate is how many annotations GitHub shows per step.
const maxAnnotate = 10

// Main runs the action: inputs from INPUT_* variables, outputs to the
// runner's files. It returns the process exit code.
//
// Every line Main prints to stdout goes through one textsafe.Writer: text is
// escaped line by line so that the runner's parsers cannot read a workflow
// command in it, and the action's own commands (add-mask, annotations,
// groups) are the only ones issued. go-githubactions is used for the inputs
// and the runner's files only; it prints through the same Writer.
func Main(ctx context.Context, getenv func(string) string, stdout io.Writer, userAgent string) (code int) {
	log := stepLog{textsafe.NewWriter(stdout)}
	a := githubactions.New(githubactions.WithGetenv(getenv), githubactions.WithWriter(log.w))
	// The library panics when it cannot write a file command; this is the
	// one place that turns such a panic into a failed step.
	defer func() {
		if p := recover(); p != nil {
			log.command("error", nil, "cannot write to the runner: "+textsafe.Line(fmt.Sprint(p)))
			code = run.ExitFailed
		}
		if err := log.w.Flush(); err != nil && code == run.ExitOK {
			code = run.ExitFailed
		}
	}()
	for _, secret := range []string{"api-key", "github-token"} {
		if v := a.GetInput(secret); v != "" {
			log.command("add-mask", nil, v)
		}
	}
	rn := readRunner(a)
	in, err := config(ctx, a.GetInput, rn, userAgent)
	if err != nil {
		log.command("error", nil, err.Error())
		setOutput(a, "status", run.StatusFailed)
		return run.ExitUsage
	}
	for _, n := range in.Notices {
		log.command("notice", nil, n)
	}
	res, err := run.Do(ctx, in.Config, reporter{log})
	if err != nil {
		log.command("error", nil, err.Error())
		setOutput(a, "status", run.StatusFailed)
		return run.ExitUsage
	}
	annotate(log, res.Diagnostics)
	for _, b := range res.Builds {
		if len(b.LogTail) > 0 {
			log.command("group", nil, fmt.Sprintf("Build log of %s, last %d line(s)", b.Name, len(b.LogTail)))
			for _, l := range b.LogTail {
				log.info(l)
			}
			log.command("endgroup", nil, "")
		}
	}
	writeOutputs(a, log, res)
	summary := report.Summary(res) // the job summary and the pull request comment
	if in.Summary && rn.StepSummary != "" {
		a.AddStepSummary(summary)
	}
	if !comment(ctx, log, rn, in, summary, userAgent) {
		return run.ExitFailed
	}
	return res.ExitCode()
}

// stepLog prints to the step log, which the runner reads for workflow
// commands.
type stepLog struct{ w *textsafe.Writer }

// info prints text; each of its lines is escaped so it cannot issue a
// command.
func (l stepLog) info(text string) { fmt.Fprintln(l.w, text) }

// command issues one of the action's own workflow commands. A failed write
// is kept by the Writer and fails the step at the end.
func (l stepLog) command(name string, props map[string]string, msg string) {
	if err := l.w.Command(name, props, msg); errors.Is(err, textsafe.ErrCommand) {
		panic(err) // a name or key of this package's own: a bug
	}
}

// reporter prints the run's progress to the step log.
type reporter struct{ log stepLog }

func (r reporter) Info(msg string)    { r.log.info(strings.TrimRight(msg, "\n")) }
func (r reporter) Warn(msg string)    { r.log.command("warning", nil, msg) }
func (r reporter) Notice(msg string)  { r.log.command("notice", nil, msg) }
func (r reporter) Mask(secret string) { r.log.command("add-mask", nil, secret) }
func (r reporter) Plan(p plan.Plan) {
	r.log.info("Plan:\n" + strings.TrimRight(report.PlanText(p), "\n"))
}

// inputRules maps the rules of diagnostics that are about an input rather
// than a file to that input. Their Path holds the input's value (a pattern,
// or "templates"), so their annotations name the input and get no file.
var inputRules = map[string]string{
	"unknown-template": "templates",
	"pattern":          "path",
	"no-files":         "path",
	"too-many-files":   "path",
}

// annotate turns the first problems into annotations on their files, and
// the run's own problems into annotations without one. GitHub shows at
// most 10 per step; the rest are counted in a notice and listed in the job
// summary.
func annotate(log stepLog, diags diag.List) {
	n := 0
	for _, d := range diags {
		if n == maxAnnotate {
			break
		}
		if d.Path == "" {
			log.command(string(d.Severity), nil, textsafe.Line(d.Message))
			n++
			continue
		}
		msg := d.Message
		if d.Field != "" {
			msg = d.Field + ": " + msg
		}
		props := map[string]string{"title": "sandbox template: " + d.Rule}
		if input, ok := inputRules[d.Rule]; ok {
			if d.Path != input {
				msg = d.Path + ": " + msg
			}
			msg = "input " + input + ": " + msg
		} else {
			props["file"] = d.Path
			if d.Line > 0 {
				props["line"] = strconv.Itoa(d.Line)
				props["col"] = strconv.Itoa(max(d.Col, 1))
			}
		}
		if d.Severity == diag.Warning {
			log.command("warning", props, msg)
		} else {
			log.command("error", props, msg)
		}
		n++
	}
	if rest := len(diags) - n; rest > 0 {
		log.command("notice", nil, fmt.Sprintf("%d more problem(s) not annotated (GitHub shows 10 per step): see the job summary or the log", rest))
	}
	for _, d := range diags {
		log.info(d.String())
	}
}

// writeOutputs writes the step outputs and prints them, in a group.
func writeOutputs(a *githubactions.Action, log stepLog, res *run.Result) {
	log.command("group", nil, "Outputs")
	for _, kv := range report.Outputs(res) {
		setOutput(a, kv[0], kv[1])
		log.info(kv[0] + "=" + textsafe.Line(kv[1]))
	}
	log.command("endgroup", nil, "")
}

// setOutput writes name=value on one line. Values are made single-line first,
// so no value can end the entry or add another output.
func setOutput(a *githubactions.Action, name, value string) {
	a.IssueFileCommand(&githubactions.Command{Name: "output", Message: name + "=" + textsafe.Line(value)})
}

// comment writes the run's plan as this job's pull request comment, or says
// why not. It reports false when pr-comment is always and it could not.
func comment(ctx context.Context, log stepLog, rn runner, in runSettings, markdown, userAgent string) bool {
	if in.PRComment == prcomment.ModeNever || (!readOnlyEvent(rn.Event) && in.PRComment != prcomment.ModeAlways) {
		return true
	}
	cfg := prcomment.Config{
		APIURL: rn.APIURL, Token: in.Token, Repository: rn.Repository, PR: rn.PRNumber(), HeadSHA: rn.PRHeadSHA(),
		Marker: prcomment.Marker(rn.Workflow, rn.Job), Mode: in.PRComment, UserAgent: userAgent, RunURL: rn.RunURL(),
	}
	r, err := prcomment.Post(ctx, cfg, markdown)
	switch {
	case err != nil && in.PRComment == prcomment.ModeAlways:
		log.command("error", nil, "pull request comment: "+err.Error())
		return false
	case err != nil:
		log.command("warning", nil, "pull request comment: "+err.Error())
	case r.Outcome == prcomment.ReadOnly:
		log.command("notice", nil, r.Message)
	default:
		log.info(r.Message)
	}
	return true
}
