package apply

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
)

// Metadata keys this tool writes into the builds it triggers. Nothing
// depends on the server keeping them: when it does, they sharpen the
// rollback guard.
const (
	metaManagedBy      = "managed_by"
	metaManagedByValue = "sandbox-templates-action"
	metaCommit         = "commit_sha"
	metaCommitTime     = "commit_time"
	metaDigest         = "spec_digest"
	metaRepository     = "repository"
)

// remoteTemplate is what the run learned of one remote template.
type remoteTemplate struct {
	row     miosa.ListRow
	builds  []miosa.Build // newest first; nil when not read
	readErr error
	// spec stands in for the served build's spec when the build carries
	// none: the template's own build_spec.
	spec map[string]any
}

// readRemote lists the templates once, then reads the builds of every
// template the repository manages: one read each. A template whose builds
// cannot be read is planned as unreadable; the others go on. It reports
// whether the list succeeded.
func (r *run) readRemote(ctx context.Context) bool {
	rows, err := r.api.ListTemplates(ctx, false)
	if err != nil {
		if ctx.Err() == nil {
			r.problem(fmt.Sprintf("list templates: %v", err))
		}
		return false
	}
	r.remote = map[string]*remoteTemplate{}
	var all []*remoteTemplate
	for _, row := range rows {
		rt := &remoteTemplate{row: row}
		all = append(all, rt)
		if row.BuiltIn {
			continue
		}
		for _, k := range []string{row.Name, row.Slug} {
			if _, want := r.byName[k]; want && r.remote[k] == nil {
				r.remote[k] = rt
			}
		}
	}
	r.allRemote = all
	r.matchBySlug(ctx, all)
	// A row matched by both its name and its slug is read once.
	seen := map[*remoteTemplate]bool{}
	g := new(errgroup.Group)
	g.SetLimit(r.cfg.Concurrency)
	for name, rt := range r.remote {
		if seen[rt] {
			continue
		}
		seen[rt] = true
		g.Go(func() error {
			rt.readErr = r.readBuilds(ctx, name, rt)
			return nil
		})
	}
	_ = g.Wait()
	if ctx.Err() != nil {
		return false
	}
	for name, rt := range r.remote {
		if rt.readErr != nil && r.byName[name] != nil {
			r.problem(fmt.Sprintf("%s: %v", name, rt.readErr))
		}
	}
	return true
}

// matchBySlug finds the templates whose list rows show another name than
// the file's (a template made elsewhere as "Node 22", slug node-22): list
// rows carry no slug, so when rows and files are left unmatched, each
// unmatched file's name is looked up as a slug, once.
func (r *run) matchBySlug(ctx context.Context, all []*remoteTemplate) {
	matched := map[*remoteTemplate]bool{}
	for _, rt := range r.remote {
		matched[rt] = true
	}
	byID := map[string]*remoteTemplate{}
	for _, rt := range all {
		if !rt.row.BuiltIn && !matched[rt] {
			byID[rt.row.ID] = rt
		}
	}
	if len(byID) == 0 {
		return
	}
	var missing []string
	for name := range r.byName {
		if r.remote[name] == nil {
			missing = append(missing, name)
		}
	}
	var mu sync.Mutex
	g := new(errgroup.Group)
	g.SetLimit(r.cfg.Concurrency)
	for _, name := range missing {
		g.Go(func() error {
			tpl, err := r.api.GetTemplate(ctx, name)
			if err != nil {
				return nil // not there (404), or unreadable: planned from the list alone
			}
			mu.Lock()
			defer mu.Unlock()
			if rt := byID[tpl.ID]; rt != nil && (tpl.Slug == name || tpl.Name == name) {
				rt.row.Slug = tpl.Slug
				r.remote[name] = rt
			}
			return nil
		})
	}
	_ = g.Wait()
}

// readBuilds reads one template's builds; when the served build does not
// say which spec it used, the template's own spec stands in for it.
func (r *run) readBuilds(ctx context.Context, name string, rt *remoteTemplate) error {
	builds, err := r.api.ListBuilds(ctx, rt.row.ID)
	if err != nil {
		return fmt.Errorf("list builds: %w", err)
	}
	rt.builds = newestFirst(builds)
	if rt.builds == nil {
		rt.builds = []miosa.Build{}
	}
	if served, ok := plan.Served(r.planBuilds(rt)); !ok || served.Digest != "" {
		return nil
	}
	tpl, err := r.api.GetTemplate(ctx, rt.row.ID)
	if err != nil {
		return fmt.Errorf("get template %s: %w", name, err)
	}
	rt.spec = tpl.BuildSpec
	return nil
}

// newestFirst orders builds by creation time, newest first, when every
// build says when it was created; otherwise it keeps the server's order,
// which is newest first.
func newestFirst(builds []miosa.Build) []miosa.Build {
	for _, b := range builds {
		if b.InsertedAt == nil {
			return builds
		}
	}
	out := slices.Clone(builds)
	slices.SortStableFunc(out, func(a, b miosa.Build) int { return b.InsertedAt.Compare(*a.InsertedAt) })
	return out
}

func metaString(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// toPlanBuild is a build as the plan sees it.
func toPlanBuild(b miosa.Build) plan.RemoteBuild {
	rb := plan.RemoteBuild{ID: b.ID, State: b.State, ErrorCode: b.ErrorCode, Spec: b.BuildSpec}
	if len(b.BuildSpec) > 0 {
		rb.Digest = spec.Digest(b.BuildSpec)
	}
	if b.InsertedAt != nil {
		rb.InsertedAt = *b.InsertedAt
	}
	if metaString(b.Metadata, metaManagedBy) == metaManagedByValue {
		rb.Commit = metaString(b.Metadata, metaCommit)
		if t, err := time.Parse(time.RFC3339, metaString(b.Metadata, metaCommitTime)); err == nil {
			rb.CommitTime = t
		}
	}
	return rb
}

// planBuilds are a remote template's builds as the plan sees them.
func (r *run) planBuilds(rt *remoteTemplate) []plan.RemoteBuild {
	if rt.builds == nil {
		return nil
	}
	out := make([]plan.RemoteBuild, len(rt.builds))
	for i, b := range rt.builds {
		out[i] = toPlanBuild(b)
	}
	if len(rt.spec) > 0 {
		for i := range out {
			if out[i].State != plan.StateCancelled {
				if out[i].Digest == "" {
					out[i].Spec, out[i].Digest = rt.spec, spec.Digest(rt.spec)
				}
				break
			}
		}
	}
	return out
}

func (r *run) toPlanRemote(rt *remoteTemplate) plan.Remote {
	pr := plan.Remote{ID: rt.row.ID, Name: rt.row.Name, Slug: rt.row.Slug, Status: rt.row.Status,
		Description: rt.row.Description, BuiltIn: rt.row.BuiltIn, Builds: r.planBuilds(rt)}
	if rt.readErr != nil {
		pr.ReadError = rt.readErr.Error()
	}
	return pr
}

func (r *run) planOptions() plan.Options {
	return plan.Options{Mode: r.cfg.BuildMode, Commit: r.cfg.Commit, CommitTime: r.cfg.CommitTime,
		AllowRollback: r.cfg.AllowRollback, Managed: r.names, History: r.history}
}

func (r *run) computePlan() {
	remote := make([]plan.Remote, 0, len(r.allRemote))
	for _, rt := range r.allRemote {
		remote = append(remote, r.toPlanRemote(rt))
	}
	r.res.Plan = plan.Compute(r.desired(), remote, r.planOptions())
	r.res.Planned = true
	for _, it := range r.res.Plan.Items {
		if it.TemplateID != "" {
			r.res.TemplateIDs[it.Name] = it.TemplateID
		}
	}
}

// gatherHistory reads, for each refused template, the specs its file held
// at the commit's ancestors, and plans again with that evidence: a served
// spec found there comes from older history, so replacing it is no
// rollback.
func (r *run) gatherHistory(ctx context.Context) {
	if r.cfg.History == nil || r.res.Plan.Count(plan.Refused) == 0 {
		return
	}
	var mu sync.Mutex
	r.history = map[string][]string{}
	g := new(errgroup.Group)
	g.SetLimit(r.cfg.Concurrency)
	for _, it := range r.res.Plan.Items {
		if it.Action != plan.Refused {
			continue
		}
		g.Go(func() error {
			d := r.cfg.History(ctx, it.File)
			mu.Lock()
			r.history[it.Name] = d
			mu.Unlock()
			return nil
		})
	}
	_ = g.Wait()
	r.computePlan()
}
