package run

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
	"github.com/miosa-dev/sandbox-templates-action/internal/textsafe"
)

// BuildResult is the build that serves (or is building) one template's
// wanted spec, made by this run or found: an element of the `builds`
// output.
type BuildResult struct {
	Name       string `json:"name"`
	TemplateID string `json:"template_id"`
	// BuildID is the build that serves (or is building) the wanted spec.
	BuildID string `json:"build_id"`
	State   string `json:"state"`
	// Action is create, build or unchanged (an existing build serves the spec).
	Action string `json:"action"`
	// Made is true when this run's request made the build.
	Made bool `json:"made"`
	// IdempotencyKey is the key of the write that made it, when this run
	// wrote; empty for unchanged.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	// Replayed is true when the server answered this run's write from an
	// earlier request with the same key (an earlier attempt made it).
	Replayed     bool   `json:"replayed"`
	ErrorCode    string `json:"error_code,omitempty"`
	ErrorMessage string `json:"error_message,omitempty"`
	// LogURL is where the build's log is, without user info or query,
	// fit to print; logURL is the server's, for fetching.
	LogURL string `json:"log_url,omitempty"`
	logURL string
	// LogTail is the last lines of a failed build's log, made safe to print,
	// when the run waited and the server gave a log_url.
	LogTail []string `json:"-"`
	// Source is SourceList for a template judged from its list row alone
	// (scope: auto): its builds were not read, so BuildID is empty and State
	// is the row's status. Empty for a build that was read or made.
	Source string `json:"source,omitempty"`
}

// SourceList marks a BuildResult that comes from the template's list row.
const SourceList = "list"

// maxErrorMessage bounds a build's error message in outputs and summaries.
const maxErrorMessage = 1000

// fill copies a build's state, error and log link.
func (b *BuildResult) fill(mb *miosa.Build) {
	b.fillFrom(plan.RemoteBuild{State: mb.State, ErrorCode: mb.ErrorCode, ErrorMessage: mb.ErrorMessage, LogURL: mb.LogURL})
}

// fillFrom copies a build's state, error and log link as the plan sees
// the build.
func (b *BuildResult) fillFrom(rb plan.RemoteBuild) {
	b.State = rb.State
	b.ErrorCode = rb.ErrorCode
	b.ErrorMessage = textsafe.Truncate(rb.ErrorMessage, maxErrorMessage)
	b.setLog(rb.LogURL)
}

// setLog records a build's log URL: the server's for fetching, and a form
// fit to print.
func (b *BuildResult) setLog(raw string) {
	b.logURL = raw
	b.LogURL = ""
	if raw != "" {
		b.LogURL = miosa.DisplayURL(raw)
	}
}

// ended reports a build that failed or was cancelled.
func (b *BuildResult) ended() bool {
	return b.State == miosa.StateFailed || b.State == miosa.StateCancelled
}

// failure says what became of a failed or cancelled build, with its error.
func (b *BuildResult) failure() string {
	msg := fmt.Sprintf("build %s of %s %s", b.BuildID, b.Name, b.State)
	if b.ErrorCode != "" {
		msg += ": " + b.ErrorCode
	}
	if b.ErrorMessage != "" {
		msg += ": " + b.ErrorMessage
	}
	return msg
}

// Result is what a run did, for outputs, the summary and the exit code.
type Result struct {
	Mode   Mode
	Commit string // the commit the run's keys derive from
	Status string
	Online bool
	Files  int
	// Diagnostics are everything a person must act on: problems in the
	// files, positioned, and run-level problems (API failures, a timeout),
	// which have no Path.
	Diagnostics diag.List
	Plan        plan.Plan
	Planned     bool // a plan was computed against the remote state
	TemplateIDs map[string]string
	Builds      []BuildResult
	// Changed are the templates this run created or built (in plan mode:
	// would create or build), sorted: what the has-changes,
	// changes-count and changed-templates outputs say.
	Changed  []string
	Notices  []string
	Warnings []string
	Duration time.Duration
	// carried is what a run that follows this one reuses (Config.After).
	carried *carried
}

// BuildIDs maps template names to the build that serves (or is building)
// each template's wanted spec: made by this run, by an earlier attempt, or at
// an earlier commit.
func (r *Result) BuildIDs() map[string]string {
	m := map[string]string{}
	for _, b := range r.Builds {
		if b.BuildID != "" {
			m[b.Name] = b.BuildID
		}
	}
	return m
}

// Problems are the messages of the run-level diagnostics: the ones about
// the run, not about a file.
func (r *Result) Problems() []string {
	var out []string
	for _, d := range r.Diagnostics {
		if d.Path == "" && d.Severity != diag.Warning {
			out = append(out, d.Message)
		}
	}
	return out
}

// OK reports whether the run succeeded.
func (r *Result) OK() bool { return r.Status == StatusSuccess || r.Status == StatusSkipped }

// ExitCode is the process exit code for the result.
func (r *Result) ExitCode() int {
	if r.OK() {
		return ExitOK
	}
	return ExitFailed
}

// Rules of run-level diagnostics (they have no Path).
const (
	RuleAPI           = "api"             // the API failed or refused a call
	RuleTimeout       = "timeout"         // the run's deadline passed
	RuleCancelled     = "cancelled"       // the run was interrupted
	RuleFailOnChanges = "fail-on-changes" // plan mode found pending changes
	RuleNotWritten    = "not-written"     // invalid files: apply wrote nothing
	RuleLoad          = "load"            // the files could not be read at all
)

// maxProblem bounds one run-level problem, which may quote the server.
const maxProblem = 2000

// problem is a run-level diagnostic.
func problem(rule, msg string) diag.Diagnostic {
	return diag.Diagnostic{Message: textsafe.Truncate(textsafe.Line(msg), maxProblem), Rule: rule, Severity: diag.Error}
}

// runLog is the run's log: it says each line to the Reporter, one at a
// time, and keeps the warnings and notices for the Result. It is the one
// value the stages' workers share.
type runLog struct {
	mu       sync.Mutex
	rep      Reporter
	warnings []string
	notices  []string
	masked   map[string]bool
}

func (l *runLog) Info(msg string) { l.mu.Lock(); defer l.mu.Unlock(); l.rep.Info(msg) }

func (l *runLog) Warn(msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.warnings = append(l.warnings, msg)
	l.rep.Warn(msg)
}

func (l *runLog) Notice(msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.notices = append(l.notices, msg)
	l.rep.Notice(msg)
}

// warnUnrecorded says a warning that the Result does not keep.
func (l *runLog) warnUnrecorded(msg string) { l.mu.Lock(); defer l.mu.Unlock(); l.rep.Warn(msg) }

// mask tells the Reporter, once each, the credential-looking values of
// specs.
func (l *runLog) mask(specs ...map[string]any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.masked == nil {
		l.masked = map[string]bool{}
	}
	for _, s := range plan.Secrets(specs...) {
		if !l.masked[s] {
			l.masked[s] = true
			l.rep.Mask(s)
		}
	}
}

func (l *runLog) Plan(p plan.Plan) { l.mu.Lock(); defer l.mu.Unlock(); l.rep.Plan(p) }

// status is the run's status from what happened.
func status(res *Result, wait, cancelled, timedOut bool) string {
	switch {
	case cancelled:
		return StatusCancelled
	case timedOut:
		return StatusTimeout
	case res.Diagnostics.HasErrors():
		return StatusFailed
	case wait && slices.ContainsFunc(res.Builds, func(b BuildResult) bool { return b.State != miosa.StateReady }):
		return StatusFailed
	case res.Files == 0:
		return StatusSkipped
	}
	return StatusSuccess
}

// sortResult puts the result's lists in their reported order.
func sortResult(res *Result) {
	slices.SortFunc(res.Builds, func(a, b BuildResult) int { return strings.Compare(a.Name, b.Name) })
	res.Diagnostics.Sort()
}
