package run

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
)

// desired is the template as the plan sees it: the file's spec, its
// digests (the local one first, then the server's normalized form when
// validate told it) and its problems.
func desired(l *loaded, t *spec.Template, v validation) plan.Desired {
	var extra diag.List
	d := plan.Desired{Name: t.Name, File: t.File, Description: t.Description,
		Digests: []string{t.Digest()}, Written: t.BuildSpec}
	if vd, ok := v.verdicts[t.Name]; ok {
		extra = vd.diags
		if vd.normalized != "" {
			d.Digests = append(d.Digests, vd.normalized)
			d.Validated = true
		}
	}
	d.Problem = l.problemIn(t, extra)
	return d
}

// options are the plan's options for this run.
func options(cfg Config, o *observation) plan.Options {
	opts := plan.Options{Mode: cfg.BuildMode, Commit: cfg.Commit, CommitTime: cfg.CommitTime,
		AllowRollback: cfg.AllowRollback}
	if o != nil {
		opts.History = o.history
	}
	return opts
}

// decide is the Decide stage: plan.Compute, once per run, over every
// template the filter keeps and every remote row.
func decide(l *loaded, o *observation, v validation, cfg Config) plan.Plan {
	ds := make([]plan.Desired, 0, len(l.Templates))
	for _, t := range l.Templates {
		ds = append(ds, desired(l, t, v))
	}
	opts := options(cfg, o)
	opts.Managed = l.Names
	return plan.Compute(ds, o.remote, opts)
}

// remoteOf is the remote row a template name matched, if any.
func (o *observation) remoteOf(name string) (plan.Remote, bool) {
	i, ok := o.byName[name]
	if !ok {
		return plan.Remote{}, false
	}
	return o.remote[i], true
}

// needValidation are the templates whose specs the server's validate
// endpoint should see before anything is decided: the ones a run may
// write (no template yet, no build, a failed build, another spec served,
// build: always). A spec served as the file writes it was judged when it
// was built.
func needValidation(l *loaded, o *observation, cfg Config) []*spec.Template {
	var out []*spec.Template
	for _, t := range l.Templates {
		r, ok := o.remoteOf(t.Name)
		switch {
		case !ok:
			out = append(out, t)
		case r.ReadError != "" || cfg.BuildMode == plan.BuildNever:
		case !r.HasServing, r.Serving.State == plan.StateFailed, cfg.BuildMode == plan.BuildAlways:
			out = append(out, t)
		case plan.Matches([]string{t.Digest()}, r.Serving.Digest):
		default:
			if _, same := spec.DefaultsOnly(t.BuildSpec, r.Serving.Spec); !same || r.Serving.Digest == "" {
				out = append(out, t)
			}
		}
	}
	return out
}

// history reads, for the CLI (cfg.History), the specs each template's file
// held at the commit's ancestors, for every template whose served build is
// of another spec and newer than the commit: the only ones the rollback
// guard may refuse.
func (e *env) history(ctx context.Context, l *loaded, o *observation) map[string][]string {
	if e.cfg.History == nil || e.cfg.CommitTime.IsZero() {
		return nil
	}
	var files []*spec.Template
	for _, t := range l.Templates {
		r, ok := o.remoteOf(t.Name)
		if ok && r.HasServing && r.Serving.InsertedAt.After(e.cfg.CommitTime) && !plan.Matches([]string{t.Digest()}, r.Serving.Digest) {
			files = append(files, t)
		}
	}
	found := make([][]string, len(files))
	g := new(errgroup.Group)
	g.SetLimit(e.cfg.Concurrency)
	for i, t := range files {
		g.Go(func() error {
			found[i] = e.cfg.History(ctx, t.File)
			return nil
		})
	}
	_ = g.Wait()
	out := map[string][]string{}
	for i, t := range files {
		out[t.Name] = found[i]
	}
	return out
}

// invalidOnly lists the invalid templates, the only plan validate mode
// (or a run stopped before its plan) can tell without the remote state.
func invalidOnly(l *loaded, v validation) plan.Plan {
	p := plan.Plan{Items: []plan.Item{}, Unmanaged: []string{}}
	for _, t := range l.Templates {
		if d := desired(l, t, v); d.Problem != "" {
			p.Items = append(p.Items, plan.Item{Name: d.Name, File: d.File, Action: plan.Invalid, Reason: d.Problem})
		}
	}
	return p
}

// planNotes turns the plan's refusals and description changes into
// diagnostics on the files: errors for refusals in apply mode (the step
// fails), warnings otherwise.
func planNotes(p plan.Plan, l *loaded, cfg Config) diag.List {
	var out diag.List
	for _, it := range p.Items {
		t := l.byName[it.Name]
		switch it.Action {
		case plan.Refused:
			sev := diag.Warning
			if cfg.Mode == ModeApply {
				sev = diag.Error
			}
			out = append(out, refusal(t, it, sev))
		case plan.Describe:
			line, col := t.DescLine, t.DescCol
			if line == 0 {
				line, col = t.Line, t.Col
			}
			out = append(out, diag.Diagnostic{Path: t.File, Line: line, Col: col, Field: "description",
				Message: it.Reason, Rule: "description", Severity: diag.Warning})
		}
	}
	return out
}

// refusal is a refused build, on the template's build_spec: line.
func refusal(t *spec.Template, it plan.Item, sev diag.Severity) diag.Diagnostic {
	line, col := t.LocateKey("")
	return diag.Diagnostic{Path: t.File, Line: line, Col: col, Field: "build_spec",
		Message: it.Reason, Rule: "rollback", Severity: sev}
}

// noteDefaults says in the log which templates match the served spec only
// by fields the file does not set: taken as the server's defaults, which
// may have moved on since the build, so they never cause a rebuild.
func (e *env) noteDefaults(p plan.Plan) {
	var names []string
	for _, it := range p.Items {
		if it.Action == plan.Unchanged && len(it.DefaultsOnly) > 0 {
			names = append(names, fmt.Sprintf("%s (%s)", it.Name, strings.Join(it.DefaultsOnly, ", ")))
		}
	}
	if len(names) == 0 {
		return
	}
	slices.Sort(names)
	e.log.Info("Served specs set fields these files do not, taken as the server's defaults: " + strings.Join(names, "; ") +
		". If a file dropped such a field on purpose, set it explicitly or use build: always.")
}

// noteNoGuard says once when builds go ahead without the rollback guard.
func (e *env) noteNoGuard(p plan.Plan) {
	if e.cfg.Mode == ModeApply && e.cfg.CommitTime.IsZero() && p.Count(plan.Build) > 0 {
		e.log.Notice("The commit's time is unknown (no push payload timestamp, no git history): builds replace served builds without the rollback guard.")
	}
}

// servingBuilds are, for every template that needs no write, the build of
// its wanted spec that serves it or is in progress.
func servingBuilds(p plan.Plan, o *observation) []BuildResult {
	out := []BuildResult{}
	for _, it := range p.Items {
		if it.Action == plan.Unchanged && it.Serving != "" {
			r, _ := o.remoteOf(it.Name)
			out = append(out, servedResult(it, r))
		}
	}
	return out
}

// servedResult is the BuildResult of an item that an existing build of the
// remote template serves.
func servedResult(it plan.Item, r plan.Remote) BuildResult {
	b := BuildResult{Name: it.Name, TemplateID: it.TemplateID, BuildID: it.Serving, State: it.ServingState, Action: it.Action.String()}
	for _, rb := range r.Builds {
		if rb.ID == it.Serving {
			b.State, b.ErrorCode, b.ErrorMessage, b.LogURL = rb.State, rb.ErrorCode, truncateMessage(rb.ErrorMessage), rb.LogURL
		}
	}
	return b
}
