package apply

import (
	"context"
	"fmt"
	"maps"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
	"github.com/miosa-dev/sandbox-templates-action/internal/textsafe"
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
			var how string
			var err error
			switch {
			case it.Done():
				b, how = r.adopted(it), "build already made at this commit"
			case it.Action == plan.Create && it.Resume:
				// Replayed: an earlier attempt made the template, and any
				// build the server queued for it.
				b, how, err = r.build0(ctx, it.Name, &BuildResult{Name: it.Name, TemplateID: it.TemplateID, Action: opCreate, Replayed: true}, r.key(it.Name, opCreate))
				how = "created earlier at this commit; " + how
			case it.Action == plan.Create:
				b, how, err = r.create(ctx, it)
			default:
				b, err = r.build(ctx, it)
				how = "triggered build"
			}
			if err != nil && ctx.Err() == nil {
				r.problem(fmt.Sprintf("%s: %v", it.Name, err))
			}
			if b != nil {
				r.record(*b, how)
			}
			return nil
		})
	}
	_ = g.Wait() // workers report through r.problem
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

func (r *run) key(name, op string) string {
	return IdempotencyKey(r.cfg.Repository, name, r.cfg.Commit, r.digests[name][0], op)
}

// adopted reports a build that an earlier attempt at this commit made.
func (r *run) adopted(it plan.Item) *BuildResult {
	b := BuildResult{Name: it.Name, TemplateID: it.TemplateID, BuildID: it.Adopt, Action: it.Action.String(), Replayed: true,
		IdempotencyKey: r.key(it.Name, opCreate)}
	for _, rb := range r.remote[it.Name].builds {
		if rb.ID != it.Adopt {
			continue
		}
		fillState(&b, &rb)
		// A build this tool triggered carries its metadata; one the server
		// queued on create does not, and came from the create's key.
		if toPlanBuild(rb).Commit != "" {
			b.IdempotencyKey = r.key(it.Name, opBuild)
		}
	}
	return &b
}

// maxErrorMessage bounds a build's error message in outputs and summaries.
const maxErrorMessage = 1000

func fillState(b *BuildResult, mb *miosa.Build) {
	b.State = mb.State
	b.ErrorCode = mb.ErrorCode
	b.ErrorMessage = textsafe.Truncate(mb.ErrorMessage, maxErrorMessage)
	b.LogURL = mb.LogURL
}

// create creates the template, then adopts the build the server queues by
// itself, and triggers one only when none appears.
func (r *run) create(ctx context.Context, it plan.Item) (*BuildResult, string, error) {
	t := r.byName[it.Name]
	meta := map[string]string{}
	maps.Copy(meta, t.Metadata)
	meta[metaCreatedCommit] = r.cfg.Commit
	key := r.key(it.Name, opCreate)
	tpl, err := r.api.CreateTemplate(ctx, key, miosa.CreateTemplate{
		Name: t.Name, Description: t.Description, Metadata: meta, BuildSpec: t.BuildSpec,
	})
	if err != nil {
		return nil, "", fmt.Errorf("create template: %w", explain(err, key))
	}
	r.mu.Lock()
	r.res.TemplateIDs[it.Name] = tpl.ID
	r.mu.Unlock()
	res := &BuildResult{Name: it.Name, TemplateID: tpl.ID, Action: opCreate, Replayed: tpl.Replayed}
	b, how, err := r.build0(ctx, it.Name, res, key)
	return b, "created; " + how, err
}

// build0 gives a newly created template its first build: it adopts the
// build the server queued on create (reported under the create's key), and
// triggers one only when none appears.
func (r *run) build0(ctx context.Context, name string, res *BuildResult, createKey string) (*BuildResult, string, error) {
	queued, err := r.queuedBuild(ctx, res.TemplateID)
	if err != nil {
		return res, "no build yet", err
	}
	if queued != nil {
		res.BuildID, res.IdempotencyKey = queued.ID, createKey
		fillState(res, queued)
		return res, "adopted the build the server queued", nil
	}
	b, bkey, err := r.createBuild(ctx, name, res.TemplateID)
	if err != nil {
		return res, "no build yet", err
	}
	res.BuildID, res.IdempotencyKey, res.Replayed = b.ID, bkey, b.Replayed
	fillState(res, b)
	return res, "triggered build", nil
}

// queuedBuild looks for the build that creating a template queued, about
// once a second and a last time when AdoptGrace has passed: the server may
// queue it a moment after answering the create. Once a whole grace period
// has passed with no build, the server evidently does not build on create,
// and creates that start after that look once only.
func (r *run) queuedBuild(ctx context.Context, templateID string) (*miosa.Build, error) {
	once := r.noAutoBuild.Load()
	deadline := time.Now().Add(r.cfg.AdoptGrace)
	for {
		builds, err := r.api.ListBuilds(ctx, templateID)
		if err != nil {
			return nil, fmt.Errorf("list builds: %w", err)
		}
		if len(builds) > 0 {
			b := newestFirst(builds)[0]
			return &b, nil
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
	b, key, err := r.createBuild(ctx, it.Name, it.TemplateID)
	if err != nil {
		return nil, err
	}
	res := &BuildResult{Name: it.Name, TemplateID: it.TemplateID, BuildID: b.ID, Action: opBuild, IdempotencyKey: key, Replayed: b.Replayed}
	fillState(res, b)
	return res, nil
}

// createBuild sends the one build request a template gets at a commit. Its
// body depends only on the commit, the repository and the spec, like its
// key, so every attempt sends the same body under the same key.
func (r *run) createBuild(ctx context.Context, name, templateID string) (*miosa.Build, string, error) {
	key := r.key(name, opBuild)
	b, err := r.api.CreateBuild(ctx, templateID, key, miosa.CreateBuild{
		BuildSpec: r.byName[name].BuildSpec,
		Metadata: map[string]string{
			metaManagedBy:  metaManagedByValue,
			metaCommit:     r.cfg.Commit,
			metaDigest:     r.digests[name][0],
			metaRepository: r.cfg.Repository,
		},
	})
	if err != nil {
		return nil, key, fmt.Errorf("create build: %w", explain(err, key))
	}
	return b, key, nil
}

// explain adds the likely cause to an idempotency payload mismatch.
func explain(err error, key string) error {
	if !miosa.IsPayloadMismatch(err) {
		return err
	}
	return fmt.Errorf("%w: the server saw idempotency key %s before with a different request body. "+
		"The key comes from the repository, the template name, the commit, the spec digest and the operation, "+
		"so another tool or version of this action sent that request for the same commit, "+
		"or the repository's name or the template's description or metadata changed without a new commit; "+
		"push a new commit to get new keys", err, key)
}
