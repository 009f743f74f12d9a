package apply

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/check"
	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
	"github.com/miosa-dev/sandbox-templates-action/internal/schema"
	"github.com/miosa-dev/sandbox-templates-action/internal/settings"
	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
	"github.com/miosa-dev/sandbox-templates-action/internal/textsafe"
)

// Modes of a run.
const (
	ModeValidate = "validate"
	ModePlan     = "plan"
	ModeApply    = "apply"
)

// Statuses of a run, as the `status` output says them.
const (
	StatusSuccess   = "success"
	StatusFailed    = "failed"
	StatusTimeout   = "timeout"
	StatusSkipped   = "skipped"
	StatusCancelled = "cancelled"
)

// Config is everything a run needs, read from action inputs or CLI flags.
type Config struct {
	Root         string   // repository root; reported paths are relative to it
	Patterns     []string // globs relative to Root; empty means spec.DefaultPatterns
	Templates    []string // only these names; empty means all
	Mode         string   // validate, plan or apply (the adapters resolve the action's auto)
	Event        string   // GITHUB_EVENT_NAME, for auto mode
	APIKey       string
	APIURL       string
	BuildMode    plan.BuildMode
	Wait         bool
	Timeout      time.Duration // deadline for the whole run; 0 means none
	PollInterval time.Duration
	Concurrency  int
	Commit       string
	// CommitTime is when Commit was made; zero when unknown, which turns the
	// rollback guard off (the run says so once).
	CommitTime time.Time
	// AllowRollback lets a build replace a served build that may come from
	// a newer commit (the allow-rollback input).
	AllowRollback bool
	// History, when set, lists the digests of the specs a template file
	// held at the commit's ancestors: evidence that a served build comes
	// from older history. The adapters read it from git when they can.
	History       func(ctx context.Context, file string) []string
	Repository    string
	FailOnChanges bool
	UserAgent     string
	// AdoptGrace is how long to keep looking, about once a second, for the
	// build a create queues by itself before triggering one. Zero means 5s;
	// a negative value means one look only.
	AdoptGrace time.Duration
}

// remoteAPI is what a run needs of the Miosa API (a *miosa.Client).
type remoteAPI interface {
	ListTemplates(ctx context.Context, includeAliases bool) ([]miosa.ListRow, error)
	GetTemplate(ctx context.Context, idOrSlug string) (*miosa.Template, error)
	CreateTemplate(ctx context.Context, key string, req miosa.CreateTemplate) (*miosa.Template, error)
	BuildSpecSchema(ctx context.Context) ([]byte, error)
	Validate(ctx context.Context, buildSpec map[string]any) (*miosa.ValidateResult, error)
	ListBuilds(ctx context.Context, templateID string) ([]miosa.Build, error)
	CreateBuild(ctx context.Context, templateID, key string, req miosa.CreateBuild) (*miosa.Build, error)
	GetBuild(ctx context.Context, buildID string) (*miosa.Build, error)
	BuildLogTail(ctx context.Context, logURL string, limit int) (*miosa.LogTail, error)
}

// Reporter receives progress lines as the run goes. Implementations make
// the text safe for their medium. Run calls it from one goroutine at a time.
type Reporter interface {
	Info(msg string)
	Warn(msg string)
	Notice(msg string)
	// Plan shows the plan before any write.
	Plan(p plan.Plan)
}

// serialReporter lets concurrent workers report without interleaving lines.
type serialReporter struct {
	mu sync.Mutex
	r  Reporter
}

func (s *serialReporter) Info(msg string)   { s.mu.Lock(); defer s.mu.Unlock(); s.r.Info(msg) }
func (s *serialReporter) Warn(msg string)   { s.mu.Lock(); defer s.mu.Unlock(); s.r.Warn(msg) }
func (s *serialReporter) Notice(msg string) { s.mu.Lock(); defer s.mu.Unlock(); s.r.Notice(msg) }
func (s *serialReporter) Plan(p plan.Plan)  { s.mu.Lock(); defer s.mu.Unlock(); s.r.Plan(p) }

// BuildResult is one build created or adopted by this run: an element of the
// `builds` output.
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
	LogURL       string `json:"log_url,omitempty"`
	// LogTail is the last lines of a failed build's log, made safe to print,
	// when the run waited and the server gave a log_url.
	LogTail []string `json:"-"`
}

// Result is what a run did, for outputs, the summary and the exit code.
type Result struct {
	Mode        string
	Commit      string // the commit the run's keys derive from
	Status      string
	Online      bool
	Files       int
	Diagnostics diag.List
	Plan        plan.Plan
	Planned     bool // a plan was computed against the remote state
	TemplateIDs map[string]string
	Builds      []BuildResult
	// Problems are run-level failures (API errors), one line each.
	Problems []string
	Notices  []string
	Warnings []string
	Duration time.Duration
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

// OK reports whether the run succeeded.
func (r *Result) OK() bool { return r.Status == StatusSuccess || r.Status == StatusSkipped }

// usagef makes the error of a usage problem: Run returns errors for these
// alone, and the CLI exits 2 for them.
func usagef(format string, args ...any) error {
	return fmt.Errorf(format, args...)
}

// FromSettings is the part of a run's Config that the settings table holds,
// for both adapters; each adds what it owns (mode, commit, root, repository).
func FromSettings(v settings.Values) Config {
	return Config{
		APIKey: v.String(settings.APIKey), APIURL: v.String(settings.APIURL),
		Patterns: v.Lines(settings.Path), Templates: v.Lines(settings.Templates),
		BuildMode: plan.BuildMode(v.String(settings.Build)), Wait: v.Bool(settings.Wait),
		Timeout: v.Duration(settings.Timeout), PollInterval: v.Duration(settings.PollInterval),
		Concurrency: v.Int(settings.Concurrency), FailOnChanges: v.Bool(settings.FailOnChanges),
		AllowRollback: v.Bool(settings.AllowRollback),
	}
}

// check is the one validation of a Config: a field left zero takes the
// settings table's default, a set one must pass the table's checks, and a
// run that writes needs a commit and a key.
func (c *Config) check() error {
	text := func(name, v string) string {
		if v != "" {
			return v
		}
		s, _ := settings.Lookup(name)
		return s.Default
	}
	given := map[string]string{
		settings.Build: text(settings.Build, string(c.BuildMode)), settings.APIURL: text(settings.APIURL, c.APIURL),
		settings.Concurrency:  text(settings.Concurrency, intText(c.Concurrency)),
		settings.PollInterval: text(settings.PollInterval, durText(c.PollInterval)),
	}
	var list []settings.Setting
	for name := range given {
		s, _ := settings.Lookup(name)
		list = append(list, s)
	}
	v, err := settings.Parse(list, func(name string) (string, bool) { return given[name], true }, func(name string) string { return name })
	if err != nil {
		return err
	}
	c.BuildMode, c.APIURL = plan.BuildMode(v.String(settings.Build)), v.String(settings.APIURL)
	c.Concurrency, c.PollInterval = v.Int(settings.Concurrency), v.Duration(settings.PollInterval)
	if c.AdoptGrace == 0 {
		c.AdoptGrace = 5 * time.Second
	}
	if c.Timeout < 0 {
		return usagef("timeout must not be negative")
	}
	switch c.Mode {
	case ModeValidate:
	case ModePlan, ModeApply:
		if c.APIKey == "" {
			return usagef("mode %s needs an API key (api-key input or MIOSA_API_KEY); without one use mode validate", c.Mode)
		}
		if c.Mode == ModeApply && c.Commit == "" {
			return usagef("apply needs a commit to derive idempotency keys from")
		}
	default:
		return usagef("mode %q is not one of validate, plan, apply", c.Mode)
	}
	return nil
}

func intText(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func durText(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

// AdoptGraceEnv reads SANDBOX_TEMPLATES_ADOPT_GRACE, a duration: how long a
// create looks for the build the server queues by itself. Unset or bad: the
// default (5s); 0: one look only. Both adapters read it; tests shorten it.
func AdoptGraceEnv(getenv func(string) string) time.Duration {
	d, err := time.ParseDuration(getenv("SANDBOX_TEMPLATES_ADOPT_GRACE"))
	switch {
	case err != nil:
		return 0
	case d <= 0:
		return -1
	}
	return d
}

// run holds the state of one run.
type run struct {
	cfg    Config
	rep    Reporter
	api    remoteAPI
	res    *Result
	mu     sync.Mutex // guards res.Problems, res.Builds, res.TemplateIDs during concurrent work
	tpls   []*spec.Template
	byName map[string]*spec.Template
	// digests: name -> identifying digests of the wanted spec, the local
	// one first; validated: the server's normalized form is among them.
	digests   map[string][]string
	validated map[string]bool
	remote    map[string]*remoteTemplate
	// allRemote is every row of the list, built-ins included.
	allRemote []*remoteTemplate
	// names are every template name the files hold, before the templates
	// filter: remote templates with these names are managed.
	names []string
	// noAutoBuild is set once a create's grace period passed without the
	// server queueing a build.
	noAutoBuild atomic.Bool
	// noValidate is set once the server answered that it has no validate
	// endpoint.
	noValidate atomic.Bool
	// schemaName says which schema checked the files; schemaWarning is
	// said once the server has answered a read, so that it does not come
	// before a fatal network or auth error as noise.
	schemaName, schemaWarning string
	// history: template name -> spec digests at the commit's ancestors.
	history map[string][]string
	// phase names the stage the run is in, for a timeout's message.
	phase string
}

// Run performs one sync. It returns an error only for a usage problem; every
// other outcome, failures included, is in the Result.
func Run(parent context.Context, cfg Config, rep Reporter) (*Result, error) {
	start := time.Now()
	if err := cfg.check(); err != nil {
		return nil, err
	}
	r := &run{cfg: cfg, rep: &serialReporter{r: rep}, res: &Result{Mode: cfg.Mode, Commit: cfg.Commit, TemplateIDs: map[string]string{}, Builds: []BuildResult{}}}
	if cfg.APIKey != "" {
		c, err := miosa.New(miosa.Options{BaseURL: cfg.APIURL, APIKey: cfg.APIKey, UserAgent: cfg.UserAgent,
			// Retries and 429 pauses show in the run's log.
			Logf: func(format string, args ...any) { r.rep.Info(fmt.Sprintf(format, args...)) }})
		if err != nil {
			return nil, usagef("api client: %v", err)
		}
		r.api = c
		r.res.Online = true
	} else {
		r.notice("No API key: validated offline only; remote checks (server schema, plan, apply) were skipped.")
		if cfg.FailOnChanges {
			r.warn("fail-on-changes was not checked: it needs the remote state, and there is no API key")
		}
	}

	ctx := parent
	if cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(parent, cfg.Timeout)
		defer cancel()
	}
	r.execute(ctx)
	r.finish(parent, ctx)
	r.res.Duration = time.Since(start)
	return r.res, nil
}

func (r *run) execute(ctx context.Context) {
	r.phase = "validating the template files"
	sch := r.schema(ctx)
	if ctx.Err() != nil || !r.load(sch) {
		return
	}
	if r.res.Mode == ModeValidate {
		online := 0
		if r.api != nil {
			online = r.validateOnline(ctx, r.tpls)
			if len(r.res.Problems) == 0 {
				r.sayDeferred()
			}
		}
		r.sayValidated(online)
		r.res.Plan = r.invalidOnlyPlan()
		return
	}
	r.phase = "reading the remote templates and builds"
	if !r.readRemote(ctx) {
		return
	}
	r.sayDeferred()
	r.computePlan()
	r.phase = "validating the changed specs on the server"
	// The server's validate endpoint judges the specs this run would create
	// or build; an unchanged spec was judged when it was built. All of it
	// comes before any write.
	pending := r.toValidate()
	online := 0
	if len(pending) > 0 {
		online = r.validateOnline(ctx, pending)
		if ctx.Err() != nil || len(r.res.Problems) > 0 {
			// The first plan predates the server's verdicts: it must not
			// reach the outputs.
			r.res.Plan, r.res.Planned = r.invalidOnlyPlan(), false
			return
		}
		r.computePlan()
	}
	r.gatherHistory(ctx)
	r.sayValidated(online)
	r.noteDefaults()
	r.rep.Plan(r.res.Plan)
	if r.res.Diagnostics.HasErrors() {
		if r.res.Mode == ModeApply {
			r.problem("validation failed: nothing was written to the API")
		}
		return
	}
	r.reportPlanNotes()
	if r.res.Mode == ModePlan {
		r.recordServing()
		if r.cfg.FailOnChanges && r.res.Plan.Pending() > 0 {
			r.problem(fmt.Sprintf("fail-on-changes: the plan has %d pending change(s)", r.res.Plan.Pending()))
		}
		return
	}
	r.phase = "creating templates and triggering builds"
	r.applyPlan(ctx)
	if r.cfg.Wait && ctx.Err() == nil {
		r.phase = "waiting for the builds"
		r.wait(ctx)
	} else {
		r.warnFailed()
	}
}

// sayValidated says in the log how validation went, naming the schema
// that was used.
func (r *run) sayValidated(online int) {
	how := "against the " + r.schemaName
	if r.api != nil {
		switch {
		case r.noValidate.Load():
			how += " (the server has no validate endpoint)"
		default:
			how += fmt.Sprintf(", %d of them also by the server's validate endpoint", online)
		}
	}
	problems := "no problems"
	if n := r.res.Diagnostics.Errors(); n > 0 {
		problems = fmt.Sprintf("%d problem(s)", n)
	}
	r.rep.Info(fmt.Sprintf("Validated %d file(s) %s: %s", r.res.Files, how, problems))
}

// toValidate are the templates whose specs the server's validate endpoint
// should see: the ones the plan creates or builds (or would, but refuses).
func (r *run) toValidate() []*spec.Template {
	if r.noValidate.Load() {
		return nil
	}
	var out []*spec.Template
	for _, it := range r.res.Plan.Items {
		if it.Action.Writes() || it.Action == plan.Refused {
			out = append(out, r.byName[it.Name])
		}
	}
	return out
}

// finish sets the status from what happened.
func (r *run) finish(parent, ctx context.Context) {
	res := r.res
	switch {
	case parent.Err() != nil:
		res.Status = StatusCancelled
		res.Problems = append(res.Problems, "interrupted: stopped starting new calls; outputs show what was done")
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		res.Status = StatusTimeout
		res.Problems = append(res.Problems, fmt.Sprintf("timeout: the run did not finish within %s; it was %s", r.cfg.Timeout, r.phase))
	case res.Diagnostics.HasErrors() || len(res.Problems) > 0:
		res.Status = StatusFailed
	case r.cfg.Wait && slices.ContainsFunc(res.Builds, func(b BuildResult) bool { return b.State != miosa.StateReady }):
		res.Status = StatusFailed
	case res.Files == 0:
		res.Status = StatusSkipped
	default:
		res.Status = StatusSuccess
	}
	slices.SortFunc(res.Builds, func(a, b BuildResult) int { return strings.Compare(a.Name, b.Name) })
	res.Diagnostics.Sort()
}

// problem records a run-level failure; the adapters print every problem
// once, at the end.
func (r *run) problem(msg string) {
	r.mu.Lock()
	r.res.Problems = append(r.res.Problems, textsafe.Truncate(msg, maxProblem))
	r.mu.Unlock()
}

// maxProblem bounds one problem line, which may quote the server.
const maxProblem = 2000

func (r *run) notice(msg string) {
	r.res.Notices = append(r.res.Notices, msg)
	r.rep.Notice(msg)
}

func (r *run) warn(msg string) {
	r.mu.Lock()
	r.res.Warnings = append(r.res.Warnings, msg)
	r.mu.Unlock()
	r.rep.Warn(msg)
}

// load reads the template files; it reports whether there is anything to do.
func (r *run) load(sch *schema.Schema) bool {
	c, err := check.Files(spec.Options{Root: r.cfg.Root, Patterns: r.cfg.Patterns}, r.cfg.Templates, sch)
	if err != nil {
		r.problem(fmt.Sprintf("load templates: %v", err))
		return false
	}
	r.res.Diagnostics = append(r.res.Diagnostics, c.Diagnostics...)
	r.res.Files = len(c.Files)
	r.names, r.tpls = c.Names, c.Templates
	r.byName = make(map[string]*spec.Template, len(r.tpls))
	r.digests = make(map[string][]string, len(r.tpls))
	r.validated = make(map[string]bool, len(r.tpls))
	for _, t := range r.tpls {
		r.byName[t.Name] = t
		r.digests[t.Name] = []string{t.Digest()}
	}
	return r.res.Files > 0 || r.res.Diagnostics.HasErrors()
}

// invalidOnlyPlan lists the invalid templates, the only plan validate mode can
// tell without the remote state.
func (r *run) invalidOnlyPlan() plan.Plan {
	p := plan.Plan{Items: []plan.Item{}, Unmanaged: []string{}}
	for _, it := range r.desired() {
		if it.Problem != "" {
			p.Items = append(p.Items, plan.Item{Name: it.Name, File: it.File, Action: plan.Invalid, Reason: it.Problem})
		}
	}
	return p
}

func (r *run) desired() []plan.Desired {
	perFile := map[string]int{}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, d := range r.res.Diagnostics {
		if d.Severity != diag.Warning {
			perFile[d.Path]++
		}
	}
	out := make([]plan.Desired, 0, len(r.tpls))
	for _, t := range r.tpls {
		d := plan.Desired{Name: t.Name, File: t.File, Description: t.Description,
			Digests: r.digests[t.Name], Written: t.BuildSpec, Validated: r.validated[t.Name]}
		if n := perFile[t.File]; n > 0 {
			d.Problem = fmt.Sprintf("%d problem(s) in %s", n, t.File)
		}
		out = append(out, d)
	}
	return out
}
