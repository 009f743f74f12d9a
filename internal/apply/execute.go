package apply

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
	"github.com/miosa-dev/sandbox-templates-action/internal/textsafe"
)

// applyPlan carries out the create and build items with bounded
// concurrency, and reports the builds that already serve the other
// templates. A cancelled context stops new calls from starting.
func (r *run) applyPlan(ctx context.Context) {
	r.recordServing()
	g := new(errgroup.Group)
	g.SetLimit(r.cfg.Concurrency)
	// The workers may re-plan an item: they change r.res.Plan under r.mu,
	// never this copy.
	for _, it := range slices.Clone(r.res.Plan.Items) {
		if !it.Action.Writes() {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if ctx.Err() != nil {
				return nil
			}
			r.write(ctx, it, true)
			return nil
		})
	}
	_ = g.Wait() // workers report through r.problem
}

// write carries out one create or build item. replan allows one fresh
// read and plan when a create finds that the template now exists.
func (r *run) write(ctx context.Context, it plan.Item, replan bool) {
	var b *BuildResult
	var how string
	var err error
	if it.Action == plan.Create {
		b, how, err = r.create(ctx, it)
		if errors.Is(err, errExists) && replan {
			r.rep.Info(fmt.Sprintf("%s: the template now exists (another run created it): planning it again from a fresh read", it.Name))
			r.replan(ctx, it)
			return
		}
	} else {
		b, err = r.build(ctx, it)
		how = "triggered build"
		if b != nil && b.Replayed {
			how = "build made by an earlier attempt with the same key"
		}
	}
	if err != nil && ctx.Err() == nil && !errors.Is(err, errReported) {
		r.problem(fmt.Sprintf("%s: %v", it.Name, err))
	}
	if b != nil {
		r.record(*b, how)
	}
}

var (
	// errExists: a create answered that a template with the name exists.
	errExists = errors.New("a template with this name already exists")
	// errReported: the problem is already in the diagnostics.
	errReported = errors.New("reported as diagnostics")
)

// replan reads one template afresh after a create met it, plans it again
// and carries out what that plan says, once.
func (r *run) replan(ctx context.Context, it plan.Item) {
	tpl, err := r.api.GetTemplate(ctx, it.Name)
	if err != nil {
		if ctx.Err() == nil {
			r.problem(fmt.Sprintf("%s: the create met an existing template, and reading it failed: %v", it.Name, err))
		}
		return
	}
	rt := &remoteTemplate{row: miosa.ListRow{ID: tpl.ID, Name: tpl.Name, Slug: tpl.Slug, Status: tpl.Status, Description: tpl.Description}}
	if err := r.readBuilds(ctx, it.Name, rt); err != nil {
		if ctx.Err() == nil {
			r.problem(fmt.Sprintf("%s: %v", it.Name, err))
		}
		return
	}
	r.mu.Lock()
	r.remote[it.Name] = rt
	r.res.TemplateIDs[it.Name] = tpl.ID
	r.mu.Unlock()
	next := r.decideOne(it.Name, rt, "")
	r.mu.Lock()
	for i := range r.res.Plan.Items {
		if r.res.Plan.Items[i].Name == it.Name && r.res.Plan.Items[i].Action == plan.Create {
			r.res.Plan.Items[i] = next
		}
	}
	r.mu.Unlock()
	r.rep.Info(fmt.Sprintf("%s: planned again: %s (%s)", it.Name, next.Action, next.Reason))
	switch {
	case next.Action == plan.Build:
		r.write(ctx, next, false)
	case next.Action == plan.Refused:
		r.refuse(next)
	case next.Serving != "":
		r.recordItem(next)
	}
}

// recordServing reports, for every template that needs no write, the build
// of its wanted spec that serves it or is in progress.
func (r *run) recordServing() {
	for _, it := range r.res.Plan.Items {
		if it.Action == plan.Unchanged && it.Serving != "" {
			r.recordItem(it)
		}
	}
}

func (r *run) recordItem(it plan.Item) {
	b := BuildResult{Name: it.Name, TemplateID: it.TemplateID, BuildID: it.Serving, State: it.ServingState, Action: it.Action.String()}
	r.mu.Lock()
	rt := r.remote[it.Name]
	r.mu.Unlock()
	if rt != nil {
		for i := range rt.builds {
			if rt.builds[i].ID == it.Serving {
				fillState(&b, &rt.builds[i])
			}
		}
	}
	r.mu.Lock()
	r.res.Builds = append(r.res.Builds, b)
	r.mu.Unlock()
}

// record adds a build to the result and says in the log how it came about.
func (r *run) record(b BuildResult, how string) {
	r.mu.Lock()
	r.res.Builds = append(r.res.Builds, b)
	if b.TemplateID != "" {
		r.res.TemplateIDs[b.Name] = b.TemplateID
	}
	r.mu.Unlock()
	if b.BuildID == "" {
		r.rep.Info(fmt.Sprintf("%s: %s", b.Name, how))
		return
	}
	r.rep.Info(fmt.Sprintf("%s: %s %s (%s)", b.Name, how, b.BuildID, b.State))
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

func (r *run) key(name, op, base string) string {
	return IdempotencyKey(r.cfg.Repository, name, r.cfg.Commit, r.digests[name][0], op, base)
}

// maxErrorMessage bounds a build's error message in outputs and summaries.
const maxErrorMessage = 1000

func fillState(b *BuildResult, mb *miosa.Build) {
	b.State = mb.State
	b.ErrorCode = mb.ErrorCode
	b.ErrorMessage = textsafe.Truncate(mb.ErrorMessage, maxErrorMessage)
	b.LogURL = mb.LogURL
}

// create creates the template, then adopts the build the server queued for
// this spec, and triggers one only when none appears.
func (r *run) create(ctx context.Context, it plan.Item) (*BuildResult, string, error) {
	t := r.byName[it.Name]
	key := r.key(it.Name, opCreate, "none")
	tpl, err := r.api.CreateTemplate(ctx, key, miosa.CreateTemplate{
		Name: t.Name, Description: t.Description, Metadata: t.Metadata, BuildSpec: t.BuildSpec,
	})
	if err != nil {
		if collision(err) {
			return nil, "", errExists
		}
		if r.writeRejected(t, err) {
			return nil, "", errReported
		}
		return nil, "", fmt.Errorf("create template: %w", explain(err, key))
	}
	r.mu.Lock()
	r.res.TemplateIDs[it.Name] = tpl.ID
	r.mu.Unlock()
	res := &BuildResult{Name: it.Name, TemplateID: tpl.ID, Action: opCreate, Replayed: tpl.Replayed}
	b, how, err := r.firstBuild(ctx, it.Name, res, key)
	return b, "created; " + how, err
}

// firstBuild gives a newly created template its first build: it adopts the
// build the server queued on create when that build is of this run's spec
// (reported under the create's key), and triggers a keyed build otherwise.
func (r *run) firstBuild(ctx context.Context, name string, res *BuildResult, createKey string) (*BuildResult, string, error) {
	builds, err := r.queuedBuilds(ctx, res.TemplateID)
	if err != nil {
		return res, "no build yet", err
	}
	// The newest build decides, as for any template: the server's own
	// build of this spec is adopted only when it is the one that serves; a
	// newer build of another run's spec (a create that raced this one) is
	// replaced by a keyed build of this one, through the rollback guard.
	rt := &remoteTemplate{row: miosa.ListRow{ID: res.TemplateID, Name: name}, builds: builds}
	if rt.builds == nil {
		rt.builds = []miosa.Build{}
	}
	it := r.decideOne(name, rt, plan.BuildChanged)
	if served, ok := plan.Served(r.planBuilds(rt)); ok {
		i := slices.IndexFunc(builds, func(b miosa.Build) bool { return b.ID == served.ID })
		// The server's build of this spec serves, or has failed already
		// (BUILDS_TEMPORARILY_UNAVAILABLE fails at once): this run's
		// create made it, and reports it; a later run rebuilds a failure.
		if i >= 0 && (it.Action == plan.Unchanged || served.State == plan.StateFailed && r.ofWantedSpec(name, builds[i])) {
			res.BuildID, res.IdempotencyKey, res.Made = builds[i].ID, createKey, !res.Replayed
			fillState(res, &builds[i])
			return res, "adopted the build the server queued", nil
		}
	}
	switch it.Action {
	case plan.Refused:
		r.refuse(it)
		return res, "its build refused", errReported
	}
	it.TemplateID = res.TemplateID
	b, err := r.build(ctx, it)
	if err != nil {
		return res, "no build yet", err
	}
	b.Action = opCreate
	return b, "triggered build", nil
}

// decideOne plans one template from a fresh read of it.
func (r *run) decideOne(name string, rt *remoteTemplate, mode plan.BuildMode) plan.Item {
	var d plan.Desired
	for _, x := range r.desired() {
		if x.Name == name {
			d = x
		}
	}
	opts := r.planOptions()
	if mode != "" {
		opts.Mode = mode
	}
	p := plan.Compute([]plan.Desired{d}, []plan.Remote{r.toPlanRemote(rt)}, opts)
	return p.Items[0]
}

// ofWantedSpec reports whether a build is of the spec this run wants.
func (r *run) ofWantedSpec(name string, b miosa.Build) bool {
	if len(b.BuildSpec) == 0 {
		return false
	}
	if plan.Matches(r.digests[name], spec.Digest(b.BuildSpec)) {
		return true
	}
	if r.validated[name] {
		return false
	}
	_, ok := spec.DefaultsOnly(r.byName[name].BuildSpec, b.BuildSpec)
	return ok
}

// queuedBuilds looks for the builds of a template just created, about once
// a second and a last time when AdoptGrace has passed: the server may queue
// its build a moment after answering the create. Once a whole grace period
// has passed with no build, the server evidently does not build on create,
// and creates that start after that look once only.
func (r *run) queuedBuilds(ctx context.Context, templateID string) ([]miosa.Build, error) {
	once := r.noAutoBuild.Load() || r.cfg.AdoptGrace < 0
	deadline := time.Now().Add(r.cfg.AdoptGrace)
	for {
		builds, err := r.api.ListBuilds(ctx, templateID)
		if err != nil {
			return nil, fmt.Errorf("list builds: %w", err)
		}
		if len(builds) > 0 {
			return newestFirst(builds), nil
		}
		left := time.Until(deadline)
		if once || left <= 0 {
			if !once {
				r.noAutoBuild.Store(true)
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
func (r *run) build(ctx context.Context, it plan.Item) (*BuildResult, error) {
	t := r.byName[it.Name]
	key := r.key(it.Name, opBuild, keyBase(it))
	meta := map[string]string{
		metaManagedBy:  metaManagedByValue,
		metaCommit:     r.cfg.Commit,
		metaDigest:     r.digests[it.Name][0],
		metaRepository: r.cfg.Repository,
	}
	if !r.cfg.CommitTime.IsZero() {
		meta[metaCommitTime] = r.cfg.CommitTime.UTC().Format(time.RFC3339)
	}
	b, err := r.api.CreateBuild(ctx, it.TemplateID, key, miosa.CreateBuild{BuildSpec: t.BuildSpec, Metadata: meta})
	if err != nil {
		if r.writeRejected(t, err) {
			return nil, errReported
		}
		return nil, fmt.Errorf("create build: %w", explain(err, key))
	}
	res := &BuildResult{Name: it.Name, TemplateID: it.TemplateID, BuildID: b.ID, Action: opBuild,
		IdempotencyKey: key, Replayed: b.Replayed, Made: !b.Replayed}
	fillState(res, b)
	return res, nil
}

// collision reports a create answered because a template with the name
// exists: 422 with a slug (or, from servers before a fix, tenant_id or
// name) "already exists" / "has already been taken".
func collision(err error) bool {
	var e *miosa.Error
	if !errors.As(err, &e) || e.Status != 422 {
		return false
	}
	for _, f := range e.Fields {
		m := strings.ToLower(f.Message)
		switch strings.ToLower(f.Field) {
		case "slug", "name", "tenant_id":
			if strings.Contains(m, "already exists") || strings.Contains(m, "already been taken") {
				return true
			}
		}
	}
	return false
}

// writeRejected turns a create's or build's 422 about the spec or the
// template's fields into positioned diagnostics, and reports whether it
// did.
func (r *run) writeRejected(t *spec.Template, err error) bool {
	var e *miosa.Error
	if !errors.As(err, &e) || e.Status != 422 || collision(err) {
		return false
	}
	var specErrs []miosa.FieldError
	var ds diag.List
	for _, f := range e.Fields {
		field := strings.ToLower(f.Field)
		switch {
		case e.Code == miosa.CodeInvalidBuildSpec, strings.HasPrefix(field, "build_spec"):
			specErrs = append(specErrs, f)
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
	if len(specErrs) > 0 || (len(ds) == 0 && e.Code == miosa.CodeInvalidBuildSpec) {
		ds = append(ds, specDiags(t, specErrs)...)
	}
	if len(ds) == 0 {
		return false
	}
	r.mu.Lock()
	r.res.Diagnostics = append(r.res.Diagnostics, ds...)
	r.mu.Unlock()
	return true
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

// refuse records a refused build as an error on the template's file.
func (r *run) refuse(it plan.Item) { r.refusal(it, diag.Error) }

// refusal records a refused build on the template's build_spec: line.
func (r *run) refusal(it plan.Item, sev diag.Severity) {
	t := r.byName[it.Name]
	line, col := t.LocateKey("")
	r.mu.Lock()
	r.res.Diagnostics = append(r.res.Diagnostics, diag.Diagnostic{Path: t.File, Line: line, Col: col, Field: "build_spec",
		Message: it.Reason, Rule: "rollback", Severity: sev})
	r.mu.Unlock()
}

// reportPlanNotes turns the plan's refusals and description changes into
// annotations on the files: errors for refusals in apply mode (the step
// fails), warnings otherwise.
func (r *run) reportPlanNotes() {
	for _, it := range r.res.Plan.Items {
		t := r.byName[it.Name]
		switch it.Action {
		case plan.Refused:
			sev := diag.Warning
			if r.res.Mode == ModeApply {
				sev = diag.Error
			}
			r.refusal(it, sev)
		case plan.Describe:
			line, col := t.DescLine, t.DescCol
			if line == 0 {
				line, col = t.Line, t.Col
			}
			r.res.Diagnostics = append(r.res.Diagnostics, diag.Diagnostic{Path: t.File, Line: line, Col: col, Field: "description",
				Message: it.Reason, Rule: "description", Severity: diag.Warning})
		}
	}
	if !r.cfg.CommitTime.IsZero() || r.res.Plan.Count(plan.Build) == 0 || r.res.Mode != ModeApply {
		return
	}
	r.notice("The commit's time is unknown (no push payload timestamp, no git history): builds replace served builds without the rollback guard.")
}

// noteDefaults says in the log which templates match the served spec only
// by fields the file does not set: taken as the server's defaults, which
// may have moved on since the build, so they never cause a rebuild.
func (r *run) noteDefaults() {
	var names []string
	for _, it := range r.res.Plan.Items {
		if it.Action == plan.Unchanged && len(it.DefaultsOnly) > 0 {
			names = append(names, fmt.Sprintf("%s (%s)", it.Name, strings.Join(it.DefaultsOnly, ", ")))
		}
	}
	if len(names) == 0 {
		return
	}
	slices.Sort(names)
	r.rep.Info("Served specs set fields these files do not, taken as the server's defaults: " + strings.Join(names, "; ") +
		". If a file dropped such a field on purpose, set it explicitly or use build: always.")
}

// warnFailed warns about builds that have already failed when a run that
// does not wait ends: the step succeeds, but the failure is not quiet.
func (r *run) warnFailed() {
	for _, b := range r.res.Builds {
		if b.ended() {
			r.warn(b.failure() + "; a later apply rebuilds it")
		}
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
