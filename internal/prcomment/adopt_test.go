package prcomment_test

import (
	"context"
	"strings"
	"testing"

	"github.com/miosa-dev/sandbox-templates-action/internal/github/githubtest"
	"github.com/miosa-dev/sandbox-templates-action/internal/prcomment"
)

// Identities of the adoption tests.
var (
	someApp = githubtest.User{Login: "some-app[bot]", Type: "Bot"}
	alice   = githubtest.User{Login: "alice", Type: "User"}
	octocat = githubtest.User{Login: "octocat", Type: "User"}
)

// seed adds one marked comment of cfg's job per author, oldest first, each
// with write access as far as its association says, and returns them.
func seed(s *githubtest.Server, cfg prcomment.Config, authors ...githubtest.User) []githubtest.Comment {
	var out []githubtest.Comment
	for _, a := range authors {
		out = append(out, s.AddComment(repo, pr, githubtest.Comment{Body: marker(cfg) + "\nold", User: a, AuthorAssociation: "MEMBER"}))
	}
	return out
}

// bots is n times GITHUB_TOKEN's identity.
func bots(n int) []githubtest.User {
	out := make([]githubtest.User, n)
	for i := range out {
		out[i] = githubtest.Bot
	}
	return out
}

// unchanged fails when a comment of want is gone or its body changed.
func unchanged(t *testing.T, s *githubtest.Server, want ...githubtest.Comment) {
	t.Helper()
	byID := map[int64]string{}
	for _, c := range s.Comments(repo, pr) {
		byID[c.ID] = c.Body
	}
	for _, c := range want {
		if body, ok := byID[c.ID]; !ok || body != c.Body {
			t.Errorf("comment %d by %s was touched: present %v, body %q", c.ID, c.User.Login, ok, body)
		}
	}
}

func TestAdoption(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		token   githubtest.User   // the token's identity; zero: GITHUB_TOKEN's
		authors []githubtest.User // of the marked comments there, oldest first
		adopted int               // index in authors of the comment edited; -1: a new one is made
		users   int               // GET /user requests
	}{
		{"GITHUB_TOKEN adopts github-actions[bot]'s", githubtest.User{}, []githubtest.User{githubtest.Bot}, 0, 0},
		{"GITHUB_TOKEN leaves another app's bot alone", githubtest.User{}, []githubtest.User{someApp}, -1, 1},
		{"GITHUB_TOKEN leaves a member's alone", githubtest.User{}, []githubtest.User{octocat}, -1, 1},
		{"GET /user is asked once a run", githubtest.User{}, []githubtest.User{someApp, octocat, someApp}, -1, 1},
		{"a person's token adopts its own", alice, []githubtest.User{octocat, alice}, 1, 1},
		{"logins compare without case", githubtest.User{Login: "Alice", Type: "User"}, []githubtest.User{alice}, 0, 1},
		{"a person's token adopts github-actions[bot]'s", alice, []githubtest.User{githubtest.Bot}, 0, 0},
		{"a person's token leaves another person's alone", alice, []githubtest.User{octocat}, -1, 1},
		// GitHub does not say who an installation token is: only
		// github-actions[bot] counts, and another app's comments are
		// never adopted, its own included.
		{"an app's installation token", someApp, []githubtest.User{someApp}, -1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, cfg := setup(t)
			token := githubtest.Bot
			if tt.token != (githubtest.User{}) {
				token = tt.token
				srv.SetUser(token)
			}
			there := seed(srv, cfg, tt.authors...)
			res, err := prcomment.Post(context.Background(), cfg, "## Plan")
			noCanary(t, res, err)
			if err != nil {
				t.Fatal(err)
			}
			all := srv.Comments(repo, pr)
			if tt.adopted >= 0 {
				if res.Outcome != prcomment.Updated || res.CommentID != there[tt.adopted].ID || len(all) != len(there) {
					t.Errorf("%v of comment %d, %d comments; want comment %d updated", res.Outcome, res.CommentID, len(all), there[tt.adopted].ID)
				}
				there = append(there[:tt.adopted], there[tt.adopted+1:]...)
			} else {
				last := all[len(all)-1]
				if res.Outcome != prcomment.Created || len(all) != len(there)+1 || last.ID != res.CommentID || !strings.EqualFold(last.User.Login, token.Login) {
					t.Errorf("%v of comment %d, %d comments, the last by %s; want one created by %s", res.Outcome, res.CommentID, len(all), last.User.Login, token.Login)
				}
			}
			unchanged(t, srv, there...)
			if c := srv.Counts(); c.User != tt.users || c.Delete != 0 {
				t.Errorf("%d GET /user, %d deletes; want %d and none", c.User, c.Delete, tt.users)
			}
		})
	}
}

// Nothing learnt of the token outlives its run: a comment the last run's
// token wrote is not the next token's.
func TestIdentityPerRun(t *testing.T) {
	t.Parallel()
	srv, cfg := setup(t)
	seed(srv, cfg, someApp) // makes each run ask who its token is
	srv.SetUser(alice)
	first, err := prcomment.Post(context.Background(), cfg, "one")
	if err != nil || first.Outcome != prcomment.Created {
		t.Fatalf("%v, %v", first, err)
	}
	srv.SetUser(octocat)
	second, err := prcomment.Post(context.Background(), cfg, "two")
	if err != nil || second.Outcome != prcomment.Created || second.CommentID == first.CommentID {
		t.Fatalf("%v, %v: want a new comment, alice's left alone", second, err)
	}
	if c := srv.Counts(); c.User != 2 {
		t.Errorf("%d GET /user, want one a run", c.User)
	}
}

func TestEditRefused(t *testing.T) {
	t.Parallel()
	rateLimit := githubtest.Fault{Op: githubtest.OpUpdate, Status: 403, Header: map[string]string{"Retry-After": "0"},
		Message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}
	tests := []struct {
		name     string
		copies   int // this job's comments there
		fault    githubtest.Fault
		outcome  prcomment.Outcome
		err      string // substring; "" for none
		kept     int    // index of the comment kept among copies; -1 a new one
		requests int
	}{
		{"403", 1, githubtest.Fault{Op: githubtest.OpUpdate, Status: 403, Message: "Resource not accessible by integration"}, prcomment.Created, "", -1, 3},
		{"comment deleted before the update", 1, githubtest.Fault{Op: githubtest.OpUpdate, Status: 404}, prcomment.Created, "", -1, 3},
		{"422 on update", 1, githubtest.Fault{Op: githubtest.OpUpdate, Status: 422, Message: "Validation Failed", Errors: []string{"body cannot be blank"}},
			prcomment.Created, "", -1, 3},
		{"the next copy takes the edit", 2, githubtest.Fault{Op: githubtest.OpUpdate, Status: 403}, prcomment.Updated, "", 1, 3},
		{"a rate limit is no refusal", 1, rateLimit, prcomment.Updated, "", 0, 3},
		{"a 503 is no refusal", 1, githubtest.Fault{Op: githubtest.OpUpdate, Status: 503, Times: 3}, prcomment.Skipped,
			"update comment: HTTP 503: Service Unavailable (3 attempts", -1, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, cfg := setup(t)
			cfg.Mode = prcomment.ModeAlways
			there := seed(srv, cfg, bots(tt.copies)...)
			srv.AddFault(tt.fault)
			res, err := prcomment.Post(context.Background(), cfg, "new")
			noCanary(t, res, err)
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("error %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("error %v, want %q", err, tt.err)
			}
			if res.Outcome != tt.outcome {
				t.Errorf("outcome %v, want %v (%s)", res.Outcome, tt.outcome, res.Message)
			}
			refused := there
			if tt.kept >= 0 {
				refused = there[:tt.kept]
				if res.CommentID != there[tt.kept].ID {
					t.Errorf("comment %d kept, want %d", res.CommentID, there[tt.kept].ID)
				}
			}
			unchanged(t, srv, refused...)
			if n, want := len(srv.Comments(repo, pr)), len(there)+srv.Counts().Create; n != want || srv.Counts().Delete != 0 {
				t.Errorf("%d comments, %d deletes; want %d and none", n, srv.Counts().Delete, want)
			}
			if n := len(srv.Requests()); n != tt.requests {
				t.Errorf("%d requests (%+v), want %d", n, srv.Counts(), tt.requests)
			}
		})
	}
}
