package run

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
)

// env is what every stage reads and none writes: the run's settings, the
// API and the log.
type env struct {
	cfg Config
	api remoteAPI // nil without a key
	log *runLog
	// seen are the validate endpoint's answers, for a run that follows.
	seen *answers
}

// Do performs one run. It returns an error only for a usage problem (a
// *UsageError); every other outcome, failures included, is in the Result.
func Do(parent context.Context, cfg Config, rep Reporter) (*Result, error) {
	start := time.Now()
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	e := &env{cfg: cfg, log: &runLog{rep: rep}}
	if cfg.APIKey != "" {
		c, err := miosa.New(miosa.Options{BaseURL: cfg.APIURL, APIKey: cfg.APIKey, UserAgent: cfg.UserAgent,
			AllowInsecureHTTP: cfg.AllowInsecureHTTP,
			// One transport, with an idle connection for each worker.
			Concurrency: cfg.Concurrency,
			// Retries and 429 pauses show in the run's log.
			Logf: func(format string, args ...any) { e.log.Info(fmt.Sprintf(format, args...)) }})
		if err != nil {
			return nil, Usagef("api client: %v", err)
		}
		if w := c.Warning(); w != "" {
			e.log.Warn(w)
		}
		e.seen = &answers{bySpec: map[string]*miosa.ValidateResult{}}
		e.api = remembering{remoteAPI: c, prior: cfg.priorAnswers(), seen: e.seen}
	} else {
		e.log.Notice("No API key: validated offline only; remote checks (server schema, plan, apply) were skipped.")
		if cfg.FailOnChanges {
			e.log.Warn("fail-on-changes was not checked: it needs the remote state, and there is no API key")
		}
	}
	ctx := parent
	if cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(parent, cfg.Timeout)
		defer cancel()
	}
	var p parts
	e.pipeline(ctx, &p)
	res := e.assemble(parent, ctx, &p)
	res.Duration = time.Since(start)
	return res, nil
}

// parts are the stages' values, filled in order by one goroutine, from
// which the Result is assembled once.
type parts struct {
	phase      string // the stage the run is in, for a timeout's message
	loaded     *loaded
	observed   *observation
	validation validation
	plan       plan.Plan
	planned    bool
	executed   []outcome
	builds     []BuildResult // after executing (and waiting)
	diags      diag.List     // the stages' own diagnostics
}

// pipeline runs the stages in order; each returns its value, and a stage
// that cannot go on ends the run with what the earlier ones made.
func (e *env) pipeline(ctx context.Context, p *parts) {
	p.phase = "validating the template files"
	l, err := e.load(ctx)
	switch {
	case err != nil:
		p.diags = append(p.diags, problem(RuleLoad, err.Error()))
		return
	case l == nil: // interrupted while reading the schema
		return
	}
	p.loaded = l
	for _, t := range l.Templates {
		e.log.mask(t.BuildSpec)
	}
	if len(l.Files) == 0 { // nothing matched: skipped, or failed by if-no-files-found or a pattern
		return
	}
	if e.cfg.Mode == ModeValidate {
		if e.api != nil {
			// One list call first: a wrong base URL or key fails here, with
			// the hint the client gives, instead of passing as "no schema
			// endpoint" and "no validate endpoint" warnings.
			if _, err := e.api.ListTemplates(ctx, false); err != nil {
				if ctx.Err() == nil {
					p.diags = append(p.diags, problem(RuleAPI, fmt.Sprintf("list templates: %v", err)))
				}
				p.plan = invalidOnly(l, p.validation)
				return
			}
			p.validation = e.validate(ctx, l, l.Templates)
			p.diags = append(p.diags, p.validation.failed...)
			if len(p.validation.failed) == 0 {
				e.sayDeferred(l)
			}
		}
		e.sayValidated(l, p)
		p.plan = invalidOnly(l, p.validation)
		return
	}

	p.phase = "reading the remote templates and builds"
	o, ok := e.observe(ctx, l)
	p.observed = o
	p.diags = append(p.diags, o.diags...)
	o.diags = nil
	for _, r := range o.remote {
		for _, b := range r.Builds {
			e.log.mask(b.Spec) // never shown, and masked all the same
		}
	}
	if !ok {
		return
	}
	e.sayDeferred(l)
	p.phase = "validating the changed specs on the server"
	defaults := e.serverDefaults(ctx, l)
	p.diags = append(p.diags, defaults.failed...)
	o.defaults = defaults.bySize
	if defaults.missing {
		p.validation.missing = true
		e.log.Warn("the server has no validate endpoint: specs were checked against the " + l.schemaName + " only, and a served " +
			"field the file does not set counts as the server's default, so removing a field from a file, or a field added " +
			"on the server by hand, is not seen as a change (set the field explicitly, or use build: always); create and " +
			"build validate a spec as it is written, so a spec the server rejects fails at its write, not before the first one")
	} else if len(defaults.failed) == 0 {
		p.validation = e.validate(ctx, l, needValidation(l, o, e.cfg))
		p.diags = append(p.diags, p.validation.failed...)
	}
	if ctx.Err() != nil || len(defaults.failed) > 0 || len(p.validation.failed) > 0 {
		p.plan = invalidOnly(l, p.validation)
		return
	}
	o.validated = p.validation.verdicts
	e.sayValidated(l, p)
	writes := likelyWrites(l, o, p.validation, e.cfg)
	p.phase = "confirming templates matched by display name"
	e.confirmIdentities(ctx, o, writes)
	p.diags = append(p.diags, o.diags...)
	o.diags = nil
	p.phase = "reading the commit order"
	e.order(ctx, o, writes)

	p.phase = "planning"
	p.plan, p.planned = decide(l, o, p.validation, e.cfg), true
	e.log.Plan(p.plan)
	e.noteDefaults(p.plan)
	if hasFileErrors(l, p) {
		if e.cfg.Mode == ModeApply {
			p.diags = append(p.diags, problem(RuleNotWritten, "validation failed: nothing was written to the API"))
		}
		return
	}
	p.diags = append(p.diags, e.planNotes(p.plan, l)...)
	e.noteNoGuard(p.plan)
	if e.cfg.Mode == ModePlan {
		p.builds = servingBuilds(p.plan, o)
		if e.cfg.FailOnChanges && p.plan.Pending() > 0 {
			p.diags = append(p.diags, problem(RuleFailOnChanges, fmt.Sprintf("fail-on-changes: the plan has %d pending change(s)", p.plan.Pending())))
		}
		return
	}

	p.phase = "creating templates and triggering builds"
	e.announce(ctx, l, o, p.plan) // the record of what is deployed hears of the writes first
	p.executed = e.execute(ctx, l, o, p.plan)
	p.plan, p.builds = applyOutcomes(p.plan, o, p.executed)
	for _, oc := range p.executed {
		p.diags = append(p.diags, oc.diags...)
	}
	if e.cfg.Wait && ctx.Err() == nil {
		p.phase = "waiting for the builds"
		var diags diag.List
		p.builds, diags = e.wait(ctx, l, o, p.builds)
		p.diags = append(p.diags, diags...)
	} else {
		e.warnFailed(p.builds)
	}
}

// hasFileErrors reports errors in the files: the schema's, the server's
// verdicts, and the refusals the plan made errors.
func hasFileErrors(l *loaded, p *parts) bool {
	if l.Diagnostics.HasErrors() {
		return true
	}
	for _, d := range p.diags {
		if d.Path != "" && d.Severity != diag.Warning {
			return true
		}
	}
	for _, v := range p.validation.verdicts {
		if v.diags.HasErrors() {
			return true
		}
	}
	return false
}

// assemble makes the Result from the stages' values: the one place that
// writes it.
func (e *env) assemble(parent, ctx context.Context, p *parts) *Result {
	res := &Result{Mode: e.cfg.Mode, Commit: e.cfg.Commit, Online: e.api != nil, Plan: p.plan, Planned: p.planned,
		TemplateIDs: map[string]string{}, Builds: p.builds}
	if res.Builds == nil {
		res.Builds = []BuildResult{}
	}
	if res.Plan.Items == nil {
		res.Plan = plan.Plan{Items: []plan.Item{}, Unmanaged: []string{}}
	}
	if l := p.loaded; l != nil {
		res.Files = len(l.Files)
		res.Diagnostics = append(res.Diagnostics, l.Diagnostics...)
	}
	for _, v := range p.validation.verdicts {
		res.Diagnostics = append(res.Diagnostics, v.diags...)
	}
	res.Diagnostics = append(res.Diagnostics, p.diags...)
	for _, it := range res.Plan.Items {
		if it.TemplateID != "" {
			res.TemplateIDs[it.Name] = it.TemplateID
		}
	}
	for _, oc := range p.executed {
		if oc.templateID != "" {
			res.TemplateIDs[oc.name] = oc.templateID
		}
	}
	for _, b := range res.Builds {
		if b.TemplateID != "" {
			res.TemplateIDs[b.Name] = b.TemplateID
		}
	}
	res.Changed = []string{}
	switch e.cfg.Mode {
	case ModePlan:
		res.Changed = res.Plan.Changed()
	case ModeApply:
		for _, oc := range p.executed {
			if oc.wrote && !slices.Contains(res.Changed, oc.name) {
				res.Changed = append(res.Changed, oc.name)
			}
		}
		slices.Sort(res.Changed)
	}
	cancelled := parent.Err() != nil
	timedOut := !cancelled && errors.Is(ctx.Err(), context.DeadlineExceeded)
	switch {
	case cancelled:
		res.Diagnostics = append(res.Diagnostics, problem(RuleCancelled, "interrupted: stopped starting new calls; outputs show what was done"))
	case timedOut:
		res.Diagnostics = append(res.Diagnostics, problem(RuleTimeout, fmt.Sprintf("timeout: the run did not finish within %s; it was %s", e.cfg.Timeout, p.phase)))
	}
	res.Status = status(res, e.cfg.Wait, cancelled, timedOut)
	res.carried = e.carry(p.loaded)
	res.Warnings, res.Notices = e.log.warnings, e.log.notices
	sortResult(res)
	return res
}

// sayValidated says in the log how validation went, naming the schema
// that was used.
func (e *env) sayValidated(l *loaded, p *parts) {
	how := "against the " + l.schemaName
	if e.api != nil {
		switch {
		case p.validation.missing:
			how += " (the server has no validate endpoint)"
		default:
			how += fmt.Sprintf(", %d of them also by the server's validate endpoint", p.validation.sent)
		}
	}
	n := l.Diagnostics.Errors()
	for _, v := range p.validation.verdicts {
		n += v.diags.Errors()
	}
	problems := "no problems"
	if n > 0 {
		problems = fmt.Sprintf("%d problem(s)", n)
	}
	e.log.Info(fmt.Sprintf("Validated %d file(s) %s: %s", len(l.Files), how, problems))
}

// sayDeferred says the schema warning, which waits for a first answer from
// the server.
func (e *env) sayDeferred(l *loaded) {
	if l.schemaWarning != "" {
		e.log.Warn(l.schemaWarning)
		l.schemaWarning = ""
	}
}
