package github_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/miosa-dev/sandbox-templates-action/internal/github"
	"github.com/miosa-dev/sandbox-templates-action/internal/github/githubtest"
	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
)

// canary is the token of every test: it must never show up in an error.
const canary = "ghs_CANARYtoken0123456789abcdefXYZ"

const repo = "octo/templates"

// setup starts a fake GitHub that accepts only the canary token, and a
// client of it.
func setup(t *testing.T, opts githubtest.Options) (*githubtest.Server, *github.Client) {
	t.Helper()
	f := githubtest.New(opts)
	t.Cleanup(f.Close)
	f.SetToken(canary)
	return f, client(t, f.URL(), canary)
}

// client returns a client of the API at apiURL with token.
func client(t *testing.T, apiURL, token string) *github.Client {
	t.Helper()
	c, err := github.New(github.Config{APIURL: apiURL, Token: token, Repository: repo, UserAgent: "github-test", RetryWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// checkErr fails when err's text holds the token or more than one line.
func checkErr(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	s := err.Error() + fmt.Sprintf("%v %+v %#v", err, err, err)
	if strings.Contains(s, canary) || strings.Contains(s, canary[4:20]) || strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q leaks the token or spans lines", s)
	}
}

// history is a small repository: main at b (a, then b), feature at c on a,
// tag v1 at a.
type history struct{ a, b, c string }

func build(f *githubtest.Server) history {
	var h history
	h.a = f.Push("main", map[string]string{
		"README.md": "# templates\n", "sandbox-templates/python.yaml": "from: python:3.12\n", "sandbox-templates/node.yaml": "from: node:22\n",
	})
	h.b = f.Push("main", map[string]string{"sandbox-templates/python.yaml": "from: python:3.13\n", "sandbox-templates/go.yaml": "from: golang:1.26\n"})
	f.SetBranch("feature/x", h.a)
	h.c = f.Push("feature/x", map[string]string{"other/notes.md": "notes\n"})
	f.Tag("v1", h.a)
	return h
}

func TestNew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url, repo string
		err       string // substring; "" for none
	}{
		{"https://api.github.com", repo, ""},
		{"https://ghes.example.com/api/v3/", repo, ""},
		{"http://127.0.0.1:8080/api/v3", repo, ""},
		{"http://localhost:8080", repo, ""},
		{"http://[::1]:8080", repo, ""},
		{"http://github.example.com/api/v3", repo, `"http://github.example.com/api/v3" is plain http: the token would travel unencrypted`},
		{"ftp://api.github.com", repo, "is not an http(s) URL"},
		{"api.github.com", repo, "is not an http(s) URL"},
		{"", repo, "is not an http(s) URL"},
		{"https://user:hunter2@ghes.example.com/api/v3", repo, `"https://ghes.example.com/api/v3" has user info, a query or a fragment`},
		{"https://ghes.example.com/api/v3?access_token=hunter2", repo, `"https://ghes.example.com/api/v3" has user info`},
		{"https://api.github.com", "octo", `repository "octo" is not owner/name`},
		{"https://api.github.com", "octo/templates/x", "is not owner/name"},
		{"https://api.github.com", "../etc", "is not owner/name"},
		{"https://api.github.com", "", "is not owner/name"},
	}
	for _, tt := range tests {
		_, err := github.New(github.Config{APIURL: tt.url, Token: canary, Repository: tt.repo})
		checkErr(t, err)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("New(%q, %q): %v", tt.url, tt.repo, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("New(%q, %q): %v, want %q", tt.url, tt.repo, err, tt.err)
		case err != nil && strings.Contains(err.Error(), "hunter2"):
			t.Errorf("New(%q): %v shows the URL's secret", tt.url, err)
		}
	}
}

func TestFormatHidesToken(t *testing.T) {
	t.Parallel()
	cfg := github.Config{APIURL: "https://api.github.com", Token: canary, Repository: repo}
	c, err := github.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := fmt.Sprintf(verb, cfg) + fmt.Sprintf(verb, c) + fmt.Sprintf(verb, *c); strings.Contains(s, canary) {
			t.Errorf("%s shows the token: %s", verb, s)
		}
	}
}

func TestCommit(t *testing.T) {
	t.Parallel()
	f, c := setup(t, githubtest.Options{Repository: repo})
	h := build(f)
	root := f.Commit(nil, map[string]string{"hello.txt": "hello\n"})
	tests := []struct {
		ref      string
		want     string // commit SHA; "" for an error
		notFound bool
		requests int
	}{
		{"main", h.b, false, 1},
		{"feature/x", h.c, false, 1},
		{"v1", h.a, false, 1},
		{"refs/tags/v1", h.a, false, 1},
		{h.c, h.c, false, 1},
		{h.b[:8], h.b, false, 1},
		{root, root, false, 1},
		{"nope", "", true, 1},
		{"0000000000000000000000000000000000000000", "", true, 1},
		{"../../issues", "", false, 0},
		{"main?x=1", "", false, 0},
		{"", "", false, 0},
	}
	for _, tt := range tests {
		before := c.Requests()
		got, err := c.Commit(context.Background(), tt.ref)
		checkErr(t, err)
		switch {
		case tt.want != "" && (err != nil || got.SHA != tt.want || len(got.TreeSHA) != 40):
			t.Errorf("Commit(%q) = %+v, %v; want %s", tt.ref, got, err, tt.want)
		case tt.want == "" && (err == nil || github.IsNotFound(err) != tt.notFound):
			t.Errorf("Commit(%q) = %+v, %v; want an error, not found %v", tt.ref, got, err, tt.notFound)
		}
		if n := c.Requests() - before; n != tt.requests {
			t.Errorf("Commit(%q): %d requests, want %d", tt.ref, n, tt.requests)
		}
	}
	got, err := c.Commit(context.Background(), root)
	if want := (github.Commit{SHA: root, TreeSHA: "aaa96ced2d9a1c8e72c56b253a0e2fe78393feb7"}); err != nil || got != want {
		t.Errorf("root commit %+v, %v; want %+v (git write-tree's id)", got, err, want)
	}
	_, err = c.Commit(context.Background(), "nope")
	if want := `get commit "nope": HTTP 422: No commit found for SHA: nope (X-GitHub-Request-Id FA4E:`; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %v, want %q", err, want)
	}
	for _, r := range f.Requests() {
		if r.Op == githubtest.OpCommit && r.RawQuery != "per_page=1" {
			t.Errorf("%s?%s does not ask for one file", r.Path, r.RawQuery)
		}
	}
}

func TestDefaultBranchAndLatestRelease(t *testing.T) {
	t.Parallel()
	f, c := setup(t, githubtest.Options{})
	ctx := context.Background()
	if b, err := c.DefaultBranch(ctx); err != nil || b != "main" {
		t.Errorf("default branch %q, %v", b, err)
	}
	f.SetDefaultBranch("trunk")
	if b, err := c.DefaultBranch(ctx); err != nil || b != "trunk" {
		t.Errorf("default branch %q, %v", b, err)
	}
	if _, err := c.LatestRelease(ctx); !github.IsNotFound(err) {
		t.Errorf("no release: %v, want not found", err)
	}
	f.Release("v1.0.0", false, false)
	f.Release("v1.1.0-rc.1", true, false)
	if r, err := c.LatestRelease(ctx); err != nil || r != (github.Release{Tag: "v1.0.0"}) {
		t.Errorf("latest %+v, %v", r, err)
	}
	if want := (githubtest.Counts{Repo: 2, LatestRelease: 2, Refused: 1}); !cmp.Equal(f.Counts(), want) || c.Requests() != 4 {
		t.Errorf("counts %+v, %d requests; want %+v, 4", f.Counts(), c.Requests(), want)
	}
}

func TestBlobs(t *testing.T) {
	t.Parallel()
	tmpl := func(name string) string { return "sandbox-templates/" + name }
	sha := func(s string) string { return spec.BlobID([]byte(s)) }
	tests := []struct {
		name    string
		prep    func(*githubtest.Server)
		ref     func(history) string
		paths   []string
		dirSize int
		want    map[string]string
		err     string // substring; "" for none
		ops     githubtest.Counts
	}{
		{
			name: "one directory", ref: func(history) string { return "main" },
			paths: []string{tmpl("python.yaml"), tmpl("go.yaml"), tmpl("gone.yaml")},
			want:  map[string]string{tmpl("python.yaml"): sha("from: python:3.13\n"), tmpl("go.yaml"): sha("from: golang:1.26\n")},
			ops:   githubtest.Counts{Contents: 1},
		},
		{
			name: "one directory at an older commit", ref: func(h history) string { return h.a },
			paths: []string{tmpl("python.yaml"), tmpl("go.yaml")},
			want:  map[string]string{tmpl("python.yaml"): sha("from: python:3.12\n")},
			ops:   githubtest.Counts{Contents: 1},
		},
		{
			name: "the root directory", ref: func(history) string { return "v1" },
			paths: []string{"README.md", "sandbox-templates"},
			want:  map[string]string{"README.md": sha("# templates\n")},
			ops:   githubtest.Counts{Contents: 1},
		},
		{
			name: "a directory that does not exist", ref: func(history) string { return "main" },
			paths: []string{"nowhere/a.yaml"}, want: map[string]string{},
			ops: githubtest.Counts{Contents: 1, Refused: 1},
		},
		{
			name: "a directory that is a file", ref: func(history) string { return "main" },
			paths: []string{"README.md/a.yaml"}, want: map[string]string{},
			ops: githubtest.Counts{Contents: 1},
		},
		{
			name: "two directories", ref: func(history) string { return "feature/x" },
			paths: []string{tmpl("node.yaml"), "other/notes.md", "README.md", "other"},
			want:  map[string]string{tmpl("node.yaml"): sha("from: node:22\n"), "other/notes.md": sha("notes\n"), "README.md": sha("# templates\n")},
			ops:   githubtest.Counts{Tree: 1},
		},
		{
			name: "a directory past GitHub's listing cap",
			prep: func(f *githubtest.Server) {
				big := map[string]string{}
				for i := range 1000 {
					big[fmt.Sprintf("big/%04d.yaml", i)] = fmt.Sprint(i)
				}
				f.Push("main", big)
			},
			ref: func(history) string { return "main" }, paths: []string{"big/0999.yaml", "big/1000.yaml"},
			want: map[string]string{"big/0999.yaml": sha("999")},
			ops:  githubtest.Counts{Contents: 1, Tree: 1},
		},
		{
			name: "a directory the caller says is past the cap: the tree at once",
			prep: func(f *githubtest.Server) {
				big := map[string]string{}
				for i := range 1000 {
					big[fmt.Sprintf("big/%04d.yaml", i)] = fmt.Sprint(i)
				}
				f.Push("main", big)
			},
			dirSize: 1000, ref: func(history) string { return "main" }, paths: []string{"big/0999.yaml"},
			want: map[string]string{"big/0999.yaml": sha("999")},
			ops:  githubtest.Counts{Tree: 1},
		},
		{
			name: "a truncated tree", prep: func(f *githubtest.Server) { f.TruncateTrees(2) },
			ref: func(history) string { return "main" }, paths: []string{"README.md", "other/x"},
			err: `get tree "main": HTTP 200: GitHub truncated the tree`, ops: githubtest.Counts{Tree: 1},
		},
		{
			name: "an unknown ref", ref: func(history) string { return "nope" }, paths: []string{tmpl("a.yaml")},
			err: `list "sandbox-templates" at "nope": HTTP 404: No commit found for the ref nope`, ops: githubtest.Counts{Contents: 1, Refused: 1},
		},
		{
			name: "no paths", ref: func(history) string { return "main" }, want: map[string]string{},
		},
		{
			name: "a path that is not clean", ref: func(history) string { return "main" }, paths: []string{"a/../b"},
			err: `"a/../b" is not a clean relative path`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, c := setup(t, githubtest.Options{Prefix: githubtest.GHESPrefix})
			h := build(f)
			if tt.prep != nil {
				tt.prep(f)
			}
			got, err := c.Blobs(context.Background(), tt.ref(h), tt.paths, tt.dirSize)
			checkErr(t, err)
			switch {
			case tt.err == "" && err != nil:
				t.Errorf("error %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Errorf("error %v, want %q", err, tt.err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("blobs (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.ops, f.Counts()); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCompare(t *testing.T) {
	t.Parallel()
	f, c := setup(t, githubtest.Options{})
	h := build(f)
	d := f.Push("main", map[string]string{"x": "1"})
	tests := []struct {
		base, head string
		want       github.Comparison
	}{
		{"main", "feature/x", github.Comparison{Status: "diverged", AheadBy: 1, BehindBy: 2, HeadSHA: h.c,
			Files: []string{"other/notes.md"}, FilesComplete: true}},
		{"v1", h.b, github.Comparison{Status: "ahead", AheadBy: 1, HeadSHA: h.b,
			Files: []string{"sandbox-templates/go.yaml", "sandbox-templates/python.yaml"}, FilesComplete: true}},
		{"v1", "main", github.Comparison{Status: "ahead", AheadBy: 2,
			Files: []string{"sandbox-templates/go.yaml", "sandbox-templates/python.yaml", "x"}, FilesComplete: true}},
		{"main", "v1", github.Comparison{Status: "behind", BehindBy: 2, FilesComplete: true}},
		{d, "main", github.Comparison{Status: "identical", FilesComplete: true}},
	}
	for _, tt := range tests {
		got, err := c.Compare(context.Background(), tt.base, tt.head)
		if err != nil {
			t.Errorf("Compare(%s, %s): %v", tt.base, tt.head, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Compare(%s, %s) (-want +got):\n%s", tt.base, tt.head, diff)
		}
	}
	for _, r := range f.Requests() {
		if r.RawQuery != "per_page=1" {
			t.Errorf("%s?%s does not ask for one commit", r.Path, r.RawQuery)
		}
	}
	if _, err := c.Compare(context.Background(), "main", "nope"); !github.IsNotFound(err) {
		t.Errorf("unknown head: %v", err)
	}
	if n := c.Requests(); n != len(tests)+1 {
		t.Errorf("%d requests, want %d", n, len(tests)+1)
	}
	// GitHub lists at most 300 changed files: a list of 300 may be cut.
	many := map[string]string{}
	for i := range 300 {
		many[fmt.Sprintf("gen/%03d.yaml", i)] = "from: x\n"
	}
	e := f.Push("main", many)
	if got, err := c.Compare(context.Background(), d, e); err != nil || len(got.Files) != 300 || got.FilesComplete {
		t.Errorf("300 changed files: %d listed, complete %v, %v; want 300, not complete", len(got.Files), got.FilesComplete, err)
	}
}

func TestComments(t *testing.T) {
	t.Parallel()
	f, c := setup(t, githubtest.Options{Prefix: githubtest.GHESPrefix})
	ctx := context.Background()
	for i := range 250 {
		f.AddComment(repo, 7, githubtest.Comment{Body: fmt.Sprint(i)})
	}
	n := 0
	for cm, err := range c.Comments(ctx, 7) {
		if err != nil {
			t.Fatal(err)
		}
		if cm.Body != fmt.Sprint(n) || cm.Author != "someone" || cm.AuthorType != "User" || cm.Association != "NONE" || cm.URL == "" {
			t.Fatalf("comment %d: %+v", n, cm)
		}
		n++
	}
	if n != 250 {
		t.Errorf("%d comments, want 250", n)
	}
	var lists []string
	for _, r := range f.Requests() {
		lists = append(lists, r.Path+"?"+r.RawQuery)
	}
	want := []string{
		"/repos/octo/templates/issues/7/comments?per_page=100",
		"/repos/octo/templates/issues/7/comments?page=2&per_page=100",
		"/repos/octo/templates/issues/7/comments?page=3&per_page=100",
	}
	if diff := cmp.Diff(want, lists); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}
	for range c.Comments(ctx, 7) {
		break
	}
	if got := f.Counts().List; got != 4 {
		t.Errorf("a loop that stops at the first comment read %d pages", got-3)
	}

	created, err := c.CreateComment(ctx, 7, "hello")
	if err != nil || created.ID == 0 || created.Body != "hello" || created.AuthorType != "Bot" {
		t.Fatalf("created %+v, %v", created, err)
	}
	edited, err := c.EditComment(ctx, created.ID, "hello again")
	if err != nil || edited.ID != created.ID || edited.Body != "hello again" {
		t.Fatalf("edited %+v, %v", edited, err)
	}
	if all := f.Comments(repo, 7); all[250].Body != "hello again" {
		t.Errorf("the fake holds %q", all[250].Body)
	}
	for _, bad := range []int{0, -1} {
		for _, err := range c.Comments(ctx, bad) {
			if err == nil || !strings.Contains(err.Error(), "is not an issue number") {
				t.Errorf("Comments(%d): %v", bad, err)
			}
		}
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	type check func(error) bool
	tests := []struct {
		name     string
		prep     func(*githubtest.Server)
		call     func(context.Context, *github.Client) error
		err      string // substring; "" for none
		is       check  // must hold; nil for none
		requests int
	}{
		{
			name: "404", prep: func(f *githubtest.Server) { f.AddFault(githubtest.Fault{Op: githubtest.OpRepo, Status: 404, Times: 3}) },
			call: defaultBranch, err: "get repository octo/templates: HTTP 404: Not Found (X-GitHub-Request-Id FA4E:0001)", is: github.IsNotFound, requests: 1,
		},
		{
			name: "read-only token", prep: func(f *githubtest.Server) { f.SetReadOnly(true) },
			call: create, err: "create comment: HTTP 403: Resource not accessible by integration", is: github.IsForbidden, requests: 1,
		},
		{
			name: "bad token", prep: func(f *githubtest.Server) { f.RefuseAll(401) },
			call: defaultBranch, err: "HTTP 401: Bad credentials; the token was refused", is: github.IsForbidden, requests: 1,
		},
		{
			name: "every request forbidden", prep: func(f *githubtest.Server) { f.RefuseAll(403) },
			call: defaultBranch, err: "HTTP 403: Resource not accessible by integration", is: github.IsForbidden, requests: 1,
		},
		{
			name: "validation failed", prep: func(f *githubtest.Server) {
				f.AddFault(githubtest.Fault{Op: githubtest.OpCreate, Status: 422, Message: "Validation Failed", Errors: []string{"body is too long"}})
			},
			call: create, err: "create comment: HTTP 422: Validation Failed: body is too long (X-", requests: 1,
		},
		{
			name: "500 twice, then an answer", prep: func(f *githubtest.Server) { f.AddFault(githubtest.Fault{Op: githubtest.OpRepo, Status: 500, Times: 2}) },
			call: defaultBranch, requests: 3,
		},
		{
			name: "503 every time", prep: func(f *githubtest.Server) { f.AddFault(githubtest.Fault{Op: githubtest.OpTree, Status: 503, Times: 9}) },
			call: tree, err: `get tree "main": HTTP 503: Service Unavailable (3 attempts, X-GitHub-Request-Id FA4E:0003)`, requests: 3,
		},
		{
			name: "502 on a create is not repeated", prep: func(f *githubtest.Server) { f.AddFault(githubtest.Fault{Op: githubtest.OpCreate, Status: 502}) },
			call: create, err: "create comment: HTTP 502: Bad Gateway", requests: 1,
		},
		{
			name: "502 on an edit is", prep: func(f *githubtest.Server) { f.AddFault(githubtest.Fault{Op: githubtest.OpUpdate, Status: 502}) },
			call: edit, requests: 3, // create, then the edit twice
		},
		{
			name: "secondary rate limit on a create", prep: func(f *githubtest.Server) {
				f.AddFault(githubtest.Fault{Op: githubtest.OpCreate, Status: 403, Header: map[string]string{"Retry-After": "0"},
					Message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."})
			},
			call: create, requests: 2,
		},
		{
			name: "429 with a Retry-After of an hour", prep: func(f *githubtest.Server) {
				f.AddFault(githubtest.Fault{Op: githubtest.OpRepo, Status: 429, Header: map[string]string{"Retry-After": "3600"}})
			},
			call: defaultBranch, err: "HTTP 429: Too Many Requests; GitHub's rate limit asks to wait 1h0m0s", is: github.IsRateLimited, requests: 1,
		},
		{
			name: "primary rate limit resetting soon", prep: func(f *githubtest.Server) {
				f.AddFault(githubtest.Fault{Op: githubtest.OpRepo, Status: 403, Message: "API rate limit exceeded for installation ID 1.",
					Header: map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": fmt.Sprint(time.Now().Unix())}})
			},
			call: defaultBranch, requests: 2,
		},
		{
			name: "rate limit, not forbidden", prep: func(f *githubtest.Server) {
				f.AddFault(githubtest.Fault{Op: githubtest.OpRepo, Status: 403, Message: "API rate limit exceeded", Times: 3,
					Header: map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": fmt.Sprint(time.Now().Add(time.Hour).Unix())}})
			},
			call: defaultBranch, err: "HTTP 403: API rate limit exceeded; GitHub's rate limit asks to wait", is: not(github.IsForbidden), requests: 1,
		},
		{
			name: "the token echoed", prep: func(f *githubtest.Server) {
				f.AddFault(githubtest.Fault{Op: githubtest.OpRepo, Status: 400, Message: "bad token " + canary})
			},
			call: defaultBranch, err: "HTTP 400: bad token [REDACTED]", requests: 1,
		},
		{
			name: "unreadable answer", prep: func(f *githubtest.Server) {
				f.AddFault(githubtest.Fault{Op: githubtest.OpCommit, Status: 200, Body: `["x"]`})
			},
			call: commit, err: `get commit "main": HTTP 200: unreadable answer: not a commit`, requests: 1,
		},
		{
			name: "unreadable list", prep: func(f *githubtest.Server) { f.AddFault(githubtest.Fault{Op: githubtest.OpList, Status: 200}) },
			call: list, err: "list comments: HTTP 200: unreadable answer: not a list of comments", requests: 1,
		},
		{
			name: "a multi-line message", prep: func(f *githubtest.Server) {
				f.AddFault(githubtest.Fault{Op: githubtest.OpRepo, Status: 418, Message: "line one\n::error::line two"})
			},
			call: defaultBranch, err: `HTTP 418: line one\n::error::line two`, requests: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, c := setup(t, githubtest.Options{})
			f.Push("main", map[string]string{"a": "1"})
			if tt.prep != nil {
				tt.prep(f)
			}
			err := tt.call(context.Background(), c)
			checkErr(t, err)
			switch {
			case tt.err == "" && err != nil:
				t.Errorf("error %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Errorf("error %v, want %q", err, tt.err)
			case tt.is != nil && !tt.is(err):
				t.Errorf("error %v is not classified as it should", err)
			}
			if n := c.Requests(); n != tt.requests {
				t.Errorf("%d requests, want %d", n, tt.requests)
			}
		})
	}
}

// Calls for TestErrors.
func defaultBranch(ctx context.Context, c *github.Client) error {
	_, err := c.DefaultBranch(ctx)
	return err
}
func commit(ctx context.Context, c *github.Client) error { _, err := c.Commit(ctx, "main"); return err }
func create(ctx context.Context, c *github.Client) error {
	_, err := c.CreateComment(ctx, 7, "x")
	return err
}

func tree(ctx context.Context, c *github.Client) error {
	_, err := c.Blobs(ctx, "main", []string{"a", "b/c"}, 0)
	return err
}

func edit(ctx context.Context, c *github.Client) error {
	cm, err := c.CreateComment(ctx, 7, "x")
	if err != nil {
		return err
	}
	_, err = c.EditComment(ctx, cm.ID, "y")
	return err
}

func list(ctx context.Context, c *github.Client) error {
	for _, err := range c.Comments(ctx, 7) {
		if err != nil {
			return err
		}
	}
	return nil
}

// not negates a check.
func not(is func(error) bool) func(error) bool { return func(err error) bool { return !is(err) } }

func TestGHESPrefix(t *testing.T) {
	t.Parallel()
	f, _ := setup(t, githubtest.Options{Prefix: githubtest.GHESPrefix})
	f.Push("main", map[string]string{"a": "1"})
	host := strings.TrimSuffix(f.URL(), githubtest.GHESPrefix)
	for _, tt := range []struct {
		url string
		ok  bool
	}{
		{f.URL(), true},
		{f.URL() + "/", true},
		{host, false}, // no /api/v3 is guessed
	} {
		_, err := client(t, tt.url, canary).Commit(context.Background(), "main")
		if (err == nil) != tt.ok || !tt.ok && !github.IsNotFound(err) {
			t.Errorf("%s: %v", tt.url, err)
		}
	}
}

func TestTokenScope(t *testing.T) {
	t.Parallel()
	f := githubtest.New(githubtest.Options{})
	t.Cleanup(f.Close)
	f.Push("main", map[string]string{"a": "1"})
	for _, token := range []string{canary, ""} {
		if _, err := client(t, f.URL(), token).DefaultBranch(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	reqs := f.Requests()
	if len(reqs) != 2 || reqs[0].Authorization != "Bearer "+canary || reqs[1].Authorization != "" {
		t.Errorf("requests %+v: want the token once, then none", reqs)
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	t.Parallel()
	var reached atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		_, _ = w.Write([]byte(`{"default_branch":"main"}`))
	}))
	t.Cleanup(other.Close)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path+"?sig=hunter2", http.StatusFound)
	}))
	t.Cleanup(api.Close)
	c := client(t, api.URL+"/api/v3", canary)
	_, err := c.DefaultBranch(context.Background())
	checkErr(t, err)
	want := "get repository octo/templates: HTTP 302: a redirect, not followed (to " + other.URL + "/api/v3/repos/octo/templates); is GITHUB_API_URL right?"
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
	if n := reached.Load(); n != 0 || c.Requests() != 1 {
		t.Errorf("the redirect was followed: %d requests elsewhere, %d sent", n, c.Requests())
	}
}

func TestNoAnswer(t *testing.T) {
	t.Parallel()
	f := githubtest.New(githubtest.Options{})
	f.Close()
	c := client(t, f.URL(), canary)
	_, err := c.CreateComment(context.Background(), 7, "x")
	checkErr(t, err)
	e, ok := errors.AsType[*github.Error](err)
	if !ok || e.Status != 0 || e.Attempts != 3 || !strings.HasPrefix(err.Error(), "create comment: ") || !strings.Contains(err.Error(), "(3 attempts)") {
		t.Errorf("error %v: a refused connection sends nothing, so even a create is tried 3 times", err)
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	f := githubtest.New(githubtest.Options{})
	t.Cleanup(f.Close)
	f.AddFault(githubtest.Fault{Op: githubtest.OpRepo, Status: 503, Times: 3})
	c, err := github.New(github.Config{APIURL: f.URL(), Repository: repo, RetryWait: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.DefaultBranch(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "HTTP 503") {
		t.Errorf("error %v, want the context's, naming the 503", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s", d)
	}
}
