package githubtest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/miosa-dev/sandbox-templates-action/internal/github/githubtest"
)

// do sends a request with a User-Agent and a token and returns the status,
// the body and the Link header.
func do(t *testing.T, method, url, body string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", "fake-test")
	req.Header.Set("Authorization", "Bearer t")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(raw), resp.Header.Get("Link")
}

// decode reads JSON into v.
func decode[T any](t *testing.T, raw string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	return v
}

// Object ids that `git hash-object`, `git write-tree` and `git commit-tree`
// (author and committer "Fake <fake@example.com>", dates 1700000000 and
// 1700000060 +0000, messages "commit 0" and "commit 1") give.
const (
	helloBlob = "ce013625030ba8dba906f756967f9e9ca394464a" // "hello\n"
	emptyBlob = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391" // ""
	emptyTree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
	subTree   = "9270ad9a70b0e06d9148997899f2776e4d06711a" // a.yaml "a: 1\n", b ""
	rootTree  = "69c62780ae4128f936ed7d8aacd9a938d222ed44" // files below
	commit0   = "17a2d104f35769c7d1d9a68518b5c577f668aa17" // rootTree, no parent
	commit1   = "727d9a8cda27df3dfa384ddb6ed41287d87119b1" // emptyTree, parent commit0
)

// files is a tree whose entries git orders "a-b", "a.b", "a" (a tree
// sorts as "a/"), "hello.txt", "sub".
var files = map[string]string{
	"hello.txt": "hello\n", "sub/a.yaml": "a: 1\n", "sub/b": "", "a.b": "x\n", "a/c": "y\n", "a-b": "z\n",
}

func TestGitIDs(t *testing.T) {
	t.Parallel()
	s := githubtest.New(githubtest.Options{})
	defer s.Close()
	c0 := s.Commit(nil, files)
	c1 := s.Commit([]string{c0}, nil)
	if c0 != commit0 || c1 != commit1 {
		t.Fatalf("commits %s %s, want %s %s", c0, c1, commit0, commit1)
	}
	type entry struct{ Path, Mode, Type, SHA string }
	type tree struct {
		SHA       string
		Tree      []entry
		Truncated bool
	}
	_, raw, _ := do(t, http.MethodGet, s.URL()+"/repos/o/r/git/trees/"+c0, "")
	want := tree{SHA: rootTree, Tree: []entry{
		{"a-b", "100644", "blob", "b68025345d5301abad4d9ec9166f455243a0d746"},
		{"a.b", "100644", "blob", "587be6b4c3f93f93c489c0111bba5596147a26cb"},
		{"a", "40000", "tree", "ba540554778146d37d80d0019c6bdfe4cb8548ba"},
		{"hello.txt", "100644", "blob", helloBlob},
		{"sub", "40000", "tree", subTree},
	}}
	if diff := cmp.Diff(want, decode[tree](t, raw)); diff != "" {
		t.Errorf("tree (-want +got):\n%s", diff)
	}
	_, raw, _ = do(t, http.MethodGet, s.URL()+"/repos/o/r/git/trees/"+subTree+"?recursive=1", "")
	wantSub := tree{SHA: subTree, Tree: []entry{{"a.yaml", "100644", "blob", "a8926a52d8dcba5c4386945476ab6a2ad008afd4"}, {"b", "100644", "blob", emptyBlob}}}
	if diff := cmp.Diff(wantSub, decode[tree](t, raw)); diff != "" {
		t.Errorf("subtree by its SHA (-want +got):\n%s", diff)
	}
	_, raw, _ = do(t, http.MethodGet, s.URL()+"/repos/o/r/git/trees/"+c1, "")
	if got := decode[tree](t, raw); got.SHA != emptyTree || len(got.Tree) != 0 {
		t.Errorf("empty tree %+v", got)
	}
}

func TestRecursiveTree(t *testing.T) {
	t.Parallel()
	s := githubtest.New(githubtest.Options{Prefix: githubtest.GHESPrefix})
	defer s.Close()
	s.SetBranch("main", s.Commit(nil, files))
	type listing struct {
		Tree []struct {
			Path string
			Type string
		}
		Truncated bool
	}
	paths := func(l listing) string {
		var p []string
		for _, e := range l.Tree {
			p = append(p, e.Path)
		}
		return strings.Join(p, " ")
	}
	_, raw, _ := do(t, http.MethodGet, s.URL()+"/repos/o/r/git/trees/main?recursive=1", "")
	if got, want := paths(decode[listing](t, raw)), "a-b a.b a a/c hello.txt sub sub/a.yaml sub/b"; got != want {
		t.Errorf("recursive tree %q, want %q", got, want)
	}
	s.TruncateTrees(3)
	_, raw, _ = do(t, http.MethodGet, s.URL()+"/repos/o/r/git/trees/main?recursive=1", "")
	if l := decode[listing](t, raw); !l.Truncated || len(l.Tree) != 3 {
		t.Errorf("truncated tree %+v", l)
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	s := githubtest.New(githubtest.Options{Repository: "octo/templates"})
	defer s.Close()
	status, body, _ := do(t, http.MethodGet, s.URL()+"/repos/octo/templates/commits/main", "")
	if status != http.StatusConflict || !strings.Contains(body, "Git Repository is empty.") {
		t.Errorf("empty repository: %d %s", status, body)
	}
	c0 := s.Push("main", map[string]string{"a": "1"})
	c1 := s.Push("main", map[string]string{"b": "2"})
	s.Tag("v1", c0)
	s.SetBranch("feature/x", c1)
	type commit struct {
		SHA    string
		Commit struct{ Tree struct{ SHA string } }
		Files  []struct{ Filename, Status string }
	}
	tests := []struct {
		ref    string
		status int
		sha    string
	}{
		{"main", 200, c1},
		{"refs/heads/main", 200, c1},
		{"v1", 200, c0},
		{"refs/tags/v1", 200, c0},
		{"feature/x", 200, c1},
		{c0, 200, c0},
		{c1[:7], 200, c1},
		{c1[:3], 422, ""},
		{"nope", 422, ""},
	}
	for _, tt := range tests {
		status, raw, _ := do(t, http.MethodGet, s.URL()+"/repos/octo/templates/commits/"+tt.ref, "")
		if status != tt.status {
			t.Errorf("%s: %d %s", tt.ref, status, raw)
			continue
		}
		if status != http.StatusOK {
			if want := "No commit found for SHA: " + tt.ref; !strings.Contains(raw, want) {
				t.Errorf("%s: %s, want %q", tt.ref, raw, want)
			}
			continue
		}
		if got := decode[commit](t, raw); got.SHA != tt.sha || len(got.Commit.Tree.SHA) != 40 {
			t.Errorf("%s: %+v, want %s", tt.ref, got, tt.sha)
		}
	}
	_, raw, _ := do(t, http.MethodGet, s.URL()+"/repos/octo/templates/commits/main", "")
	if got := decode[commit](t, raw); len(got.Files) != 1 || got.Files[0].Filename != "b" || got.Files[0].Status != "added" {
		t.Errorf("files of the last commit %+v", got.Files)
	}
	if status, _, _ := do(t, http.MethodGet, s.URL()+"/repos/octo/other/commits/main", ""); status != http.StatusNotFound {
		t.Errorf("another repository: %d", status)
	}
}

func TestContents(t *testing.T) {
	t.Parallel()
	s := githubtest.New(githubtest.Options{})
	defer s.Close()
	c0 := s.Push("main", files)
	s.Push("main", map[string]string{"sub/c": "new\n"})
	type entry struct{ Name, Path, SHA, Type string }
	tests := []struct {
		url    string
		status int
		want   []entry
	}{
		{"/contents/sub", 200, []entry{{"a.yaml", "sub/a.yaml", "a8926a52d8dcba5c4386945476ab6a2ad008afd4", "file"},
			{"b", "sub/b", emptyBlob, "file"}, {"c", "sub/c", "3e757656cf36eca53338e520d134963a44f793f8", "file"}}},
		{"/contents/sub?ref=" + c0, 200, []entry{{"a.yaml", "sub/a.yaml", "a8926a52d8dcba5c4386945476ab6a2ad008afd4", "file"},
			{"b", "sub/b", emptyBlob, "file"}}},
		{"/contents/?ref=" + c0, 200, []entry{{"a-b", "a-b", "b68025345d5301abad4d9ec9166f455243a0d746", "file"},
			{"a.b", "a.b", "587be6b4c3f93f93c489c0111bba5596147a26cb", "file"}, {"a", "a", "ba540554778146d37d80d0019c6bdfe4cb8548ba", "dir"},
			{"hello.txt", "hello.txt", helloBlob, "file"}, {"sub", "sub", subTree, "dir"}}},
		{"/contents/missing?ref=main", 404, nil},
		{"/contents/sub?ref=nope", 404, nil},
	}
	for _, tt := range tests {
		status, raw, _ := do(t, http.MethodGet, s.URL()+"/repos/o/r"+tt.url, "")
		if status != tt.status {
			t.Errorf("%s: %d %s", tt.url, status, raw)
			continue
		}
		if status != http.StatusOK {
			continue
		}
		if diff := cmp.Diff(tt.want, decode[[]entry](t, raw)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.url, diff)
		}
	}
	if _, raw, _ := do(t, http.MethodGet, s.URL()+"/repos/o/r/contents/sub?ref=nope", ""); !strings.Contains(raw, "No commit found for the ref nope") {
		t.Errorf("unknown ref: %s", raw)
	}
	_, raw, _ := do(t, http.MethodGet, s.URL()+"/repos/o/r/contents/hello.txt", "")
	if f := decode[struct{ Type, SHA, Content, Encoding string }](t, raw); f.Type != "file" || f.SHA != helloBlob || f.Content != "aGVsbG8K" {
		t.Errorf("file %+v", f)
	}
}

func TestCompare(t *testing.T) {
	t.Parallel()
	s := githubtest.New(githubtest.Options{})
	defer s.Close()
	a := s.Push("main", map[string]string{"f": "a"})
	b := s.Push("main", map[string]string{"f": "b"})
	s.SetBranch("feature", a)
	c := s.Push("feature", map[string]string{"g": "c"})
	d := s.Push("feature", map[string]string{"g": "d"})
	type cmpResult struct {
		Status    string               `json:"status"`
		AheadBy   int                  `json:"ahead_by"`
		BehindBy  int                  `json:"behind_by"`
		MergeBase struct{ SHA string } `json:"merge_base_commit"`
		Commits   []struct{ SHA string }
	}
	shas := func(r cmpResult) []string {
		var out []string
		for _, c := range r.Commits {
			out = append(out, c.SHA)
		}
		return out
	}
	tests := []struct {
		basehead      string
		status        string
		ahead, behind int
		commits       []string
	}{
		{"main...feature", "diverged", 2, 1, []string{c, d}},
		{"main...feature?per_page=1", "diverged", 2, 1, []string{c}},
		{"main...feature?per_page=1&page=2", "diverged", 2, 1, []string{d}},
		{a + "...main", "ahead", 1, 0, []string{b}},
		{"main..." + a, "behind", 0, 1, nil},
		{"main...main", "identical", 0, 0, nil},
	}
	for _, tt := range tests {
		status, raw, _ := do(t, http.MethodGet, s.URL()+"/repos/o/r/compare/"+tt.basehead, "")
		if status != http.StatusOK {
			t.Errorf("%s: %d %s", tt.basehead, status, raw)
			continue
		}
		got := decode[cmpResult](t, raw)
		if got.Status != tt.status || got.AheadBy != tt.ahead || got.BehindBy != tt.behind || !cmp.Equal(shas(got), tt.commits) {
			t.Errorf("%s: %s ahead %d behind %d %v; want %s %d %d %v", tt.basehead, got.Status, got.AheadBy, got.BehindBy, shas(got),
				tt.status, tt.ahead, tt.behind, tt.commits)
		}
		if got.MergeBase.SHA == "" {
			t.Errorf("%s: no merge base", tt.basehead)
		}
	}
	if status, _, _ := do(t, http.MethodGet, s.URL()+"/repos/o/r/compare/main...nope", ""); status != http.StatusNotFound {
		t.Errorf("unknown head: %d", status)
	}
}

func TestLatestRelease(t *testing.T) {
	t.Parallel()
	type rel struct {
		TagName    string `json:"tag_name"`
		Prerelease bool
		Draft      bool
	}
	tests := []struct {
		name string
		prep func(*githubtest.Server)
		want string // "" for a 404
	}{
		{"none", func(*githubtest.Server) {}, ""},
		{"newest stable", func(s *githubtest.Server) {
			s.Release("v1.0.0", false, false)
			s.Release("v1.1.0", false, false)
			s.Release("v2.0.0-rc.1", true, false)
			s.DraftRelease("v2.0.0")
		}, "v1.1.0"},
		{"marked latest", func(s *githubtest.Server) {
			s.Release("v1.0.0", false, true)
			s.Release("v1.1.0", false, false)
		}, "v1.0.0"},
		{"only drafts and prereleases", func(s *githubtest.Server) {
			s.DraftRelease("v1.0.0")
			s.Release("v1.0.0-rc.1", true, false)
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := githubtest.New(githubtest.Options{})
			defer s.Close()
			tt.prep(s)
			status, raw, _ := do(t, http.MethodGet, s.URL()+"/repos/o/r/releases/latest", "")
			switch {
			case tt.want == "" && status != http.StatusNotFound:
				t.Errorf("%d %s, want 404", status, raw)
			case tt.want != "" && decode[rel](t, raw).TagName != tt.want:
				t.Errorf("%s, want %s", raw, tt.want)
			}
		})
	}
}

func TestPerPageAndLinks(t *testing.T) {
	t.Parallel()
	s := githubtest.New(githubtest.Options{Prefix: githubtest.GHESPrefix})
	defer s.Close()
	for range 5 {
		s.AddComment("o/r", 3, githubtest.Comment{Body: "x"})
	}
	get := func(url string) ([]githubtest.Comment, string) {
		status, raw, link := do(t, http.MethodGet, url, "")
		if status != http.StatusOK {
			t.Fatalf("GET %s: %d", url, status)
		}
		return decode[[]githubtest.Comment](t, raw), link
	}
	page, link := get(s.URL() + "/repos/o/r/issues/3/comments?per_page=2")
	if len(page) != 2 || !strings.Contains(link, `/api/v3/repositories/500/issues/3/comments?per_page=2&page=2>; rel="next"`) ||
		!strings.Contains(link, `page=3>; rel="last"`) {
		t.Fatalf("page 1: %d comments, Link %q", len(page), link)
	}
	next := strings.TrimPrefix(strings.Split(link, ">")[0], "<")
	page, link = get(next)
	if len(page) != 2 || !strings.Contains(link, `rel="prev"`) || !strings.Contains(link, `rel="next"`) {
		t.Fatalf("page 2: %d comments, Link %q", len(page), link)
	}
	page, link = get(s.URL() + "/repos/o/r/issues/3/comments?per_page=2&page=3")
	if len(page) != 1 || strings.Contains(link, `rel="next"`) {
		t.Fatalf("page 3: %d comments, Link %q", len(page), link)
	}
	if page, _ := get(s.URL() + "/repos/o/r/issues/3/comments"); len(page) != 5 {
		t.Errorf("default page: %d comments, want 5 (per_page 30)", len(page))
	}
	if c := s.Counts(); c.List != 4 || c.Refused != 0 {
		t.Errorf("counts %+v", c)
	}
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	s := githubtest.New(githubtest.Options{})
	defer s.Close()
	post := func(ua, auth, body string) int {
		req, _ := http.NewRequest(http.MethodPost, s.URL()+"/repos/o/r/issues/3/comments", strings.NewReader(body))
		req.Header.Set("User-Agent", ua) // "" sends none
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Header.Get("X-GitHub-Request-Id") == "" {
			t.Error("no X-GitHub-Request-Id")
		}
		return resp.StatusCode
	}
	long := `{"body":"` + strings.Repeat("é", githubtest.MaxBody+1) + `"}`
	s.SetToken("good")
	for _, tt := range []struct {
		name, ua, auth, body string
		want                 int
	}{
		{"no user agent", "", "Bearer good", `{"body":"x"}`, http.StatusForbidden},
		{"no token", "ua", "", `{"body":"x"}`, http.StatusUnauthorized},
		{"wrong token", "ua", "Bearer bad", `{"body":"x"}`, http.StatusUnauthorized},
		{"blank body", "ua", "Bearer good", `{"body":" "}`, http.StatusUnprocessableEntity},
		{"too long", "ua", "Bearer good", long, http.StatusUnprocessableEntity},
		{"not JSON", "ua", "Bearer good", `body=x`, http.StatusBadRequest},
		{"ok", "ua", "Bearer good", `{"body":"x"}`, http.StatusCreated},
	} {
		if got := post(tt.ua, tt.auth, tt.body); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
	s.SetReadOnly(true)
	if got := post("ua", "Bearer good", `{"body":"x"}`); got != http.StatusForbidden {
		t.Errorf("read-only: %d", got)
	}
	if n := len(s.Comments("o/r", 3)); n != 1 {
		t.Errorf("%d comments, want 1", n)
	}
	s.SetReadOnly(false)
	for status, msg := range map[int]string{401: "Bad credentials", 403: "Resource not accessible by integration"} {
		s.RefuseAll(status)
		if got, raw, _ := do(t, http.MethodGet, s.URL()+"/repos/o/r", ""); got != status || !strings.Contains(raw, msg) {
			t.Errorf("RefuseAll(%d): %d %s", status, got, raw)
		}
	}
	s.RefuseAll(0)
	if got, _, _ := do(t, http.MethodGet, s.URL()+"/repos/o/r", ""); got != http.StatusUnauthorized {
		t.Errorf("after RefuseAll(0), the wrong token: %d", got) // "Bearer t" is not "good"
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	s := githubtest.New(githubtest.Options{})
	defer s.Close()
	s.Push("main", files)
	s.AddFault(githubtest.Fault{Op: githubtest.OpTree, Status: 500, Times: 2})
	s.AddFault(githubtest.Fault{Op: githubtest.OpCommit, Status: 200, Body: "{"})
	var got []int
	for range 3 {
		status, _, _ := do(t, http.MethodGet, s.URL()+"/repos/o/r/git/trees/main", "")
		got = append(got, status)
	}
	if want := []int{500, 500, 200}; !cmp.Equal(got, want) {
		t.Errorf("tree answers %v, want %v", got, want)
	}
	if status, raw, _ := do(t, http.MethodGet, s.URL()+"/repos/o/r/commits/main", ""); status != 200 || raw != "{" {
		t.Errorf("raw fault: %d %q", status, raw)
	}
	want := githubtest.Counts{Tree: 3, Commit: 1, Refused: 2}
	if diff := cmp.Diff(want, s.Counts()); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	reqs := s.Requests()
	if len(reqs) != 4 || reqs[0].Op != githubtest.OpTree || reqs[0].Path != "/repos/o/r/git/trees/main" || reqs[3].Op != githubtest.OpCommit {
		t.Errorf("requests %+v", reqs)
	}
}

func TestIdentityPullsAndDelete(t *testing.T) {
	t.Parallel()
	s := githubtest.New(githubtest.Options{Prefix: githubtest.GHESPrefix})
	defer s.Close()
	api := s.URL() + "/repos/o/r"
	type user struct{ Login, Type string }
	type pull struct {
		Number int
		Head   struct{ SHA string }
	}

	status, raw, _ := do(t, http.MethodGet, s.URL()+"/user", "")
	if status != http.StatusForbidden || !strings.Contains(raw, "Resource not accessible by integration") {
		t.Errorf("GET /user with GITHUB_TOKEN: %d %s", status, raw)
	}
	_, raw, _ = do(t, http.MethodPost, api+"/issues/3/comments", `{"body":"by the bot"}`)
	if c := decode[githubtest.Comment](t, raw); c.User != githubtest.Bot {
		t.Errorf("GITHUB_TOKEN's comment by %+v", c.User)
	}
	s.SetUser(githubtest.User{Login: "alice", Type: "User"})
	if status, raw, _ := do(t, http.MethodGet, s.URL()+"/user", ""); status != http.StatusOK || decode[user](t, raw) != (user{"alice", "User"}) {
		t.Errorf("GET /user with alice's token: %d %s", status, raw)
	}
	_, raw, _ = do(t, http.MethodPost, api+"/issues/3/comments", `{"body":"by alice"}`)
	byAlice := decode[githubtest.Comment](t, raw)
	if byAlice.User.Login != "alice" {
		t.Errorf("alice's comment by %+v", byAlice.User)
	}
	s.SetUser(githubtest.User{Login: "some-app[bot]", Type: "Bot"})
	if status, _, _ := do(t, http.MethodGet, s.URL()+"/user", ""); status != http.StatusForbidden {
		t.Errorf("GET /user with an app's installation token: %d", status)
	}
	req, _ := http.NewRequest(http.MethodGet, s.URL()+"/user", nil)
	req.Header.Set("User-Agent", "fake-test")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous GET /user: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	if status, _, _ := do(t, http.MethodGet, api+"/pulls/3", ""); status != http.StatusNotFound {
		t.Errorf("a pull request never set: %d", status)
	}
	s.SetPullHead("o/r", 3, commit0)
	if status, raw, _ := do(t, http.MethodGet, api+"/pulls/3", ""); status != http.StatusOK || decode[pull](t, raw).Head.SHA != commit0 || decode[pull](t, raw).Number != 3 {
		t.Errorf("GET pulls/3: %d %s", status, raw)
	}
	s.SetPullHead("o/r", 3, commit1)
	if _, raw, _ := do(t, http.MethodGet, api+"/pulls/3", ""); decode[pull](t, raw).Head.SHA != commit1 {
		t.Errorf("after a push: %s", raw)
	}

	del := api + "/issues/comments/" + strconv.FormatInt(byAlice.ID, 10)
	s.SetReadOnly(true)
	if status, raw, _ := do(t, http.MethodDelete, del, ""); status != http.StatusForbidden || !strings.Contains(raw, "delete-an-issue-comment") {
		t.Errorf("read-only delete: %d %s", status, raw)
	}
	s.SetReadOnly(false)
	if status, raw, _ := do(t, http.MethodDelete, del, ""); status != http.StatusNoContent || raw != "" {
		t.Errorf("delete: %d %q", status, raw)
	}
	if status, _, _ := do(t, http.MethodDelete, del, ""); status != http.StatusNotFound {
		t.Errorf("delete again: %d", status)
	}
	if all := s.Comments("o/r", 3); len(all) != 1 || all[0].Body != "by the bot" {
		t.Errorf("left %+v", all)
	}
	want := githubtest.Counts{Create: 2, Delete: 3, Pull: 3, User: 4, Refused: 6}
	if diff := cmp.Diff(want, s.Counts()); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
}
