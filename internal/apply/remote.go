package apply

import (
	"context"
	"fmt"
	"slices"

	"golang.org/x/sync/errgroup"

	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
)

// Metadata keys this tool writes. Build metadata names the commit, the spec
// digest and the operation; template metadata names the creating commit.
const (
	metaManagedBy      = "managed_by"
	metaManagedByValue = "sandbox-templates-action"
	metaCommit         = "commit_sha"
	metaDigest         = "spec_digest"
	metaRepository     = "repository"
	metaCreatedCommit  = "sandbox_templates_action_commit"
)

// remoteTemplate is what the run learned of one remote template.
type remoteTemplate struct {
	row    miosa.ListRow
	builds []miosa.Build
	tpl    *miosa.Template // fetched only when the builds leave a question open
}

// readRemote lists the templates once, then reads the builds of every
// template the repository manages. It reports whether it succeeded.
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
	// A row matched by both its name and its slug is read once.
	seen := map[*remoteTemplate]bool{}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.cfg.Concurrency)
	for name, rt := range r.remote {
		if seen[rt] {
			continue
		}
		seen[rt] = true
		g.Go(func() error {
			builds, err := r.api.ListBuilds(gctx, rt.row.ID)
			if err != nil {
				return fmt.Errorf("list builds of %s: %w", name, err)
			}
			rt.builds = newestFirst(builds)
			if !needsTemplate(rt.builds, r.digests[name], r.cfg.Commit) {
				return nil
			}
			tpl, err := r.api.GetTemplate(gctx, rt.row.ID)
			if err != nil {
				return fmt.Errorf("get template %s: %w", name, err)
			}
			rt.tpl = tpl
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		if ctx.Err() == nil {
			r.problem(err.Error())
		}
		return false
	}
	r.allRemote = all
	return true
}

// refreshRemote reads the templates whose builds, now that the server's
// normalized specs are known, match in a way only the template can settle.
func (r *run) refreshRemote(ctx context.Context, tpls []*spec.Template) bool {
	seen := map[*remoteTemplate]bool{}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.cfg.Concurrency)
	for _, t := range tpls {
		rt := r.remote[t.Name]
		if rt == nil || rt.tpl != nil || seen[rt] || !needsTemplate(rt.builds, r.digests[t.Name], r.cfg.Commit) {
			continue
		}
		seen[rt] = true
		g.Go(func() error {
			tpl, err := r.api.GetTemplate(gctx, rt.row.ID)
			if err != nil {
				return fmt.Errorf("get template %s: %w", t.Name, err)
			}
			rt.tpl = tpl
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		if ctx.Err() == nil {
			r.problem(err.Error())
		}
		return false
	}
	return true
}

// needsTemplate says whether the builds alone cannot tell the plan what it
// needs: a template without builds, builds that carry no spec, or a build of
// the wanted spec that may be the one its create made, by the server's hand or
// at this commit (only the template's metadata tells which commit created it).
func needsTemplate(builds []miosa.Build, digests []string, commit string) bool {
	if len(builds) == 0 {
		return true
	}
	opaque := false
	for i, b := range builds {
		rb := toPlanBuild(b)
		if len(rb.Digests) == 0 {
			opaque = true
			continue
		}
		if plan.Overlaps(rb.Digests, digests) {
			return rb.Commit == "" || (rb.Commit == commit && i == len(builds)-1)
		}
	}
	return opaque
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

func toPlanBuild(b miosa.Build) plan.RemoteBuild {
	rb := plan.RemoteBuild{ID: b.ID, State: b.State}
	if len(b.BuildSpec) > 0 {
		rb.Digests = append(rb.Digests, spec.Digest(b.BuildSpec))
	}
	if metaString(b.Metadata, metaManagedBy) == metaManagedByValue {
		if d := metaString(b.Metadata, metaDigest); d != "" {
			rb.Digests = append(rb.Digests, d)
		}
		rb.Commit = metaString(b.Metadata, metaCommit)
	}
	return rb
}

func (r *run) computePlan() {
	remote := make([]plan.Remote, 0, len(r.allRemote))
	for _, rt := range r.allRemote {
		pr := plan.Remote{ID: rt.row.ID, Name: rt.row.Name, Slug: rt.row.Slug, Status: rt.row.Status, BuiltIn: rt.row.BuiltIn}
		if rt.builds != nil {
			pr.Builds = make([]plan.RemoteBuild, len(rt.builds))
			for i, b := range rt.builds {
				pr.Builds[i] = toPlanBuild(b)
			}
		}
		if t := rt.tpl; t != nil {
			if t.Slug != "" {
				pr.Slug = t.Slug
			}
			if t.Status != "" {
				pr.Status = t.Status
			}
			if len(t.BuildSpec) > 0 {
				pr.SpecDigests = []string{spec.Digest(t.BuildSpec)}
			}
			pr.CreatedCommit = metaString(t.Metadata, metaCreatedCommit)
		}
		remote = append(remote, pr)
	}
	r.res.Plan = plan.Compute(r.desired(), remote, plan.Options{Mode: r.cfg.BuildMode, Commit: r.cfg.Commit})
	r.res.Planned = true
	for _, it := range r.res.Plan.Items {
		if it.TemplateID != "" {
			r.res.TemplateIDs[it.Name] = it.TemplateID
		}
	}
}
