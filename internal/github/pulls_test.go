package github_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/miosa-dev/sandbox-templates-action/internal/github"
	"github.com/miosa-dev/sandbox-templates-action/internal/github/githubtest"
)

const head = "0123456789abcdef0123456789abcdef01234567"

func TestPullHead(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		prep     func(*githubtest.Server)
		number   int
		want     string
		err      string // substring; "" for none
		notFound bool
		requests int
	}{
		{name: "open", number: 7, want: head, requests: 1},
		{name: "in upper case", prep: func(f *githubtest.Server) { f.SetPullHead(repo, 7, strings.ToUpper(head)) }, number: 7, want: head, requests: 1},
		{name: "no such pull request", number: 8, err: "get pull request #8: HTTP 404: Not Found (X-GitHub-Request-Id", notFound: true, requests: 1},
		{name: "not a number", number: 0, err: "get pull request #0: 0 is not a pull request number", requests: 0},
		{name: "no head", prep: func(f *githubtest.Server) {
			f.AddFault(githubtest.Fault{Op: githubtest.OpPull, Status: 200, Body: `{"head":{"sha":"main"}}`})
		},
			number: 7, err: "get pull request #7: HTTP 200: unreadable answer: no head SHA", requests: 1},
		{name: "503, then an answer", prep: func(f *githubtest.Server) { f.AddFault(githubtest.Fault{Op: githubtest.OpPull, Status: 503, Times: 2}) },
			number: 7, want: head, requests: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, c := setup(t, githubtest.Options{Prefix: githubtest.GHESPrefix})
			f.SetPullHead(repo, 7, head)
			if tt.prep != nil {
				tt.prep(f)
			}
			got, err := c.PullHead(context.Background(), tt.number)
			checkErr(t, err)
			switch {
			case tt.err == "" && (err != nil || got != tt.want):
				t.Errorf("%q, %v; want %q", got, err, tt.want)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err) || github.IsNotFound(err) != tt.notFound):
				t.Errorf("%q, %v; want an error containing %q, not found %v", got, err, tt.err, tt.notFound)
			}
			if n := c.Requests(); n != tt.requests {
				t.Errorf("%d requests, want %d", n, tt.requests)
			}
			for _, r := range f.Requests() {
				if want := fmt.Sprintf("/repos/octo/templates/pulls/%d", tt.number); r.Method != "GET" || r.Path != want {
					t.Errorf("%s %s", r.Method, r.Path)
				}
			}
		})
	}
}

func TestUser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f, c := setup(t, githubtest.Options{})
	_, err := c.User(ctx)
	checkErr(t, err)
	if want := "get the token's user: HTTP 403: Resource not accessible by integration"; err == nil || !strings.HasPrefix(err.Error(), want) ||
		!github.IsForbidden(err) || github.IsRateLimited(err) {
		t.Errorf("an installation token: %v, want %q, forbidden", err, want)
	}
	f.SetUser(githubtest.User{Login: "alice", Type: "User"})
	if login, err := c.User(ctx); err != nil || login != "alice" {
		t.Errorf("a person's token: %q, %v", login, err)
	}
	f.AddFault(githubtest.Fault{Op: githubtest.OpUser, Status: 200, Body: `{"id": 1}`})
	if _, err := c.User(ctx); err == nil || !strings.Contains(err.Error(), "get the token's user: HTTP 200: unreadable answer: no login") {
		t.Errorf("no login: %v", err)
	}
	var paths []string
	for _, r := range f.Requests() {
		paths = append(paths, r.Method+" "+r.Path)
	}
	if diff := cmp.Diff([]string{"GET /user", "GET /user", "GET /user"}, paths); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestDeleteComment(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f, c := setup(t, githubtest.Options{Prefix: githubtest.GHESPrefix})
	keep := f.AddComment(repo, 7, githubtest.Comment{Body: "keep"})
	gone := f.AddComment(repo, 7, githubtest.Comment{Body: "gone"})
	if err := c.DeleteComment(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	if all := f.Comments(repo, 7); len(all) != 1 || all[0].ID != keep.ID {
		t.Errorf("left %+v, want only %d", all, keep.ID)
	}
	err := c.DeleteComment(ctx, gone.ID)
	checkErr(t, err)
	if !github.IsNotFound(err) || !strings.HasPrefix(err.Error(), "delete comment: HTTP 404: Not Found") {
		t.Errorf("deleted twice: %v, want not found", err)
	}
	f.AddFault(githubtest.Fault{Op: githubtest.OpDelete, Status: 502})
	if err := c.DeleteComment(ctx, keep.ID); err != nil || len(f.Comments(repo, 7)) != 0 {
		t.Errorf("after a 502: %v, %d comments; want it repeated and done", err, len(f.Comments(repo, 7)))
	}
	if err := c.DeleteComment(ctx, 0); err == nil || !strings.Contains(err.Error(), "delete comment: 0 is not a comment id") {
		t.Errorf("id 0: %v", err)
	}
	f.SetReadOnly(true)
	other := f.AddComment(repo, 7, githubtest.Comment{Body: "x"})
	if err := c.DeleteComment(ctx, other.ID); !github.IsForbidden(err) {
		t.Errorf("read-only: %v, want forbidden", err)
	}
	if got := f.Counts(); got.Delete != 5 || c.Requests() != 5 {
		t.Errorf("%d deletes, %d requests; want 5 (one repeated after the 502)", got.Delete, c.Requests())
	}
}
