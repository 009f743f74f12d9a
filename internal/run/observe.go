package run

import (
	"context"
	"fmt"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
)

// remoteAPI is what a run needs of the Miosa API (a *miosa.Client).
type remoteAPI interface {
	ListTemplates(ctx context.Context, includeAliases bool) ([]miosa.ListRow, error)
	GetTemplate(ctx context.Context, idOrSlug string) (*miosa.Template, error)
	CreateTemplate(ctx context.Context, key string, req miosa.CreateTemplate) (*miosa.Template, error)
	BuildSpecSchema(ctx context.Context) ([]byte, error)
	Validate(ctx context.Context, buildSpec map[string]any) (*miosa.ValidateResult, error)
	// EachBuild reads a template's builds newest first, page by page,
	// until fn returns false (see readBuilds).
	EachBuild(ctx context.Context, templateID string, fn func(miosa.Build) bool) error
	CreateBuild(ctx context.Context, templateID, key string, req miosa.CreateBuild) (*miosa.Build, error)
	GetBuild(ctx context.Context, buildID string) (*miosa.Build, error)
	BuildLogTail(ctx context.Context, logURL string, limit int) (*miosa.LogTail, error)
}

// Metadata keys this tool writes into the builds it triggers (commit_time
// only in builds of earlier versions: keyed bodies hold nothing that
// varies by event now). Nothing depends on the server keeping them: when
// it does, they sharpen the clock rule.
const (
	metaManagedBy      = "managed_by"
	metaManagedByValue = "sandbox-templates-action"
	metaCommit         = "commit_sha"
	metaCommitTime     = "commit_time"
	metaDigest         = "spec_digest"
	metaRepository     = "repository"
)

// observation is the Observe stage's value: the server's state of every
// template the files name, read once.
type observation struct {
	// remote are every row of the list as the plan sees them, built-ins
	// included; a row the files name holds its builds and the build that
	// serves it.
	remote []plan.Remote
	// byName: template name -> index in remote of the row it matched.
	byName map[string]int
	// rows: template id -> the list row, for waiting.
	rows map[string]miosa.ListRow
	// validated: template name -> the server's verdict on its spec, for the
	// specs the decision needs it for.
	validated map[string]verdict
	// byNameOnly: template names matched to a row by its display name
	// alone (list rows carry no slug); confirmed by slug before a write.
	byNameOnly map[string]bool
	// defaults: a spec's size ("" for none) -> the fields the server fills
	// in; nil when the server could not say (no validate endpoint).
	defaults map[string]map[string]any
	// order: template file -> what the deploy target says of its content.
	order map[string]plan.Order
	// refuseUnordered is why writes with no order are refused, if they are.
	refuseUnordered string
	diags           diag.List
}

// verdict is the validate endpoint's answer about one spec.
type verdict struct {
	diags      diag.List
	normalized string         // digest of the server's normalized form; "" when not told
	spec       map[string]any // the server's normalized form; nil when not told
}

// observe is the first part of the Observe stage: one list, and the
// builds of every template the files name (one read each; with a Scope,
// of those it cannot judge from the list alone); the run then
// adds the server's defaults and validate answers, the identity of rows
// matched by display name, and the commit order. It reports false when the
// list failed: nothing can be decided then.
func (e *env) observe(ctx context.Context, l *loaded) (*observation, bool) {
	rows, err := e.api.ListTemplates(ctx, false)
	if err != nil {
		o := &observation{}
		if ctx.Err() == nil {
			o.diags = append(o.diags, problem(RuleAPI, fmt.Sprintf("list templates: %v", err)))
		}
		return o, false
	}
	o := &observation{byName: map[string]int{}, rows: map[string]miosa.ListRow{}, byNameOnly: map[string]bool{}}
	index := map[string]int{} // row id -> index
	for i, row := range rows {
		o.rows[row.ID] = row
		index[row.ID] = i
		o.remote = append(o.remote, plan.Remote{ID: row.ID, Name: row.Name, Slug: row.Slug, Status: row.Status,
			Description: row.Description, BuiltIn: row.BuiltIn})
		if row.BuiltIn {
			continue
		}
		for _, k := range []string{row.Slug, row.Name} {
			if _, want := l.byName[k]; want {
				if _, dup := o.byName[k]; !dup {
					o.byName[k] = i
					o.byNameOnly[k] = k != row.Slug
				}
			}
		}
	}
	for name, id := range e.matchBySlug(ctx, l, rows, o.byName) {
		o.byName[name] = index[id]
		o.remote[index[id]].Slug = name
		o.byNameOnly[name] = false
	}
	// A row matched by both its name and its slug is read once.
	reads := map[int]string{}
	for name, i := range o.byName {
		reads[i] = name
	}
	e.narrow(ctx, l, o, reads) // the run's scope: rows judged from the list alone are not read
	type read struct {
		i int
		r plan.Remote
	}
	results := make(chan read, len(reads))
	g := new(errgroup.Group)
	g.SetLimit(e.cfg.Concurrency)
	for i, name := range reads {
		g.Go(func() error {
			results <- read{i, e.observeRow(ctx, name, o.remote[i])}
			return nil
		})
	}
	_ = g.Wait()
	close(results)
	for rd := range results {
		o.remote[rd.i] = rd.r
	}
	if ctx.Err() != nil {
		return o, false
	}
	for name, i := range o.byName {
		if r := o.remote[i]; r.ReadError != "" && l.byName[name] != nil {
			o.diags = append(o.diags, problem(RuleAPI, fmt.Sprintf("%s: %s", name, r.ReadError)))
		}
	}
	return o, true
}

// matchBySlug finds the templates whose list rows show another name than
// the file's (a template made elsewhere as "Node 22", slug node-22): list
// rows carry no slug, so when rows and files are left unmatched, each
// unmatched file's name is looked up as a slug, once. It returns template
// name -> row id.
func (e *env) matchBySlug(ctx context.Context, l *loaded, rows []miosa.ListRow, matched map[string]int) map[string]string {
	taken := map[int]bool{}
	for _, i := range matched {
		taken[i] = true
	}
	var free []string // ids of the rows no file matched by name
	for i, row := range rows {
		if !row.BuiltIn && !taken[i] {
			free = append(free, row.ID)
		}
	}
	var missing []string // names no row matched
	for name := range l.byName {
		if _, ok := matched[name]; !ok {
			missing = append(missing, name)
		}
	}
	if len(free) == 0 || len(missing) == 0 {
		return map[string]string{}
	}
	// Whichever side is smaller is looked up: each free row by id (which
	// shows its slug), or each missing name as a slug.
	keys, byRow := missing, len(free) < len(missing)
	if byRow {
		keys = free
	}
	found := make([]*miosa.Template, len(keys))
	g := new(errgroup.Group)
	g.SetLimit(e.cfg.Concurrency)
	for i, k := range keys {
		g.Go(func() error {
			if tpl, err := e.api.GetTemplate(ctx, k); err == nil {
				found[i] = tpl
			}
			return nil // not there (404), or unreadable: planned from the list alone
		})
	}
	_ = g.Wait()
	isFree := map[string]bool{}
	for _, id := range free {
		isFree[id] = true
	}
	out, used := map[string]string{}, map[string]bool{}
	for i, tpl := range found {
		if tpl == nil || !isFree[tpl.ID] || used[tpl.ID] {
			continue
		}
		name := keys[i]
		switch {
		case byRow:
			name = tpl.Slug
		case tpl.Slug != name && tpl.Name != name:
			continue
		}
		if _, taken := out[name]; !taken && slices.Contains(missing, name) {
			out[name], used[tpl.ID] = tpl.ID, true
		}
	}
	return out
}

// observeRow reads one template's builds, as far as the decision needs
// them (readBuilds), and returns it as the plan sees it; when the served
// build does not say which spec it used, the template's own spec stands in
// for it.
func (e *env) observeRow(ctx context.Context, name string, r plan.Remote) plan.Remote {
	builds, err := readBuilds(ctx, e.api, r.ID, e.cfg.BuildMode == plan.BuildAlways)
	if err != nil {
		r.ReadError = fmt.Sprintf("list builds: %v", err)
		return r
	}
	r.SetBuilds(planBuilds(builds, nil))
	if r.HasServing && r.Serving.Digest == "" {
		tpl, err := e.api.GetTemplate(ctx, r.ID)
		if err != nil {
			r.ReadError = fmt.Sprintf("get template %s: %v", name, err)
			r.SetBuilds(nil)
			return r
		}
		r.SetBuilds(planBuilds(builds, tpl.BuildSpec))
	}
	return r
}

// observeOne reads one template afresh, by id or slug: after a create met
// it. The error is the read's.
func (e *env) observeOne(ctx context.Context, name, idOrSlug string) (plan.Remote, error) {
	tpl, err := e.api.GetTemplate(ctx, idOrSlug)
	if err != nil {
		return plan.Remote{}, err
	}
	r := plan.Remote{ID: tpl.ID, Name: tpl.Name, Slug: tpl.Slug, Status: tpl.Status, Description: tpl.Description}
	r = e.observeRow(ctx, name, r)
	if r.ReadError != "" {
		return r, fmt.Errorf("%s", r.ReadError)
	}
	return r, nil
}

// planBuilds are builds as the plan sees them, newest first. tplSpec, when
// set, stands in for the spec of the build that serves.
func planBuilds(builds []miosa.Build, tplSpec map[string]any) []plan.RemoteBuild {
	builds = newestFirst(builds)
	out := make([]plan.RemoteBuild, len(builds))
	for i, b := range builds {
		out[i] = toPlanBuild(b)
	}
	if len(tplSpec) > 0 {
		for i := range out {
			if out[i].State != plan.StateCancelled {
				if out[i].Digest == "" {
					out[i].Spec, out[i].Digest = tplSpec, spec.Digest(tplSpec)
				}
				break
			}
		}
	}
	return out
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

// toPlanBuild is a build as the plan sees it: the one conversion of a
// served build, from the API's shape to the plan's.
func toPlanBuild(b miosa.Build) plan.RemoteBuild {
	rb := plan.RemoteBuild{ID: b.ID, State: b.State, ErrorCode: b.ErrorCode, Spec: b.BuildSpec,
		ErrorMessage: b.ErrorMessage, LogURL: b.LogURL}
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
