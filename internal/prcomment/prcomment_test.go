package prcomment_test

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
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/miosa-dev/sandbox-templates-action/internal/github"
	"github.com/miosa-dev/sandbox-templates-action/internal/github/githubtest"
	"github.com/miosa-dev/sandbox-templates-action/internal/prcomment"
)

// canary is the token of every test: it must never show up in a result or an error.
const canary = "ghs_CANARYtoken0123456789abcdefXYZ"

const (
	repo   = "octo/templates"
	pr     = 7
	runURL = "https://github.com/octo/templates/actions/runs/42"
)

// setup starts a fake GitHub and returns it with a Config pointing at it.
func setup(t *testing.T) (*githubtest.Server, prcomment.Config) {
	t.Helper()
	srv := githubtest.New(githubtest.Options{Prefix: githubtest.GHESPrefix})
	t.Cleanup(srv.Close)
	return srv, prcomment.Config{
		APIURL:     srv.URL(),
		Token:      canary,
		Repository: repo,
		PR:         pr,
		Marker:     prcomment.Marker("Sandbox templates", "validate", ""),
		Mode:       prcomment.ModeAuto,
		RunURL:     runURL,
		UserAgent:  "prcomment-test",
		RetryWait:  time.Millisecond,
	}
}

// noCanary fails when the token shows in res, err or their formatted forms.
func noCanary(t *testing.T, res prcomment.Result, err error) {
	t.Helper()
	s := fmt.Sprintf("%v %+v %#v %s", res, res, res, res.Message)
	if err != nil {
		s += err.Error() + fmt.Sprintf("%+v %#v", err, err)
	}
	if strings.Contains(s, canary) || strings.Contains(s, canary[4:20]) {
		t.Errorf("the token leaked: %s", s)
	}
}

// marker is the hidden first line of the test's comments.
func marker(cfg prcomment.Config) string {
	first, _, _ := strings.Cut(prcomment.Body(cfg.Marker, "", "x", ""), "\n")
	return first
}

func TestStickyComment(t *testing.T) {
	t.Parallel()
	srv, cfg := setup(t)
	other := srv.AddComment(repo, pr, githubtest.Comment{Body: "LGTM"})
	otherJob := srv.AddComment(repo, pr, githubtest.Comment{
		Body: prcomment.Body(prcomment.Marker("Sandbox templates", "plan", ""), "", "the plan job's", ""), User: githubtest.Bot,
	})
	// Someone without write access copies this job's marker: never edited.
	spoof := srv.AddComment(repo, pr, githubtest.Comment{Body: marker(cfg) + "\nno changes, merge away", AuthorAssociation: "CONTRIBUTOR"})

	res, err := prcomment.Post(context.Background(), cfg, "## Plan\n\n1 to create")
	noCanary(t, res, err)
	if err != nil || res.Outcome != prcomment.Created {
		t.Fatalf("first push: %v, %v", res, err)
	}
	first := res.CommentID

	res, err = prcomment.Post(context.Background(), cfg, "## Plan\n\n2 to create")
	noCanary(t, res, err)
	if err != nil || res.Outcome != prcomment.Updated || res.CommentID != first {
		t.Fatalf("second push: %v, %v (first comment %d)", res, err, first)
	}
	updates := srv.Counts().Update

	res, err = prcomment.Post(context.Background(), cfg, "## Plan\n\n2 to create")
	if err != nil || res.Outcome != prcomment.Updated || res.CommentID != first || !strings.Contains(res.Message, "up to date") {
		t.Fatalf("same text again: %v, %v", res, err)
	}
	if n := srv.Counts().Update; n != updates {
		t.Errorf("an unchanged text was sent again (%d updates, want %d)", n, updates)
	}

	got := srv.Comments(repo, pr)
	want := []githubtest.Comment{other, otherJob, spoof}
	if len(got) != 4 {
		t.Fatalf("%d comments, want 4: %+v", len(got), got)
	}
	for i, c := range want {
		if got[i].Body != c.Body {
			t.Errorf("comment %d changed: %q, want %q", c.ID, got[i].Body, c.Body)
		}
	}
	if got[3].ID != first || got[3].Body != marker(cfg)+"\n## Plan\n\n2 to create\n" {
		t.Errorf("this job's comment is %d %q", got[3].ID, got[3].Body)
	}
	if res.URL != got[3].HTMLURL || !strings.Contains(res.Message, got[3].HTMLURL) {
		t.Errorf("result %+v does not name %s", res, got[3].HTMLURL)
	}
	for _, r := range srv.Requests() {
		if r.Authorization != "Bearer "+canary {
			t.Errorf("%s %s sent Authorization %q", r.Method, r.Path, r.Authorization)
		}
	}
}

func TestOneCommentPerJob(t *testing.T) {
	t.Parallel()
	srv, cfg := setup(t)
	for _, job := range []string{"validate", "plan", "validate", "plan"} {
		c := cfg
		c.Marker = prcomment.Marker("Sandbox templates", job, "")
		if _, err := prcomment.Post(context.Background(), c, job); err != nil {
			t.Fatal(err)
		}
	}
	if got := srv.Comments(repo, pr); len(got) != 2 {
		t.Errorf("%d comments, want 2", len(got))
	}
	if c := srv.Counts(); c.Create != 2 || c.Update != 0 {
		t.Errorf("counts %+v: want 2 creates and no update (the texts did not change)", c)
	}
}

func TestPagination(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		before  int // foreign comments before this job's
		ours    bool
		lists   int
		outcome prcomment.Outcome
	}{
		{"found on page 2", 150, true, 2, prcomment.Updated},
		{"found at the end of page 1, page 2 read for copies", 99, true, 2, prcomment.Updated},
		{"not on any of 3 pages", 250, false, 3, prcomment.Created},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, cfg := setup(t)
			for i := range tt.before {
				srv.AddComment(repo, pr, githubtest.Comment{Body: fmt.Sprintf("comment %d", i)})
			}
			var id int64
			if tt.ours {
				id = srv.AddComment(repo, pr, githubtest.Comment{Body: marker(cfg) + "\nold", User: githubtest.Bot}).ID
				srv.AddComment(repo, pr, githubtest.Comment{Body: "after"})
			}
			res, err := prcomment.Post(context.Background(), cfg, "new")
			noCanary(t, res, err)
			if err != nil || res.Outcome != tt.outcome || tt.ours && res.CommentID != id {
				t.Fatalf("%v, %v; want %v of %d", res, err, tt.outcome, id)
			}
			var lists []string
			for _, r := range srv.Requests() {
				if r.Method == http.MethodGet {
					lists = append(lists, r.Path+"?"+r.RawQuery)
				}
			}
			if len(lists) != tt.lists {
				t.Errorf("lists %q, want %d", lists, tt.lists)
			}
			if want := "/repos/octo/templates/issues/7/comments?per_page=100"; lists[0] != want {
				t.Errorf("first list %q, want %q", lists[0], want)
			}
			for i, l := range lists[1:] {
				if want := fmt.Sprintf("/repos/octo/templates/issues/7/comments?page=%d&per_page=100", i+2); l != want {
					t.Errorf("list %d is %q, want %q", i+2, l, want)
				}
			}
		})
	}
}

func TestAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		mode    string
		prep    func(*githubtest.Server, *prcomment.Config)
		outcome prcomment.Outcome
		err     string // substring of the error; "" for none
		message string // substring of Result.Message
		creates int    // create requests the fake received
		total   int    // requests the fake received; -1: do not check
	}{
		{
			name: "read-only token, auto", mode: prcomment.ModeAuto,
			prep:    func(s *githubtest.Server, _ *prcomment.Config) { s.SetReadOnly(true) },
			outcome: prcomment.ReadOnly, message: "may not comment on pull request #7 (HTTP 403: Resource not accessible by integration)",
			creates: 1, total: 2,
		},
		{
			name: "read-only token, always", mode: prcomment.ModeAlways,
			prep:    func(s *githubtest.Server, _ *prcomment.Config) { s.SetReadOnly(true) },
			outcome: prcomment.ReadOnly, err: "pr-comment: create comment: HTTP 403: Resource not accessible by integration",
			creates: 1, total: 2,
		},
		{
			name: "read-only token edits, auto", mode: prcomment.ModeAuto,
			prep: func(s *githubtest.Server, c *prcomment.Config) {
				s.AddComment(repo, pr, githubtest.Comment{Body: marker(*c) + "\nold", User: githubtest.Bot})
				s.SetReadOnly(true)
			},
			outcome: prcomment.ReadOnly, message: "HTTP 403", creates: 1, total: 3, // the refused edit, then the create
		},
		{
			name: "private repository hidden from the token, auto", mode: prcomment.ModeAuto,
			prep: func(s *githubtest.Server, _ *prcomment.Config) {
				s.AddFault(githubtest.Fault{Op: githubtest.OpList, Status: 404, Message: "Not Found"})
			},
			outcome: prcomment.ReadOnly, message: "HTTP 404: Not Found", total: 1,
		},
		{
			name: "never", mode: prcomment.ModeNever,
			outcome: prcomment.Skipped, message: "pr-comment is never", total: 0,
		},
		{
			name: "not a pull request, always", mode: prcomment.ModeAlways,
			prep:    func(_ *githubtest.Server, c *prcomment.Config) { c.PR = 0 },
			outcome: prcomment.Skipped, message: "not a pull request", total: 0,
		},
		{
			name: "no token, auto", mode: prcomment.ModeAuto,
			prep:    func(_ *githubtest.Server, c *prcomment.Config) { c.Token = "" },
			outcome: prcomment.Skipped, message: "github-token is empty", total: 0,
		},
		{
			name: "no token, always", mode: prcomment.ModeAlways,
			prep: func(_ *githubtest.Server, c *prcomment.Config) { c.Token = "" },
			err:  "always needs a github-token", total: 0,
		},
		{
			name: "422", mode: prcomment.ModeAuto,
			prep: func(s *githubtest.Server, _ *prcomment.Config) {
				s.AddFault(githubtest.Fault{Op: githubtest.OpCreate, Status: 422, Message: "Validation Failed",
					Errors: []string{"body is too long (maximum is 65536 characters)"}})
			},
			err:     "pr-comment: create comment: HTTP 422: Validation Failed: body is too long (maximum is 65536 characters)",
			creates: 1, total: 2,
		},
		{
			name: "wrong token", mode: prcomment.ModeAuto,
			prep: func(s *githubtest.Server, _ *prcomment.Config) { s.SetToken("ghs_another") },
			err:  "list comments: HTTP 401: Bad credentials; the token was refused (X-GitHub-Request-Id FA4E:0001)", total: 1,
		},
		{
			name: "the token echoed in GitHub's message", mode: prcomment.ModeAuto,
			prep: func(s *githubtest.Server, _ *prcomment.Config) {
				s.AddFault(githubtest.Fault{Op: githubtest.OpList, Status: 400, Message: "bad token " + canary})
			},
			err: "HTTP 400: bad token [REDACTED]", total: 1,
		},
		{
			name: "secondary rate limit, then created", mode: prcomment.ModeAlways,
			prep: func(s *githubtest.Server, _ *prcomment.Config) {
				s.AddFault(githubtest.Fault{Op: githubtest.OpCreate, Status: 403,
					Message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
					Header:  map[string]string{"Retry-After": "0"}})
			},
			outcome: prcomment.Created, creates: 2, total: 3,
		},
		{
			name: "rate limit asking for an hour", mode: prcomment.ModeAuto,
			prep: func(s *githubtest.Server, _ *prcomment.Config) {
				s.AddFault(githubtest.Fault{Op: githubtest.OpList, Status: 429, Header: map[string]string{"Retry-After": "3600"}})
			},
			err: "HTTP 429: Too Many Requests; GitHub's rate limit", total: 1,
		},
		{
			name: "lost answer to a create", mode: prcomment.ModeAlways,
			prep: func(s *githubtest.Server, _ *prcomment.Config) {
				s.AddFault(githubtest.Fault{Op: githubtest.OpCreate, Status: 502, Apply: true})
			},
			outcome: prcomment.Updated, message: "up to date", creates: 1, total: 3,
		},
		{
			name: "503 on every list", mode: prcomment.ModeAuto,
			prep: func(s *githubtest.Server, _ *prcomment.Config) {
				s.AddFault(githubtest.Fault{Op: githubtest.OpList, Status: 503, Times: 5})
			},
			err: "list comments: HTTP 503: Service Unavailable (3 attempts, X-GitHub-Request-Id FA4E:0003)", total: 3,
		},
		{
			name: "GET /user failing", mode: prcomment.ModeAuto,
			prep: func(s *githubtest.Server, c *prcomment.Config) {
				s.AddComment(repo, pr, githubtest.Comment{Body: marker(*c) + "\nold", User: githubtest.User{Login: "some-app[bot]", Type: "Bot"}})
				s.AddFault(githubtest.Fault{Op: githubtest.OpUser, Status: 503, Times: 3})
			},
			err: "get the token's user: HTTP 503: Service Unavailable (3 attempts", total: 4,
		},
		{
			name: "not a list", mode: prcomment.ModeAuto,
			prep: func(s *githubtest.Server, _ *prcomment.Config) {
				s.AddFault(githubtest.Fault{Op: githubtest.OpList, Status: 200})
			},
			err: "list comments: HTTP 200: unreadable answer: not a list of comments", total: 1,
		},
		{
			name: "bad repository", mode: prcomment.ModeAuto,
			prep: func(_ *githubtest.Server, c *prcomment.Config) { c.Repository = "../etc" },
			err:  `repository "../etc" is not owner/name`, total: 0,
		},
		{
			name: "plain http elsewhere", mode: prcomment.ModeAuto,
			prep: func(_ *githubtest.Server, c *prcomment.Config) { c.APIURL = "http://github.example.com/api/v3" },
			err:  "is plain http: the token would travel unencrypted", total: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, cfg := setup(t)
			cfg.Mode = tt.mode
			if tt.prep != nil {
				tt.prep(srv, &cfg)
			}
			res, err := prcomment.Post(context.Background(), cfg, "## Plan")
			noCanary(t, res, err)
			switch {
			case tt.err == "" && err != nil:
				t.Errorf("error %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Errorf("error %v, want one containing %q", err, tt.err)
			}
			if res.Outcome != tt.outcome {
				t.Errorf("outcome %v, want %v (%s)", res.Outcome, tt.outcome, res.Message)
			}
			if !strings.Contains(res.Message, tt.message) || strings.Contains(res.Message, "\n") {
				t.Errorf("message %q, want one line containing %q", res.Message, tt.message)
			}
			c := srv.Counts()
			if n := len(srv.Requests()); tt.total >= 0 && n != tt.total {
				t.Errorf("%d requests (%+v), want %d", n, c, tt.total)
			}
			if c.Create != tt.creates {
				t.Errorf("%d creates, want %d", c.Create, tt.creates)
			}
			if n := len(srv.Comments(repo, pr)); n > 1 {
				t.Errorf("%d comments", n)
			}
		})
	}
}

func TestTruncation(t *testing.T) {
	t.Parallel()
	srv, cfg := setup(t)
	var md strings.Builder
	md.WriteString("## Plan\n\n<details><summary>diff</summary>\n\n```diff\n")
	for i := 0; md.Len() < 3*prcomment.MaxLen; i++ {
		fmt.Fprintf(&md, "+ étape %d: ünïcödé\n", i)
	}
	md.WriteString("```\n</details>\n")
	res, err := prcomment.Post(context.Background(), cfg, md.String())
	if err != nil || res.Outcome != prcomment.Created || !res.Truncated || !strings.Contains(res.Message, "cut to fit") {
		t.Fatalf("%+v, %v", res, err)
	}
	got := srv.Comments(repo, pr)[0].Body
	if len(got) > prcomment.MaxLen || utf8.RuneCountInString(got) > githubtest.MaxBody {
		t.Errorf("body of %d bytes", len(got))
	}
	if len(got) < prcomment.MaxLen-200 {
		t.Errorf("body of %d bytes wastes the room", len(got))
	}
	wantEnd := "```\n</details>\n\n---\n\n**Cut to fit GitHub's limit of 65,536 characters.** The full text is in the [job summary](<" + runURL + ">).\n"
	if !strings.HasSuffix(got, wantEnd) {
		t.Errorf("body ends %q, want %q", got[len(got)-300:], wantEnd)
	}
	if !strings.HasPrefix(got, marker(cfg)+"\n## Plan\n") {
		t.Errorf("body starts %q", got[:100])
	}
	lines := strings.Split(strings.TrimSuffix(got, wantEnd), "\n")
	if last := lines[len(lines)-2]; !strings.HasPrefix(last, "+ étape ") || !strings.HasSuffix(last, "ünïcödé") {
		t.Errorf("cut inside a line: %q", last)
	}
}

func TestBody(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", prcomment.MaxLen)
	tests := []struct {
		name, marker, markdown, runURL string
		want                           string // whole body, or its end when cut
		cut                            bool
	}{
		{"fits", "w/j", "hello\n\n", runURL, "<!-- sandbox-templates-action: w/j -->\nhello\n", false},
		{"marker cannot end the comment", "a-->b\n<!--c", "hi", "", "<!-- sandbox-templates-action: a-%2D%3Eb%0A%3C!-%2Dc -->\nhi\n", false},
		{"one huge line", "m", long, runURL, "<!-- sandbox-templates-action: m -->\n\n---\n\n**Cut", true},
		{"no run URL", "m", "a\n" + long, "", "a\n\n---\n\n**Cut to fit GitHub's limit of 65,536 characters.** The full text is in this run's job summary.\n", true},
		{"a run URL that would break the link", "m", "a\n" + long, "https://x/<y>", "in this run's job summary.\n", true},
		{"tilde fence", "m", "~~~~\n" + long, "", "~~~~\n~~~~\n\n---\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := prcomment.Body(tt.marker, "", tt.markdown, tt.runURL)
			switch {
			case len(got) > prcomment.MaxLen:
				t.Errorf("%d bytes", len(got))
			case !tt.cut && got != tt.want:
				t.Error(cmp.Diff(tt.want, got))
			case tt.cut && !strings.Contains(got, tt.want):
				t.Errorf("cut body %q does not contain %q", got[max(len(got)-400, 0):], tt.want)
			}
			if first, _, _ := strings.Cut(got, "\n"); strings.Count(first, "-->") != 1 || strings.Count(first, "<!--") != 1 {
				t.Errorf("first line %q", first)
			}
		})
	}
}

func TestMarker(t *testing.T) {
	t.Parallel()
	triples := [][3]string{{"a/b", "c", ""}, {"a", "b/c", ""}, {"CI", "validate", ""}, {"CI ", "validate", ""}, {"ci", "validate", ""},
		{"a%2F", "b", ""}, {"a", "b", "c"}, {"a/b", "c", "d"}, {"a", "b/c", "d"}, {"a", "b", "c/d"}, {"a", "b", "c%2Fd"}, {"CI", "validate", "prod"}}
	seen := map[string][3]string{}
	for _, p := range triples {
		m := prcomment.Marker(p[0], p[1], p[2])
		if q, dup := seen[m]; dup {
			t.Errorf("%q and %q give one marker %q", p, q, m)
		}
		seen[m] = p
	}
	// Without a label, the marker is the one versions before labels wrote.
	if m := prcomment.Marker("Sandbox templates", "plan", ""); m != "Sandbox%20templates/plan" {
		t.Errorf("the unlabelled marker is %q, want the one of earlier versions", m)
	}
}

func TestConfigFormat(t *testing.T) {
	t.Parallel()
	_, cfg := setup(t)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		if s := fmt.Sprintf(verb, cfg); strings.Contains(s, canary) || !strings.Contains(s, "[REDACTED]") {
			t.Errorf("%s: %s", verb, s)
		}
	}
}

// elsewhere is a server the token must never reach; it counts requests
// carrying an Authorization header.
func elsewhere(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var got atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			got.Add(1)
		}
		_, _ = w.Write([]byte("[]"))
	}))
	t.Cleanup(srv.Close)
	return srv, &got
}

func TestTokenStaysWithTheAPI(t *testing.T) {
	t.Parallel()
	other, reached := elsewhere(t)
	// nextElsewhere answers the first page with a Link header whose next
	// page is outside the API URL, at next.
	nextElsewhere := func(next string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && r.URL.Query().Get("page") == "" {
				w.Header().Set("Link", `<`+next+`>; rel="next"`)
			}
			if r.Method == http.MethodPost {
				w.WriteHeader(http.StatusCreated)
				_, _ = w.Write([]byte(`{"id": 1}`))
				return
			}
			_, _ = w.Write([]byte("[]"))
		}
	}
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		err      string // "" for none
		requests int    // requests the API got
		page2    bool   // the second page was asked of the API
	}{
		{"redirect", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
		}, "list comments: HTTP 307: a redirect, not followed (to " + other.URL, 1, false},
		{"moved repository", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/api/v3/repositories/1/issues/7/comments", http.StatusMovedPermanently)
		}, "HTTP 301: a redirect, not followed", 1, false},
		{"next page elsewhere", nextElsewhere(other.URL + "/api/v3/repositories/1/issues/7/comments?page=2"), "", 3, true},
		{"next page outside the base path", nextElsewhere("/api/v3/../login?page=2"), "", 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var requests atomic.Int32
			var page2 atomic.Bool
			api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				if r.URL.Path == "/api/v3/repos/octo/templates/issues/7/comments" && r.URL.Query().Get("page") == "2" {
					page2.Store(true)
				}
				tt.handler(w, r)
			}))
			defer api.Close()
			_, cfg := setup(t)
			cfg.APIURL = api.URL + "/api/v3"
			res, err := prcomment.Post(context.Background(), cfg, "x")
			noCanary(t, res, err)
			switch {
			case tt.err == "" && err != nil:
				t.Errorf("error %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Errorf("error %v, want %q", err, tt.err)
			}
			if n := requests.Load(); int(n) != tt.requests {
				t.Errorf("%d requests to the API, want %d", n, tt.requests)
			}
			if page2.Load() != tt.page2 {
				t.Errorf("page 2 asked of the API: %v, want %v", page2.Load(), tt.page2)
			}
		})
	}
	if n := reached.Load(); n != 0 {
		t.Errorf("the other server got %d requests with a token", n)
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	srv, cfg := setup(t)
	srv.AddFault(githubtest.Fault{Op: githubtest.OpList, Status: 503, Times: 3})
	cfg.RetryWait = time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := prcomment.Post(ctx, cfg, "x"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want the context's", err)
	}
}

func TestNoAnswer(t *testing.T) {
	t.Parallel()
	srv, cfg := setup(t)
	srv.Close()
	res, err := prcomment.Post(context.Background(), cfg, "x")
	noCanary(t, res, err)
	var ge *github.Error
	if !errors.As(err, &ge) || ge.Status != 0 || ge.Attempts != 3 || !strings.Contains(err.Error(), "list comments: ") ||
		!strings.Contains(err.Error(), "(3 attempts)") {
		t.Errorf("error %v", err)
	}
}
