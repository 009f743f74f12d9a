package run

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
)

// outcome is what one write did: each worker returns its own, and the run
// merges them after every worker is done.
type outcome struct {
	name       string
	templateID string
	build      *BuildResult
	diags      diag.List
	// replanned is the item's new plan, when a create met an existing
	// template and the run decided that template again.
	replanned *plan.Item
	// wrote is set when a create or a build was accepted (or replayed).
	wrote bool
}

// executor carries out a plan's writes. Its one mutable field is a fact
// learned about the server, written once.
type executor struct {
	*env
	l *loaded
	o *observation
	// noAutoBuild is set once a create's grace period passed without the
	// server queueing a build: later creates look once only.
	noAutoBuild atomic.Bool
}

// execute is the Execute stage: the plan's creates and builds, with
// bounded concurrency. A cancelled context stops new writes from starting.
func (e *env) execute(ctx context.Context, l *loaded, o *observation, p plan.Plan) []outcome {
	x := &executor{env: e, l: l, o: o}
	var items []plan.Item
	for _, it := range p.Items {
		if it.Action.Writes() {
			items = append(items, it)
		}
	}
	outs := make([]outcome, len(items))
	g := new(errgroup.Group)
	g.SetLimit(e.cfg.Concurrency)
	for i, it := range items {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if ctx.Err() == nil {
				outs[i] = x.write(ctx, it, true)
			}
			return nil
		})
	}
	_ = g.Wait()
	return slices.DeleteFunc(outs, func(oc outcome) bool { return oc.name == "" })
}

// applyOutcomes is the plan as carried out (re-planned items replaced) and
// the builds that serve each template: the ones the plan found unchanged,
// then the ones the writes made or found.
func applyOutcomes(p plan.Plan, o *observation, outs []outcome) (plan.Plan, []BuildResult) {
	items := slices.Clone(p.Items)
	for _, oc := range outs {
		if oc.replanned == nil {
			continue
		}
		for i := range items {
			if items[i].Name == oc.name && items[i].Action == plan.Create {
				items[i] = *oc.replanned
			}
		}
	}
	builds := servingBuilds(p, o)
	p.Items = items
	for _, oc := range outs {
		if oc.build != nil {
			builds = append(builds, *oc.build)
		}
	}
	return p, builds
}

// write carries out one create or build item. replan allows one fresh
// read and plan when a create finds that the template now exists.
func (x *executor) write(ctx context.Context, it plan.Item, replan bool) outcome {
	oc := outcome{name: it.Name, templateID: it.TemplateID}
	t := x.l.byName[it.Name]
	var b *BuildResult
	var how string
	var err error
	if it.Action == plan.Create {
		b, how, err = x.create(ctx, t, it, &oc, "none")
		if errors.Is(err, errExists) && replan {
			x.log.Info(fmt.Sprintf("%s: the template now exists (another run created it): planning it again from a fresh read", it.Name))
			return x.replan(ctx, t, it)
		}
	} else {
		b, err = x.build(ctx, t, it, &oc)
		how = "triggered build"
		if b != nil && b.Replayed {
			how = "build made by an earlier attempt with the same key"
		}
	}
	if err != nil && ctx.Err() == nil && !errors.Is(err, errReported) {
		oc.diags = append(oc.diags, problem(RuleAPI, fmt.Sprintf("%s: %v", it.Name, err)))
	}
	if b != nil {
		oc.build = b
		oc.templateID = cmp.Or(b.TemplateID, oc.templateID)
		x.say(*b, how)
	}
	return oc
}

var (
	// errExists: a create answered that a template with the name exists.
	errExists = errors.New("a template with this name already exists")
	// errReported: the problem is already in the outcome's diagnostics.
	errReported = errors.New("reported as diagnostics")
)

// replan reads one template afresh after a create met it, decides it
// alone and carries out what that says, once.
func (x *executor) replan(ctx context.Context, t *spec.Template, it plan.Item) outcome {
	oc := outcome{name: it.Name}
	r, err := x.observeOne(ctx, it.Name, it.Name)
	if err != nil {
		if ctx.Err() == nil {
			oc.diags = append(oc.diags, problem(RuleAPI, fmt.Sprintf("%s: the create met an existing template, and reading it failed: %v", it.Name, err)))
		}
		return oc
	}
	oc.templateID = r.ID
	d := x.desired(t)
	d.Match = r.ID
	next := foreignPreviews(x.cfg, plan.Compute([]plan.Desired{d}, []plan.Remote{r}, options(x.cfg, x.o)).Items, []plan.Remote{r})[0]
	oc.replanned = &next
	x.log.Info(fmt.Sprintf("%s: planned again: %s (%s)", it.Name, next.Action, next.Reason))
	switch {
	case next.Action == plan.Build:
		out := x.write(ctx, next, false)
		out.replanned = &next
		return out
	case next.Action == plan.Refused:
		oc.diags = append(oc.diags, refusal(t, next, diag.Error))
	case next.Serving != "":
		b := servedResult(next, r)
		oc.build = &b
	}
	return oc
}

// desired is the template as the plan sees it, with the validate answers
// the run observed.
func (x *executor) desired(t *spec.Template) plan.Desired {
	return desired(x.l, x.o, t, validation{verdicts: x.o.validated})
}

// say says in the log how a build came about.
func (x *executor) say(b BuildResult, how string) {
	if b.BuildID == "" {
		x.log.Info(fmt.Sprintf("%s: %s", b.Name, how))
		return
	}
	x.log.Info(fmt.Sprintf("%s: %s %s (%s)", b.Name, how, b.BuildID, b.State))
}

// keyBase names, in a build's idempotency key, what the build replaces.
func keyBase(it plan.Item) string {
	switch {
	case it.Always:
		return "always:" + cmp.Or(it.Base, "none")
	case it.Base != "":
		return it.Base
	}
	return "none"
}

func (x *executor) key(t *spec.Template, op, base string) string {
	return IdempotencyKey(x.cfg.Repository, t.Name, x.cfg.Commit, t.Digest(), op, base)
}

// create creates the template, then adopts the build the server queued for
// this spec, and triggers one only when none appears.
func (x *executor) create(ctx context.Context, t *spec.Template, it plan.Item, oc *outcome, base string) (*BuildResult, string, error) {
	key := x.key(t, opCreate, base)
	tpl, err := x.api.CreateTemplate(ctx, key, miosa.CreateTemplate{
		Name: t.Name, Description: t.Description, Metadata: t.Metadata, BuildSpec: t.BuildSpec,
	})
	if err != nil {
		if miosa.IsCollision(err) {
			return nil, "", errExists
		}
		if ds, ok := rejected(t, err); ok {
			oc.diags = append(oc.diags, ds...)
			return nil, "", errReported
		}
		return nil, "", fmt.Errorf("create template: %w", explain(err, key))
	}
	res := &BuildResult{Name: it.Name, TemplateID: tpl.ID, Action: opCreate, Replayed: tpl.Replayed}
	b, how, err := x.firstBuild(ctx, t, res, key, oc)
	if err != nil && tpl.Replayed && miosa.IsTemplateGone(err) && strings.Count(base, "vanished:") < maxVanished {
		// The key replayed a template that no longer exists (deleted on
		// the server since): create it again under a key that names the
		// vanished template, so the key stays the same on every re-run.
		x.log.Info(fmt.Sprintf("%s: the create's key replayed template %s, which no longer exists: creating it again", it.Name, tpl.ID))
		return x.create(ctx, t, it, oc, base+" vanished:"+tpl.ID)
	}
	oc.templateID, oc.wrote = tpl.ID, true
	return b, "created; " + how, err
}

// maxVanished bounds how many deleted templates in a row a create looks
// past: a template deleted again and again at one commit.
const maxVanished = 3

// firstBuild gives a newly created template its first build: it adopts the
// build the server queued on create when that build is of this run's spec
// (reported under the create's key), and triggers a keyed build otherwise.
func (x *executor) firstBuild(ctx context.Context, t *spec.Template, res *BuildResult, createKey string, oc *outcome) (*BuildResult, string, error) {
	builds, err := x.queuedBuilds(ctx, res.TemplateID)
	if err != nil {
		return res, "no build yet", err
	}
	// The newest build decides, as for any template: the server's own
	// build of this spec is adopted only when it is the one that serves; a
	// newer build of another run's spec (a create that raced this one) is
	// replaced by a keyed build of this one, through the rollback guard.
	r := plan.Remote{ID: res.TemplateID, Name: t.Name}
	r.SetBuilds(planBuilds(builds, nil))
	d := x.desired(t)
	it := plan.Item{Name: t.Name, File: t.File, TemplateID: res.TemplateID, Action: plan.Build}
	if r.HasServing {
		served := r.Serving
		// The server's build of this spec serves, or has failed already
		// (BUILDS_TEMPORARILY_UNAVAILABLE fails at once): this run's
		// create made it, and reports it; a later run rebuilds a failure.
		if _, ok := plan.Matched(d, served); ok {
			res.BuildID, res.IdempotencyKey, res.Made = served.ID, createKey, !res.Replayed
			res.fillFrom(served)
			return res, "adopted the build the server queued", nil
		}
		it.Base = r.Builds[0].ID
		if why := plan.Rollback(d, served, options(x.cfg, x.o)); why != "" && !x.cfg.AllowRollback && d.Order.State == plan.OrderUnknown {
			it.Reason = why
			oc.diags = append(oc.diags, refusal(t, it, diag.Error))
			return res, "its build refused", errReported
		}
	}
	b, err := x.build(ctx, t, it, oc)
	if err != nil {
		return res, "no build yet", err
	}
	b.Action = opCreate
	return b, "triggered build", nil
}

// queuedBuilds looks for the builds of a template just created, about once
// a second and a last time when AdoptGrace has passed: the server may queue
// its build a moment after answering the create. Once a whole grace period
// has passed with no build, the server evidently does not build on create,
// and creates that start after that look once only.
func (x *executor) queuedBuilds(ctx context.Context, templateID string) ([]miosa.Build, error) {
	once := x.noAutoBuild.Load() || x.cfg.AdoptGrace < 0
	deadline := time.Now().Add(x.cfg.AdoptGrace)
	for {
		builds, err := readBuilds(ctx, x.api, templateID, false)
		if err != nil {
			return nil, fmt.Errorf("list builds: %w", err)
		}
		if len(builds) > 0 {
			return builds, nil
		}
		left := time.Until(deadline)
		if once || left <= 0 {
			if !once {
				x.noAutoBuild.Store(true)
			}
			return nil, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(min(time.Second, left)):
		}
	}
}

// build triggers a build of the template with the repository's spec.
func (x *executor) build(ctx context.Context, t *spec.Template, it plan.Item, oc *outcome) (*BuildResult, error) {
	key := x.key(t, opBuild, keyBase(it))
	// A keyed body holds nothing that varies by event (no commit time): a
	// push and a release run at one commit send the same request.
	meta := map[string]string{
		metaManagedBy:  metaManagedByValue,
		metaCommit:     x.cfg.Commit,
		metaDigest:     t.Digest(),
		metaRepository: x.cfg.Repository,
	}
	b, err := x.api.CreateBuild(ctx, it.TemplateID, key, miosa.CreateBuild{BuildSpec: t.BuildSpec, Metadata: meta})
	if err != nil {
		if ds, ok := rejected(t, err); ok {
			oc.diags = append(oc.diags, ds...)
			return nil, errReported
		}
		return nil, fmt.Errorf("create build: %w", explain(err, key))
	}
	oc.wrote = true
	res := &BuildResult{Name: it.Name, TemplateID: it.TemplateID, BuildID: b.ID, Action: opBuild,
		IdempotencyKey: key, Replayed: b.Replayed, Made: !b.Replayed}
	res.fill(b)
	return res, nil
}

// rejected turns a create's or build's 422 about the spec or the
// template's fields into positioned diagnostics; ok is false for any other
// error.
func rejected(t *spec.Template, err error) (diag.List, bool) {
	specErrs, other, ok := miosa.Rejection(err)
	if !ok {
		return nil, false
	}
	var ds diag.List
	for _, f := range other {
		field := strings.ToLower(f.Field)
		switch {
		case field == "name" || field == "slug" || field == "tenant_id":
			ds = append(ds, diag.Diagnostic{Path: t.File, Line: t.Line, Col: t.Col, Field: "name",
				Message: "rejected by the server: " + f.Message, Rule: "server", Severity: diag.Error})
		case field == "description" && t.DescLine > 0:
			ds = append(ds, diag.Diagnostic{Path: t.File, Line: t.DescLine, Col: t.DescCol, Field: "description",
				Message: "rejected by the server: " + f.Message, Rule: "server", Severity: diag.Error})
		default:
			msg := f.Message
			if f.Field != "" {
				msg = f.Field + " " + msg
			}
			ds = append(ds, diag.Diagnostic{Path: t.File, Line: t.Line, Col: t.Col,
				Message: "rejected by the server: " + msg, Rule: "server", Severity: diag.Error})
		}
	}
	if len(specErrs) > 0 || len(ds) == 0 {
		ds = append(ds, specDiags(t, specErrs)...)
	}
	return ds, true
}

// explain adds the likely cause to an idempotency payload mismatch.
func explain(err error, key string) error {
	if !miosa.IsPayloadMismatch(err) {
		return err
	}
	return fmt.Errorf("%w: the server saw idempotency key %s before with a different request body. "+
		"The key comes from the repository, the template, the commit, the spec, the operation and the build it replaces, "+
		"so another tool or version of this action sent that request, "+
		"or the template's description or metadata changed without a new commit; "+
		"push a new commit to get new keys", err, key)
}

// warnFailed warns about builds that have already failed when a run that
// does not wait ends: the step succeeds, but the failure is not quiet.
func (e *env) warnFailed(builds []BuildResult) {
	for _, b := range builds {
		if b.ended() {
			e.log.Warn(b.failure() + "; a later apply rebuilds it")
		}
	}
}
