package apply

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
)

// applyPlan carries out the create and build items with bounded
// concurrency. A cancelled context stops new calls from starting.
func (r *run) applyPlan(ctx context.Context) {
	g := new(errgroup.Group)
	g.SetLimit(r.cfg.Concurrency)
	for _, it := range r.res.Plan.Items {
		if it.Action != plan.Create && it.Action != plan.Build {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if ctx.Err() != nil {
				return nil
			}
			var b *BuildResult
			var err error
			switch {
			case it.Done():
				b = r.adopted(it)
			case it.Action == plan.Create:
				b, err = r.create(ctx, it)
			default:
				b, err = r.build(ctx, it)
			}
			if err != nil {
				if ctx.Err() == nil {
					r.problem(fmt.Sprintf("%s: %v", it.Name, err))
				}
			}
			if b != nil {
				r.record(*b)
			}
			return nil
		})
	}
	_ = g.Wait() // workers report through r.problem
}

func (r *run) record(b BuildResult) {
	r.mu.Lock()
	r.res.Builds = append(r.res.Builds, b)
	if b.TemplateID != "" {
		r.res.TemplateIDs[b.Name] = b.TemplateID
	}
	r.mu.Unlock()
	how := "triggered build"
	switch {
	case b.Replayed:
		how = "build already made at this commit"
	case b.Action == opCreate && b.IdempotencyKey == r.key(b.Name, opCreate):
		how = "created; adopted the build the server queued"
	case b.Action == opCreate:
		how = "created; triggered build"
	}
	if b.BuildID == "" {
		r.rep.Info(fmt.Sprintf("%s: %s", b.Name, strings.TrimSuffix(how, "; triggered build")))
		return
	}
	r.rep.Info(fmt.Sprintf("%s: %s %s (%s)", b.Name, how, b.BuildID, b.State))
}

func (r *run) key(name, op string) string {
	return IdempotencyKey(r.cfg.Repository, name, r.cfg.Commit, r.digests[name][0], op)
}

// adopted reports a build that a previous attempt at this commit made.
func (r *run) adopted(it plan.Item) *BuildResult {
	b := BuildResult{Name: it.Name, TemplateID: it.TemplateID, BuildID: it.Adopt, Action: it.Action.String(), Replayed: true,
		IdempotencyKey: r.key(it.Name, opCreate)}
	if rt := r.remote[it.Name]; rt != nil {
		for _, rb := range rt.builds {
			if rb.ID != it.Adopt {
				continue
			}
			fillState(&b, &rb)
			// A build this tool triggered carries its metadata; one the
			// server queued on create does not.
			if toPlanBuild(rb).Commit != "" {
				b.IdempotencyKey = r.key(it.Name, opBuild)
			}
		}
	}
	return &b
}

func fillState(b *BuildResult, mb *miosa.Build) {
	b.State = mb.State
	b.ErrorCode = mb.ErrorCode
	b.ErrorMessage = mb.ErrorMessage
	b.LogURL = mb.LogURL
}

// create creates the template, then adopts the build the server queues by
// itself, and triggers one only when none appears.
func (r *run) create(ctx context.Context, it plan.Item) (*BuildResult, error) {
	t := r.byName[it.Name]
	meta := map[string]string{}
	maps.Copy(meta, t.Metadata)
	meta[metaCreatedCommit] = r.cfg.Commit
	meta[metaCreatedDigest] = r.digests[it.Name][0]
	key := r.key(it.Name, opCreate)
	tpl, err := r.api.CreateTemplate(ctx, key, miosa.CreateTemplate{
		Name: t.Name, Description: t.Description, Metadata: meta, BuildSpec: t.BuildSpec,
	})
	if err != nil {
		return nil, fmt.Errorf("create template: %w", err)
	}
	r.mu.Lock()
	r.res.TemplateIDs[it.Name] = tpl.ID
	r.mu.Unlock()
	res := &BuildResult{Name: it.Name, TemplateID: tpl.ID, Action: opCreate, Replayed: tpl.Replayed}

	queued, err := r.queuedBuild(ctx, tpl.ID)
	if err != nil {
		return res, err
	}
	if queued != nil {
		res.BuildID, res.IdempotencyKey = queued.ID, key
		fillState(res, queued)
		return res, nil
	}
	bkey := r.key(it.Name, opBuild)
	b, err := r.api.CreateBuild(ctx, tpl.ID, bkey, miosa.CreateBuild{BuildSpec: t.BuildSpec, Metadata: r.buildMeta(it.Name, opCreate)})
	if err != nil {
		return res, fmt.Errorf("create build: %w", err)
	}
	res.BuildID, res.IdempotencyKey, res.Replayed = b.ID, bkey, b.Replayed
	fillState(res, b)
	return res, nil
}

// queuedBuild looks for the build that creating a template queued, once at
// once and once more after the grace period.
func (r *run) queuedBuild(ctx context.Context, templateID string) (*miosa.Build, error) {
	for attempt := 0; ; attempt++ {
		builds, err := r.api.ListBuilds(ctx, templateID)
		if err != nil {
			return nil, fmt.Errorf("list builds: %w", err)
		}
		if len(builds) > 0 {
			return &builds[0], nil
		}
		if attempt > 0 || r.cfg.AdoptGrace <= 0 {
			return nil, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(r.cfg.AdoptGrace):
		}
	}
}

// build triggers a build of the template with the repository's spec.
func (r *run) build(ctx context.Context, it plan.Item) (*BuildResult, error) {
	t := r.byName[it.Name]
	key := r.key(it.Name, opBuild)
	b, err := r.api.CreateBuild(ctx, it.TemplateID, key, miosa.CreateBuild{BuildSpec: t.BuildSpec, Metadata: r.buildMeta(it.Name, opBuild)})
	if err != nil {
		if miosa.IsPayloadMismatch(err) {
			return nil, fmt.Errorf("create build: %w (the idempotency key %s comes from the commit, the template and its spec; the server saw it before with a different request body, for example after the file was edited without a new commit: commit the change and run again)", err, key)
		}
		return nil, fmt.Errorf("create build: %w", err)
	}
	res := &BuildResult{Name: it.Name, TemplateID: it.TemplateID, BuildID: b.ID, Action: opBuild, IdempotencyKey: key, Replayed: b.Replayed}
	fillState(res, b)
	return res, nil
}

func (r *run) buildMeta(name, op string) map[string]string {
	return map[string]string{
		metaManagedBy:  metaManagedByValue,
		metaCommit:     r.cfg.Commit,
		metaDigest:     r.digests[name][0],
		metaOperation:  op,
		metaRepository: r.cfg.Repository,
	}
}
