package ghaction

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"github.com/miosa-dev/sandbox-templates-action/internal/github"
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
	"github.com/miosa-dev/sandbox-templates-action/internal/run"
	"github.com/miosa-dev/sandbox-templates-action/internal/settings"
)

// scopeEvents are the events on which scope auto reads only what changed:
// a push to the target, and a run after another workflow's.
var scopeEvents = map[string]bool{"push": true, "workflow_run": true}

// fullScope says why a run reads every template's builds whatever GitHub
// holds (the event, the scope input, no token), or "" when scope auto asks
// GitHub.
func fullScope(scope, event string, hasToken bool) string {
	switch {
	case scope == settings.ScopeAll:
		return "scope: all"
	case !scopeEvents[event]:
		return fmt.Sprintf("a %s run reads every template (scope auto narrows push and workflow_run runs only)", event)
	case !hasToken:
		return "no github-token to find the last deployment (scope auto needs permissions: deployments: read)"
	}
	return ""
}

// recorder is the record of what is deployed, as GitHub deployments to one
// environment (a run.Record): the last deployment this action made says
// where every template served its file, or was being written. Only the
// newest of this action's deployments counts: a newer one that failed, or
// that was marked inactive, means the server may serve what no deployment
// names, and the next run reads everything.
//
// Since lists the environment's deployments in every run that has a
// token (1 request when the run reads everything anyway); scope auto costs
// 4: the deployments, the newest one's latest status, the comparison that
// proves this commit descends from its commit, and the files at that
// commit (a directory listing, or the tree). Writing costs 2 or 3: the
// deployments, and a new deployment and its status (or a status on this
// commit's own deployment). The end of the run lists the deployments once
// more before it records.
//
// What Since listed is the run's start: a deployment of this action to
// another commit made after it (overtaken) is another run's mark of writes
// this run may not have seen, and this run records no success, nor an
// in_progress that would vouch for templates it judged before them.
type recorder struct {
	gh        *github.Client // nil without a token
	full      string         // why every template is read, when the event or an input says so
	env       string         // the deployment environment
	this      string         // the run's commit
	patterns  []string       // the path input, as a deployment's payload records it
	api       string         // the api-url, as a deployment's payload records it
	workspace string         // the checkout, whose directories tell GitHub's listings' sizes
	runURL    string         // the run's page, each status's log URL

	mu sync.Mutex
	// seen is the newest deployment id of the environment when Since
	// listed them (0 for none); seenOK says it could.
	seen   int64
	seenOK bool
	// writing is the deployment Writing marked before the run's writes
	// (in_progress, or inactive), if any; writeErr why it could not.
	writing      *github.Deployment
	writingState string // the state Writing gave it
	writeErr     error
	wrote        bool // the run announced writes
}

// list lists the environment's newest maxLookups deployments, of every
// tool, newest first.
func (r *recorder) list(ctx context.Context) ([]github.Deployment, error) {
	return r.gh.Deployments(ctx, r.env, "", maxLookups)
}

// newestOf is this action's newest deployment among deps and its record, or
// nil when there is none.
func newestOf(deps []github.Deployment) (*github.Deployment, record) {
	for _, d := range deps {
		if rec, ok := ours(d); ok {
			return &d, rec
		}
	}
	return nil, record{}
}

// overtaken is the newest of deps that this action's Writing made for
// another commit (its record names pending writes) after Since listed the
// deployments, other than own: another run's mark of writes that may have
// changed what this run had read. Nil when there is none, or when Since
// could not list them.
func (r *recorder) overtaken(deps []github.Deployment, own int64) *github.Deployment {
	r.mu.Lock()
	seen, ok := r.seen, r.seenOK
	r.mu.Unlock()
	if !ok {
		return nil
	}
	for _, d := range deps {
		if rec, mine := ours(d); mine && rec.PendingCount > 0 && d.ID > seen && d.ID != own && d.SHA != r.this {
			return &d
		}
	}
	return nil
}

// Since finds the last deployment and the files changed since. It lists the
// deployments first whenever it has a token, even for a run that reads
// everything: that list is the run's start (overtaken).
func (r *recorder) Since(ctx context.Context, files []run.OrderFile) run.ScopeAnswer {
	full := func(format string, args ...any) run.ScopeAnswer {
		return run.ScopeAnswer{Why: fmt.Sprintf(format, args...)}
	}
	if r.gh == nil {
		return full("%s", cmp.Or(r.full, "no github-token to find the last deployment"))
	}
	deps, err := r.list(ctx)
	if err == nil {
		r.mu.Lock()
		r.seen, r.seenOK = 0, true
		for _, d := range deps {
			r.seen = max(r.seen, d.ID)
		}
		r.mu.Unlock()
	}
	base, rec := newestOf(deps)
	switch {
	case r.full != "":
		return run.ScopeAnswer{Why: r.full}
	case len(files) == 0:
		return full("no template to judge from the list")
	case github.IsForbidden(err) || github.IsNotFound(err):
		return full("the token may not read deployments (permissions: deployments: read): %v", err)
	case err != nil:
		return full("the deployments could not be read: %v", err)
	case base == nil:
		return full("no earlier deployment to the environment %s (the first run that finds every template serving its file records one)", r.env)
	}
	at := plan.ShortSHA(base.SHA)
	state, err := r.gh.DeploymentState(ctx, base.ID)
	switch {
	case err != nil:
		return full("the state of the deployment of %s could not be read: %v", at, err)
	case state == github.DeploymentInProgress && rec.PendingCount > len(rec.Pending):
		return full("the deployment of %s is in progress, and its record names only %d of its %d pending templates", at, len(rec.Pending), rec.PendingCount)
	case state != github.DeploymentSuccess && state != github.DeploymentInProgress:
		return full("the last deployment, of %s, is %s: the server may serve what no deployment names", at, stateText(state))
	case !slices.Equal(rec.Patterns, r.patterns):
		return full("the path input differs from the one of the deployment of %s", at)
	case rec.API != r.api:
		return full("the api-url differs from the one of the deployment of %s", at)
	case base.SHA == r.this:
		// A re-run: its outputs name every template's build, as the first
		// attempt's may have.
		return full("a re-run of %s, the commit of the last deployment: every template is read, so that build-ids names each one's build", at)
	}
	var cmp github.Comparison
	if base.SHA != r.this {
		cmp, err = r.gh.Compare(ctx, base.SHA, r.this)
		switch {
		case err != nil:
			return full("GitHub could not compare this commit with the deployment of %s: %v", at, err)
		case cmp.Status != "ahead" && cmp.Status != "identical":
			return full("this commit does not descend from %s, the commit of the last deployment (GitHub says %s)", at, cmp.Status)
		}
	}
	changed, err := r.changed(ctx, base.SHA, files)
	switch {
	case err == nil:
	case base.SHA != r.this && cmp.FilesComplete:
		// The files could not be read: the comparison's list of changed
		// files stands in, when GitHub did not cut it.
		changed = map[string]bool{}
		for _, p := range cmp.Files {
			changed[p] = true
		}
	default:
		return full("the files at %s, the commit of the last deployment, could not be read: %v", at, err)
	}
	a := run.ScopeAnswer{Base: base.SHA, Changed: changed, Pending: map[string]bool{}}
	if state == github.DeploymentInProgress {
		for _, n := range rec.Pending {
			a.Pending[n] = true
		}
	}
	return a
}

// stateText names a deployment's state, "" as none.
func stateText(state string) string {
	if state == "" {
		return "without a status"
	}
	return state
}

// changed are the paths of files whose content at commit differs from the
// workspace's: absent there, or another blob.
func (r *recorder) changed(ctx context.Context, commit string, files []run.OrderFile) (map[string]bool, error) {
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = f.Path
	}
	blobs, err := r.gh.Blobs(ctx, commit, paths, dirSize(r.workspace, paths))
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, f := range files {
		if blobs[f.Path] != f.Blob {
			out[f.Path] = true
		}
	}
	return out, nil
}

// Writing marks the run's commit before its writes: in_progress when the
// run leaves no template alone, so that the next run reads the pending
// templates' builds and trusts the rest; inactive otherwise, so that no run
// takes an older deployment for what the server serves. It uses this
// commit's own deployment when it is the environment's newest and, for
// in_progress, its record names every pending template (a re-run), else a
// new deployment. It marks inactive, too, when another run marked writes
// since this one read the server (overtaken). What fails is kept for
// recordDeployment to say.
func (r *recorder) Writing(ctx context.Context, w run.Writes) {
	r.mu.Lock()
	r.wrote = true
	r.mu.Unlock()
	if r.gh == nil {
		return
	}
	state := github.DeploymentInProgress
	if !w.Complete {
		state = github.DeploymentInactive
	}
	d, state, err := r.markWriting(ctx, w, state)
	r.mu.Lock()
	r.writing, r.writingState, r.writeErr = d, state, err
	r.mu.Unlock()
}

// markWriting records the deployment of Writing, in state (or inactive,
// overtaken), and returns it and the state it was given.
func (r *recorder) markWriting(ctx context.Context, w run.Writes, state string) (*github.Deployment, string, error) {
	deps, err := r.list(ctx)
	if err != nil {
		return nil, state, err
	}
	last, rec := newestOf(deps)
	description := fmt.Sprintf("writing: %d of %d template(s) pending", len(w.Pending), len(w.Templates))
	if !w.Complete {
		description += "; others left alone"
	}
	if o := r.overtaken(deps, 0); o != nil && state == github.DeploymentInProgress {
		// Another run marked writes since this one read the server: this
		// run cannot vouch for the templates it does not write.
		state, description = github.DeploymentInactive, fmt.Sprintf("writing after deployment %d of %s", o.ID, plan.ShortSHA(o.SHA))
	}
	reuse := last != nil && last.SHA == r.this &&
		(!w.Complete || len(rec.Pending) == rec.PendingCount && subset(w.Pending, rec.Pending))
	if !reuse {
		d, err := r.create(ctx, w.Templates, w.Pending)
		if err != nil {
			return nil, state, err
		}
		last = &d
	}
	return last, state, r.gh.SetDeploymentState(ctx, last.ID, state, r.runURL, description)
}

// create makes a deployment of the run's commit whose record names
// templates and pending.
func (r *recorder) create(ctx context.Context, templates, pending []string) (github.Deployment, error) {
	templates = append([]string{}, slices.Sorted(slices.Values(templates))...)
	pending = append([]string{}, slices.Sorted(slices.Values(pending))...)
	rec := record{Tool: toolName, Patterns: r.patterns, API: r.api,
		Templates: templates[:min(len(templates), maxRecordNames)], Count: len(templates),
		Pending: pending[:min(len(pending), maxRecordNames)], PendingCount: len(pending)}
	return r.gh.CreateDeployment(ctx, github.NewDeployment{SHA: r.this, Environment: r.env, Payload: rec,
		Description: "Sandbox templates of " + plan.ShortSHA(r.this)})
}

// subset reports whether every name of a is in b.
func subset(a, b []string) bool {
	for _, n := range a {
		if !slices.Contains(b, n) {
			return false
		}
	}
	return true
}

// ours reports whether d is a deployment this action made, with its
// record.
func ours(d github.Deployment) (record, bool) {
	var rec record
	err := json.Unmarshal(d.Payload, &rec)
	return rec, err == nil && rec.Tool == toolName
}
