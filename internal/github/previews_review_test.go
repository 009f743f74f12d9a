package github_test

import (
	"context"
	"strings"
	"testing"

	"github.com/miosa-dev/sandbox-templates-action/internal/github"
	"github.com/miosa-dev/sandbox-templates-action/internal/github/githubtest"
)

// PullHeadState answers a pull request's head and state in one request,
// and refuses an answer that lacks either.
func TestPullHeadStateReview(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		prep        func(*githubtest.Server)
		number      int
		head, state string
		err         string
	}{
		{name: "open", number: 7, head: head, state: github.PullOpen},
		{name: "closed", prep: func(f *githubtest.Server) { f.ClosePull(repo, 7) }, number: 7, head: head, state: github.PullClosed},
		{name: "no such pull request", number: 8, err: "HTTP 404"},
		{name: "no head", prep: func(f *githubtest.Server) {
			f.AddFault(githubtest.Fault{Op: githubtest.OpPull, Status: 200, Body: `{"number":7,"state":"open"}`})
		}, number: 7, err: "no head SHA"},
		{name: "an unknown state", prep: func(f *githubtest.Server) {
			f.AddFault(githubtest.Fault{Op: githubtest.OpPull, Status: 200, Body: `{"number":7,"state":"draft","head":{"sha":"` + head + `"}}`})
		}, number: 7, err: `state "draft"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, c := setup(t, githubtest.Options{})
			f.SetPullHead(repo, 7, strings.ToUpper(head))
			if tt.prep != nil {
				tt.prep(f)
			}
			h, s, err := c.PullHeadState(context.Background(), tt.number)
			switch {
			case tt.err == "" && (err != nil || h != tt.head || s != tt.state):
				t.Errorf("%q, %q, %v; want %q, %q", h, s, err, tt.head, tt.state)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Errorf("%q, %q, %v; want an error containing %q", h, s, err, tt.err)
			}
			if n := f.Counts().Pull; n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}
