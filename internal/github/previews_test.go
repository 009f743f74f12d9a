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

func TestPullState(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		prep     func(*githubtest.Server)
		number   int
		want     string
		err      string
		notFound bool
	}{
		{name: "open", number: 7, want: github.PullOpen},
		{name: "closed", prep: func(f *githubtest.Server) { f.ClosePull(repo, 7) }, number: 7, want: github.PullClosed},
		{name: "no such pull request", number: 8, err: "get pull request #8: HTTP 404: Not Found", notFound: true},
		{name: "not a number", number: -1, err: "-1 is not a pull request number"},
		{name: "an unknown state", prep: func(f *githubtest.Server) {
			f.AddFault(githubtest.Fault{Op: githubtest.OpPull, Status: 200, Body: `{"number":7,"state":"draft"}`})
		}, number: 7, err: `unreadable answer: state "draft"`},
		{name: "no head", prep: func(f *githubtest.Server) {
			f.AddFault(githubtest.Fault{Op: githubtest.OpPull, Status: 200, Body: `{"number":7,"state":"closed"}`})
		}, number: 7, err: "unreadable answer: no head SHA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, c := setup(t, githubtest.Options{})
			f.SetPullHead(repo, 7, head)
			if tt.prep != nil {
				tt.prep(f)
			}
			got, err := c.PullState(context.Background(), tt.number)
			checkErr(t, err)
			switch {
			case tt.err == "" && (err != nil || got != tt.want):
				t.Errorf("%q, %v; want %q", got, err, tt.want)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err) || github.IsNotFound(err) != tt.notFound):
				t.Errorf("%q, %v; want an error containing %q, not found %v", got, err, tt.err, tt.notFound)
			}
		})
	}
}

func TestPullChanges(t *testing.T) {
	t.Parallel()
	const dir = "sandbox-templates/"
	paths := []string{dir + "a.yaml", dir + "b.yaml", dir + "c.yaml", dir + "d.yaml"}
	for _, many := range []bool{false, true} {
		t.Run(fmt.Sprintf("more than GitHub lists=%v", many), func(t *testing.T) {
			t.Parallel()
			f, c := setup(t, githubtest.Options{Repository: repo})
			base := f.Push("main", map[string]string{dir + "a.yaml": "a1", dir + "b.yaml": "b1", dir + "c.yaml": "c1", "README.md": "x"})
			f.SetBranch("feature", base)
			// main moves on: c changes there, which the pull request does
			// not change; d is added there only.
			f.Push("main", map[string]string{dir + "c.yaml": "c2", dir + "d.yaml": "d1"})
			// The pull request changes a, adds e, and leaves b alone.
			changes := map[string]string{dir + "a.yaml": "a2", dir + "e.yaml": "e1"}
			if many {
				for i := range 320 {
					changes[fmt.Sprintf("docs/page-%03d.md", i)] = "page"
				}
			}
			headSHA := f.Push("feature", changes)
			got, err := c.PullChanges(context.Background(), f.Branch("main"), headSHA, append(paths, dir+"e.yaml"), 0)
			checkErr(t, err)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{dir + "a.yaml", dir + "e.yaml"}, got); diff != "" {
				t.Errorf("changed files (-want +got):\n%s", diff)
			}
			want := 1
			if many {
				want = 3 // the comparison, then the blobs at the merge base and at head
			}
			if n := c.Requests(); n != want {
				t.Errorf("%d requests, want %d", n, want)
			}
		})
	}
	t.Run("a bad ref", func(t *testing.T) {
		t.Parallel()
		_, c := setup(t, githubtest.Options{})
		if _, err := c.PullChanges(context.Background(), "main", "a..b", paths, 0); err == nil || c.Requests() != 0 {
			t.Errorf("err %v after %d requests, want an error and none", err, c.Requests())
		}
	})
}
