package ghaction

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/miosa-dev/sandbox-templates-action/internal/github"
	"github.com/miosa-dev/sandbox-templates-action/internal/github/githubtest"
	"github.com/miosa-dev/sandbox-templates-action/internal/run"
	"github.com/miosa-dev/sandbox-templates-action/internal/settings"
	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
)

// Scope auto narrows push and workflow_run runs that have a token; every
// other run reads everything, and says why.
func TestFullScope(t *testing.T) {
	t.Parallel()
	tests := []struct {
		scope, event string
		token        bool
		want         string // "" to ask GitHub
	}{
		{settings.ScopeAuto, "push", true, ""},
		{settings.ScopeAuto, "workflow_run", true, ""},
		{settings.ScopeAll, "push", true, "scope: all"},
		{settings.ScopeAuto, "schedule", true, "a schedule run reads every template"},
		{settings.ScopeAuto, "workflow_dispatch", true, "a workflow_dispatch run reads every template"},
		{settings.ScopeAuto, "release", true, "a release run reads every template"},
		{settings.ScopeAuto, "push", false, "no github-token"},
	}
	for _, tt := range tests {
		if got := fullScope(tt.scope, tt.event, tt.token); tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
			t.Errorf("fullScope(%s, %s, %v) = %q, want %q", tt.scope, tt.event, tt.token, got, tt.want)
		}
	}
}

// blob is git's id of a file's content.
func blob(content string) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00%s", len(content), content)
	return hex.EncodeToString(h.Sum(nil))
}

// Scope auto from GitHub: this action's newest deployment, when its latest
// status is success (or in_progress: the templates it writes are read too),
// and the files whose content differs from what its commit held; every
// answer it cannot give is a full read, with why.
func TestGitHubScope(t *testing.T) {
	t.Parallel()
	ours := json.RawMessage(`{"tool":"sandbox-templates-action","patterns":["sandbox-templates/*.yaml","sandbox-templates/*.yml"]}`)
	files0 := map[string]string{"sandbox-templates/a.yaml": "a0", "sandbox-templates/b.yaml": "b0", "sandbox-templates/c.yaml": "c0"}
	type repo struct {
		f              *githubtest.Server
		gh             *github.Client
		deployed, this string
		files          map[string]string // the workspace
	}
	// setup: a deployment of files0, then a push that changes b.
	setup := func(t *testing.T) repo {
		f := githubtest.New(githubtest.Options{Repository: "acme/platform"})
		t.Cleanup(f.Close)
		gh, err := github.New(github.Config{APIURL: f.URL(), Token: "ghs_fake_token", Repository: "acme/platform", UserAgent: "test"})
		if err != nil {
			t.Fatal(err)
		}
		r := repo{f: f, gh: gh, deployed: f.Push("main", files0), files: maps.Clone(files0)}
		r.files["sandbox-templates/b.yaml"] = "b1"
		r.this = f.Push("main", r.files)
		f.AddDeployment(r.deployed, "sandbox-templates", "success", ours)
		return r
	}
	orderFiles := func(files map[string]string) []run.OrderFile {
		var out []run.OrderFile
		for _, p := range []string{"sandbox-templates/a.yaml", "sandbox-templates/b.yaml", "sandbox-templates/c.yaml"} {
			out = append(out, run.OrderFile{Path: p, Blob: blob(files[p])})
		}
		return out
	}
	tests := []struct {
		name     string
		edit     func(t *testing.T, r *repo)
		base     func(r repo) string // "" for a full read
		changed  []string
		pending  []string
		why      string
		requests int
	}{
		{name: "one changed since the deployment", base: func(r repo) string { return r.deployed },
			changed: []string{"sandbox-templates/b.yaml"}, requests: 4},
		{name: "another tool's deployments and other environments are passed over",
			edit: func(t *testing.T, r *repo) {
				r.f.AddDeployment(r.this, "sandbox-templates", "success", json.RawMessage(`{"tool":"other"}`))
				r.f.AddDeployment(r.this, "staging", "success", ours)
			},
			base: func(r repo) string { return r.deployed }, changed: []string{"sandbox-templates/b.yaml"}, requests: 4},
		{name: "a newer deployment that failed: a full read",
			edit: func(t *testing.T, r *repo) {
				r.f.AddDeployment(r.this, "sandbox-templates", "failure", ours)
			},
			why: "the last deployment, of", requests: 2},
		{name: "a re-run of the deployed commit: a full read, so that its outputs name every build",
			edit: func(t *testing.T, r *repo) { r.f.AddDeployment(r.this, "sandbox-templates", "success", ours) },
			why:  "a re-run of", requests: 2},
		{name: "the workspace differs from the commit (a generated file)", edit: func(t *testing.T, r *repo) { r.files["sandbox-templates/c.yaml"] = "generated" },
			base: func(r repo) string { return r.deployed }, changed: []string{"sandbox-templates/b.yaml", "sandbox-templates/c.yaml"}, requests: 4},
		{name: "in progress: its writes are read", edit: func(t *testing.T, r *repo) {
			r.f.AddDeployment(r.deployed, "sandbox-templates", "in_progress",
				json.RawMessage(`{"tool":"sandbox-templates-action","patterns":["sandbox-templates/*.yaml","sandbox-templates/*.yml"],"pending":["a"],"pending_count":1}`))
		}, base: func(r repo) string { return r.deployed }, changed: []string{"sandbox-templates/b.yaml"}, pending: []string{"a"}, requests: 4},
		{name: "in progress, its writes cut", edit: func(t *testing.T, r *repo) {
			r.f.AddDeployment(r.this, "sandbox-templates", "in_progress",
				json.RawMessage(`{"tool":"sandbox-templates-action","patterns":["sandbox-templates/*.yaml","sandbox-templates/*.yml"],"pending":["a"],"pending_count":900}`))
		}, why: "names only 1 of its 900 pending templates", requests: 2},
		{name: "no deployment", edit: func(t *testing.T, r *repo) {
			r.f.AddFault(githubtest.Fault{Op: githubtest.OpDeployments, Status: http.StatusOK, Body: "[]"})
		}, why: "no earlier deployment to the environment sandbox-templates", requests: 1},
		{name: "no permission to read deployments", edit: func(t *testing.T, r *repo) {
			r.f.AddFault(githubtest.Fault{Op: githubtest.OpDeployments, Status: http.StatusForbidden, Message: "Resource not accessible by integration"})
		}, why: "the token may not read deployments", requests: 1},
		{name: "another path input", edit: func(t *testing.T, r *repo) {
			r.f.AddDeployment(r.this, "sandbox-templates", "success", json.RawMessage(`{"tool":"sandbox-templates-action","patterns":["t/*.yaml"]}`))
		}, why: "the path input differs", requests: 2},
		{name: "another api-url", edit: func(t *testing.T, r *repo) {
			r.f.AddDeployment(r.this, "sandbox-templates", "success",
				json.RawMessage(`{"tool":"sandbox-templates-action","patterns":["sandbox-templates/*.yaml","sandbox-templates/*.yml"],"api_url":"https://staging.example/api/v1"}`))
		}, why: "the api-url differs", requests: 2},
		{name: "not an ancestor (a force-push)", edit: func(t *testing.T, r *repo) {
			other := r.f.Commit([]string{r.deployed}, map[string]string{"x": "1"}) // beside this commit
			r.f.AddDeployment(other, "sandbox-templates", "success", ours)
		}, why: "this commit does not descend from", requests: 3},
		{name: "compare fails", edit: func(t *testing.T, r *repo) {
			r.f.AddFault(githubtest.Fault{Op: githubtest.OpCompare, Status: http.StatusNotFound})
		}, why: "GitHub could not compare", requests: 3},
		{name: "the deployment's files unreadable: the comparison's list stands in", edit: func(t *testing.T, r *repo) {
			r.f.AddFault(githubtest.Fault{Op: githubtest.OpContents, Status: http.StatusForbidden, Message: "nope"})
		}, base: func(r repo) string { return r.deployed }, changed: []string{"sandbox-templates/b.yaml"}, requests: 4},
		{name: "the deployment's files unreadable and the comparison cut at 300", edit: func(t *testing.T, r *repo) {
			many := maps.Clone(r.files)
			for i := range 300 {
				many[fmt.Sprintf("gen/%03d", i)] = "x"
			}
			r.this = r.f.Push("main", many)
			r.f.AddFault(githubtest.Fault{Op: githubtest.OpContents, Status: http.StatusForbidden, Message: "nope"})
		}, why: "could not be read", requests: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := setup(t)
			if tt.edit != nil {
				tt.edit(t, &r)
			}
			s := &recorder{gh: r.gh, env: "sandbox-templates", this: r.this, patterns: spec.DefaultPatterns}
			got := s.Since(context.Background(), orderFiles(r.files))
			want := run.ScopeAnswer{}
			if tt.base != nil {
				want.Base, want.Changed, want.Pending = tt.base(r), map[string]bool{}, map[string]bool{}
				for _, p := range tt.changed {
					want.Changed[p] = true
				}
				for _, n := range tt.pending {
					want.Pending[n] = true
				}
			}
			if tt.why != "" {
				if !strings.Contains(got.Why, tt.why) {
					t.Errorf("why %q, want %q", got.Why, tt.why)
				}
				want.Why = got.Why
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
			if n := r.gh.Requests(); n != tt.requests {
				t.Errorf("%d requests, want %d", n, tt.requests)
			}
		})
	}
	// Events and inputs that read everything, and runs with no file to
	// judge (build: always, no template has a row), only list the
	// deployments: the run's start, which the record compares with at the
	// end (overtaken).
	r := setup(t)
	for _, full := range []string{fullScope(settings.ScopeAll, "push", true), fullScope(settings.ScopeAuto, "schedule", true), ""} {
		rec := &recorder{gh: r.gh, full: full, env: "sandbox-templates", this: r.this, patterns: spec.DefaultPatterns}
		files := orderFiles(r.files)
		if full == "" {
			files = nil
		}
		before := r.gh.Requests()
		got := rec.Since(context.Background(), files)
		if got.Base != "" || full != "" && got.Why != full || full == "" && !strings.Contains(got.Why, "no template to judge") {
			t.Errorf("%q: %+v", full, got)
		}
		if n := r.gh.Requests() - before; n != 1 || !rec.seenOK || rec.seen == 0 {
			t.Errorf("%q: %d requests, seen %d (%v); want the deployments listed once", full, n, rec.seen, rec.seenOK)
		}
	}
	if got := (&recorder{}).Since(context.Background(), nil); got.Base != "" || !strings.Contains(got.Why, "no github-token") {
		t.Errorf("no client: %+v", got)
	}
}
