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

// Main runs the action: inputs from INPUT_* variables, outputs to the
// runner's files. It returns the process exit code.
//
// Every line Main prints to stdout goes through one textsafe.Writer: text is
// escaped line by line so that the runner's parsers cannot read a workflow
// command in it, and the action's own commands (add-mask, annotations,
// groups) are the only ones issued. go-githubactions is used for the inputs
// and the runner's files only; it prints through the same Writer.
func Main(ctx context.Context, getenv func(string) string, stdout io.Writer, userAgent string) (code int) {
	log := newStepLog(stdout)
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
	if code, done := cleanupPreviews(ctx, a, log, rn, in, userAgent); done {
		return code
	}
	res, err := run.Do(ctx, in.Config, reporter{log})
	if err != nil {
		log.command("error", nil, err.Error())
		setOutput(a, "status", run.StatusFailed)
		return run.ExitUsage
	}
	pv := buildPreviews(ctx, log, rn, in, res, userAgent) // nil unless preview: true on a pull request
	planFile := writePlanFile(log, in.Root, planFileName(rn, in.Label), res)
	annotate(log, res.Diagnostics)
	logTails(log, res.Builds)
	cuts := writeOutputs(a, log, res, planFile)
	pv.writeOutputs(func(name, value string) { setOutput(a, name, value) }, log)
	deployed := recordDeployment(ctx, log, in, res)
	deployed = pv.markdown() + deployed
	summary := report.SummaryWithin(res, report.Room{Limit: report.MaxSummary - len(deployed), PlanFile: planFile, OutputCuts: cuts})
	if in.Summary && rn.StepSummary != "" {
		a.AddStepSummary(summary + deployed)
	}
	ok := comment(ctx, log, rn, in, prcomment.Report{Result: res, Label: in.Label, RunURL: rn.RunURL(), PlanFile: planFile, Previews: pv.comment()}, userAgent)
	sayUnannotated(log)
	if !ok {
		return run.ExitFailed
	}
	return res.ExitCode()
}

// stepLog prints to the step log, which the runner reads for workflow
// commands. It issues at most maxAnnotate annotations of each kind, what
// GitHub shows, and prints the rest as plain lines.
type stepLog struct {
	w   *textsafe.Writer
	ann *annotations // nil: no cap
}

// newStepLog is a step log printing to w.
func newStepLog(w io.Writer) stepLog {
	return stepLog{w: textsafe.NewWriter(w), ann: &annotations{}}
}

// info prints text; each of its lines is escaped so it cannot issue a
// command.
func (l stepLog) info(text string) { fmt.Fprintln(l.w, text) }

// command issues one of the action's own workflow commands. An
// annotation (error, warning, notice) beyond the maxAnnotate of its kind
// GitHub shows is printed as a plain line instead, and counted. A failed
// write is kept by the Writer and fails the step at the end.
func (l stepLog) command(name string, props map[string]string, msg string) {
	if annotationKind(name) && l.ann != nil && !l.ann.take(name) {
		l.info(plainLine(name, props, msg))
		return
	}
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

// annotate turns problems into annotations on their files, and the run's
// own problems into annotations without one, while GitHub shows them (10
// of each kind per step, counting those issued before): when there are
// more, the last one it shows counts the rest. Every problem is then
// printed as a plain line, so the log holds them all.
func annotate(log stepLog, diags diag.List) {
	total := map[string]int{}
	for _, d := range diags {
		total[kindOf(d)]++
	}
	budget := map[string]int{}
	for kind, n := range total {
		room := maxAnnotate
		if log.ann != nil {
			room = log.ann.room(kind)
		}
		budget[kind] = n
		if n > room {
			budget[kind] = max(room-1, 0) // the last one counts the rest
		}
	}
	issued := map[string]int{}
	for _, d := range diags {
		kind := kindOf(d)
		if issued[kind] == budget[kind] {
			continue
		}
		issued[kind]++
		if d.Path == "" {
			log.command(kind, nil, textsafe.Line(d.Message))
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
		log.command(kind, props, msg)
	}
	for _, kind := range []string{"error", "warning"} {
		if rest := total[kind] - issued[kind]; rest > 0 {
			log.command(kind, nil, fmt.Sprintf("%s not annotated (GitHub shows %d of each kind per step): every problem is printed below "+
				"(the job summary lists them unless it was cut)", report.Plural(rest, "more problem"), maxAnnotate))
		}
	}
	for _, d := range diags {
		log.info(d.String())
	}
}

// logTails prints the log tail of each build that has one (a failed
// build the run waited for), in a group of its own.
func logTails(log stepLog, builds []run.BuildResult) {
	for _, b := range builds {
		if len(b.LogTail) > 0 {
			log.command("group", nil, fmt.Sprintf("Build log of %s, last %d line(s)", b.Name, len(b.LogTail)))
			for _, l := range b.LogTail {
				log.info(l)
			}
			log.command("endgroup", nil, "")
		}
	}
}

// kindOf is the annotation kind of a problem: warning or error.
func kindOf(d diag.Diagnostic) string {
	if d.Severity == diag.Warning {
		return "warning"
	}
	return "error"
}

// writeOutputs writes the step outputs, each within GitHub's limit, and
// the plan-file output, and prints them in a group. It says which outputs
// were cut, and returns them.
func writeOutputs(a *githubactions.Action, log stepLog, res *run.Result, planFile string) []report.OutputCut {
	outs, cuts := report.FitOutputs(res, report.MaxOutput)
	log.command("group", nil, "Outputs")
	for _, kv := range append(outs, [2]string{PlanFileOutput, planFile}) {
		setOutput(a, kv[0], kv[1])
		log.info(kv[0] + "=" + textsafe.Line(kv[1]))
	}
	log.command("endgroup", nil, "")
	if len(cuts) > 0 {
		log.command("warning", nil, outputsCut(cuts, planFile))
	}
	return cuts
}

// setOutput writes name=value on one line. Values are made single-line first,
// so no value can end the entry or add another output.
func setOutput(a *githubactions.Action, name, value string) {
	a.IssueFileCommand(&githubactions.Command{Name: "output", Message: name + "=" + textsafe.Line(value)})
}

// comment writes the run's report as this job's pull request comment
// (one per workflow, job and comment-label), or says why not. It reports
// false when pr-comment is always and it could not.
func comment(ctx context.Context, log stepLog, rn runner, in runSettings, rep prcomment.Report, userAgent string) bool {
	if in.PRComment == prcomment.ModeNever || (!readOnlyEvent(rn.Event) && in.PRComment != prcomment.ModeAlways) {
		return true
	}
	cfg := prcomment.Config{
		APIURL: rn.APIURL, Token: in.Token, Repository: rn.Repository, PR: rn.PRNumber(), HeadSHA: rn.PRHeadSHA(),
		Marker: prcomment.Marker(rn.Workflow, rn.Job, in.Label), Mode: in.PRComment, UserAgent: userAgent, RunURL: rn.RunURL(),
	}
	r, err := prcomment.Post(ctx, cfg, prcomment.Markdown(rep, cfg.Room()))
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
