package run

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
)

// desired is the template as the plan sees it: the file's spec, its
// digests (the local one first, then the server's normalized form when
// validate told it), the spec it should serve as the server would
// normalize it, the deploy target's word on its file, the remote row it
// matched, and its problems.
func desired(l *loaded, o *observation, t *spec.Template, v validation) plan.Desired {
	var extra diag.List
	d := plan.Desired{Name: t.Name, File: t.File, Description: t.Description,
		Digests: []string{t.Digest()}, Written: t.BuildSpec, Wanted: o.filled(t)}
	if vd, ok := v.verdicts[t.Name]; ok {
		extra = vd.diags
		if vd.normalized != "" {
			d.Digests = append(d.Digests, vd.normalized)
			d.Validated = true
		}
		if vd.spec != nil {
			d.Wanted = vd.spec
		}
	}
	if o != nil {
		d.Order = o.order[t.File]
		if r, ok := o.remoteOf(t.Name); ok {
			d.Match = r.ID
		}
	}
	d.Problem = l.problemIn(t, extra)
	return d
}

// options are the plan's options for this run.
func options(cfg Config, o *observation) plan.Options {
	opts := plan.Options{Mode: cfg.BuildMode, Commit: cfg.Commit, CommitTime: cfg.CommitTime,
		AllowRollback: cfg.AllowRollback, Matched: true}
	if o != nil {
		opts.RefuseUnordered = o.refuseUnordered
	}
	return opts
}

// decide is the Decide stage: plan.Compute, once per run, over every
// template the filter keeps and every remote row.
func decide(l *loaded, o *observation, v validation, cfg Config) plan.Plan {
	ds := make([]plan.Desired, 0, len(l.Templates))
	for _, t := range l.Templates {
		ds = append(ds, desired(l, o, t, v))
	}
	opts := options(cfg, o)
	opts.Managed = append(slices.Clone(l.Names), ownPreviews(o.remote, cfg.Repository)...)
	p := plan.Compute(ds, o.remote, opts)
	p.Items = foreignPreviews(cfg, p.Items, o.remote)
	return p
}

// remoteOf is the remote row a template name matched, if any.
func (o *observation) remoteOf(name string) (plan.Remote, bool) {
	i, ok := o.byName[name]
	if !ok {
		return plan.Remote{}, false
	}
	return o.remote[i], true
}

// invalidOnly lists the invalid templates, the only plan validate mode
// (or a run stopped before its plan) can tell without the remote state.
func invalidOnly(l *loaded, v validation) plan.Plan {
	p := plan.Plan{Items: []plan.Item{}, Unmanaged: []string{}}
	for _, t := range l.Templates {
		if d := desired(l, nil, t, v); d.Problem != "" {
			p.Items = append(p.Items, plan.Item{Name: d.Name, File: d.File, Action: plan.Invalid, Reason: d.Problem})
		}
	}
	return p
}

// planNotes turns the plan's refusals into diagnostics on the files (errors
// in apply mode, where the step fails; warnings otherwise), and says the
// skipped writes and description changes in the log: a superseded write
// and a description change as notices, a write off the target's history as
// a warning.
func (e *env) planNotes(p plan.Plan, l *loaded) diag.List {
	var out diag.List
	for _, it := range p.Items {
		t := l.byName[it.Name]
		switch it.Action {
		case plan.Refused:
			sev := diag.Warning
			if e.cfg.Mode == ModeApply {
				sev = diag.Error
			}
			out = append(out, refusal(t, it, sev))
		case plan.Superseded:
			e.log.Notice(fmt.Sprintf("%s: not written: %s", t.File, it.Reason))
		case plan.OffTarget:
			e.log.Warn(fmt.Sprintf("%s: not written: %s; set allow-rollback: true to write it anyway", t.File, it.Reason))
		case plan.Describe:
			e.log.Notice(fmt.Sprintf("%s: description %s", t.File, it.Reason))
		}
	}
	return out
}

// refusal is a refused build, on the template's build_spec: line.
func refusal(t *spec.Template, it plan.Item, sev diag.Severity) diag.Diagnostic {
	line, col := t.LocateKey("")
	return diag.Diagnostic{Path: t.File, Line: line, Col: col, Field: "build_spec",
		Message: it.Reason, Rule: cmp.Or(foreignRule(it), "rollback"), Severity: sev}
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

// noteNoGuard says once when builds go ahead with no evidence of commit
// order at all: no word from the deploy target, and no commit time.
func (e *env) noteNoGuard(p plan.Plan) {
	if e.cfg.Mode != ModeApply || !e.cfg.CommitTime.IsZero() {
		return
	}
	for _, it := range p.Items {
		if it.Action == plan.Build && it.Evidence == "" {
			e.log.Notice("The commit order is unknown (no word from GitHub or git, no commit time): builds replace served builds without a rollback check.")
			return
		}
	}
}

// servingBuilds are, for every template that needs no write, the build of
// its wanted spec that serves it or is in progress; for one judged from
// its list row alone, the row's status, with no build.
func servingBuilds(p plan.Plan, o *observation) []BuildResult {
	out := []BuildResult{}
	for _, it := range p.Items {
		if it.Action != plan.Unchanged {
			continue
		}
		r, _ := o.remoteOf(it.Name)
		switch {
		case it.Serving != "":
			out = append(out, servedResult(it, r))
		case r.Listed != "" && r.Builds == nil:
			out = append(out, BuildResult{Name: it.Name, TemplateID: it.TemplateID, State: r.Status, Action: it.Action.String(), Source: SourceList})
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
			b.fillFrom(rb)
		}
	}
	return b
}
