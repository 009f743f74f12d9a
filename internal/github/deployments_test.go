package github_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/miosa-dev/sandbox-templates-action/internal/github"
	"github.com/miosa-dev/sandbox-templates-action/internal/github/githubtest"
)

// A deployment is made of a commit SHA, without merging or required
// statuses, neither transient nor production; its status records the
// run's page; listing finds it by environment and commit, newest first.
func TestDeployments(t *testing.T) {
	t.Parallel()
	f, c := setup(t, githubtest.Options{Repository: repo})
	h := build(f)
	ctx := context.Background()
	if got, err := c.Deployments(ctx, "sandbox-templates", "", 10); err != nil || len(got) != 0 {
		t.Fatalf("no deployments: %+v, %v", got, err)
	}
	payload := map[string]any{"tool": "x", "templates": []string{"go", "python"}}
	d, err := c.CreateDeployment(ctx, github.NewDeployment{SHA: h.b, Environment: "sandbox-templates", Description: "of b", Payload: payload})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetDeploymentState(ctx, d.ID, github.DeploymentSuccess, "https://github.com/octo/templates/actions/runs/1", "2 templates"); err != nil {
		t.Fatal(err)
	}
	stored := f.Deployments()
	if len(stored) != 1 {
		t.Fatalf("%d deployments stored, want 1", len(stored))
	}
	s := stored[0]
	no := false
	want := githubtest.Deployment{ID: d.ID, SHA: h.b, Ref: h.b, Environment: "sandbox-templates", Description: "of b", Task: "deploy",
		Payload: s.Payload, AutoMerge: &no, RequiredContexts: []string{},
		Statuses: []githubtest.DeploymentStatus{{ID: s.Statuses[0].ID, State: "success", LogURL: "https://github.com/octo/templates/actions/runs/1", Description: "2 templates"}}}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("stored deployment (-want +got):\n%s", diff)
	}
	if !strings.Contains(string(s.Payload), `"templates":["go","python"]`) {
		t.Errorf("payload %s", s.Payload)
	}
	// Another deployment, of a, and one to another environment.
	older, err := c.CreateDeployment(ctx, github.NewDeployment{SHA: h.a, Environment: "sandbox-templates"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateDeployment(ctx, github.NewDeployment{SHA: h.b, Environment: "staging"}); err != nil {
		t.Fatal(err)
	}
	got, err := c.Deployments(ctx, "sandbox-templates", "", 10)
	if err != nil || len(got) != 2 || got[0].ID != older.ID || got[1].ID != d.ID || got[1].SHA != h.b {
		t.Errorf("deployments %+v, %v; want %d then %d", got, err, older.ID, d.ID)
	}
	var back map[string]any
	if err := json.Unmarshal(got[1].Payload, &back); err != nil || back["tool"] != "x" {
		t.Errorf("payload read back %s, %v", got[1].Payload, err)
	}
	if got, err := c.Deployments(ctx, "sandbox-templates", h.b, 10); err != nil || len(got) != 1 || got[0].ID != d.ID {
		t.Errorf("deployments of b %+v, %v", got, err)
	}
	for _, tt := range []struct {
		id   int64
		want string
	}{{d.ID, "success"}, {older.ID, ""}} {
		if state, err := c.DeploymentState(ctx, tt.id); err != nil || state != tt.want {
			t.Errorf("state of %d: %q, %v; want %q", tt.id, state, err, tt.want)
		}
	}
	// A newer success makes the older one inactive (auto_inactive).
	if err := c.SetDeploymentState(ctx, older.ID, github.DeploymentSuccess, "", ""); err != nil {
		t.Fatal(err)
	}
	if state, err := c.DeploymentState(ctx, d.ID); err != nil || state != github.DeploymentInactive {
		t.Errorf("state of the replaced deployment %q, %v; want inactive", state, err)
	}
	for _, r := range f.Requests() {
		if r.Op == githubtest.OpStatuses && r.RawQuery != "per_page=1" {
			t.Errorf("%s?%s reads more than the latest status", r.Path, r.RawQuery)
		}
		if r.Op == githubtest.OpDeployments && !strings.Contains(r.RawQuery, "environment=sandbox-templates") {
			t.Errorf("%s?%s does not name the environment", r.Path, r.RawQuery)
		}
	}
}

// GitHub's refusals are errors the caller can tell apart: a token that may
// not write deployments, a commit GitHub does not have, and bad arguments,
// refused before any request.
func TestDeploymentRefusals(t *testing.T) {
	t.Parallel()
	f, c := setup(t, githubtest.Options{Repository: repo})
	h := build(f)
	ctx := context.Background()
	_, err := c.CreateDeployment(ctx, github.NewDeployment{SHA: "1111111111111111111111111111111111111111", Environment: "e"})
	checkErr(t, err)
	if !github.IsUnknownRef(err) || github.IsForbidden(err) {
		t.Errorf("unknown commit: %v, want an unknown ref", err)
	}
	f.SetReadOnly(true)
	_, err = c.CreateDeployment(ctx, github.NewDeployment{SHA: h.a, Environment: "e"})
	if !github.IsForbidden(err) {
		t.Errorf("read-only token: %v, want forbidden", err)
	}
	f.SetReadOnly(false)
	f.AddFault(githubtest.Fault{Op: githubtest.OpDeployments, Status: http.StatusForbidden, Message: "Resource not accessible by integration"})
	if _, err := c.Deployments(ctx, "e", "", 10); !github.IsForbidden(err) {
		t.Errorf("list without permission: %v, want forbidden", err)
	}
	// A lost answer to a create is not repeated: the deployment may exist.
	f.AddFault(githubtest.Fault{Op: githubtest.OpCreateDeployment, Status: http.StatusBadGateway})
	before := f.Count(githubtest.OpCreateDeployment)
	if _, err := c.CreateDeployment(ctx, github.NewDeployment{SHA: h.a, Environment: "e"}); err == nil {
		t.Error("a 502 to a create: no error")
	}
	if n := f.Count(githubtest.OpCreateDeployment) - before; n != 1 {
		t.Errorf("a create answered 502 was sent %d times, want once", n)
	}
	requests := c.Requests()
	for _, bad := range []func() error{
		func() error {
			_, err := c.CreateDeployment(ctx, github.NewDeployment{SHA: "main", Environment: "e"})
			return err
		},
		func() error { _, err := c.CreateDeployment(ctx, github.NewDeployment{SHA: h.a}); return err },
		func() error { _, err := c.Deployments(ctx, "", "", 1); return err },
		func() error { _, err := c.Deployments(ctx, "e", "abc", 1); return err },
		func() error { _, err := c.DeploymentState(ctx, 0); return err },
		func() error { return c.SetDeploymentState(ctx, -1, "success", "", "") },
	} {
		if err := bad(); err == nil {
			t.Error("a bad argument was not refused")
		}
	}
	if c.Requests() != requests {
		t.Errorf("%d requests for bad arguments, want none", c.Requests()-requests)
	}
}
