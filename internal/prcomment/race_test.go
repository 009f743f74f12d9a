package prcomment_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/miosa-dev/sandbox-templates-action/internal/github/githubtest"
	"github.com/miosa-dev/sandbox-templates-action/internal/prcomment"
)

// sha is a made-up commit SHA, different for each n.
func sha(n int) string { return fmt.Sprintf("%040x", 0xc0ffee00+n) }

// headed is setup for a run of the pull request's head sha(0).
func headed(t *testing.T) (*githubtest.Server, prcomment.Config) {
	t.Helper()
	srv, cfg := setup(t)
	cfg.HeadSHA = sha(0)
	srv.SetPullHead(repo, pr, sha(0))
	return srv, cfg
}

// recorded is the head a comment's hidden second line names, or "".
func recorded(body string) string {
	_, rest, _ := strings.Cut(body, "\n")
	second, _, _ := strings.Cut(rest, "\n")
	h, ok := strings.CutPrefix(second, "<!-- sandbox-templates head: ")
	if !ok {
		return ""
	}
	return strings.TrimSuffix(h, " -->")
}

// marked returns the comments of cfg's job.
func marked(s *githubtest.Server, cfg prcomment.Config) []githubtest.Comment {
	var out []githubtest.Comment
	for _, c := range s.Comments(repo, pr) {
		if strings.HasPrefix(c.Body, marker(cfg)+"\n") {
			out = append(out, c)
		}
	}
	return out
}

func TestCopies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		oldest  string // the oldest copy's text; "## Plan" is up to date
		fault   *githubtest.Fault
		copies  int    // comments of this job there, oldest first
		message string // substring of the result's message
		left    int    // copies left after the run
	}{
		{"three: the oldest is edited, the others deleted", "old", nil, 3, "comment 1001 updated: https://github.com/octo/templates/pull/7#issuecomment-1001; 2 newer copies deleted", 1},
		{"the oldest is up to date", "## Plan", nil, 2, "is up to date: https://github.com/octo/templates/pull/7#issuecomment-1001; 1 newer copy deleted", 1},
		{"a copy already gone", "old", &githubtest.Fault{Op: githubtest.OpDelete, Status: 404, Apply: true}, 2, "1 newer copy deleted", 1},
		{"a delete refused", "old", &githubtest.Fault{Op: githubtest.OpDelete, Status: 403, Message: "Resource not accessible by integration"}, 3,
			"1 newer copy deleted; 1 newer copy left (HTTP 403: Resource not accessible by integration)", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, cfg := headed(t)
			cfg.Mode = prcomment.ModeAlways
			var there []githubtest.Comment
			for i := range tt.copies {
				body := prcomment.Body(cfg.Marker, cfg.HeadSHA, "old", "")
				if i == 0 {
					body = prcomment.Body(cfg.Marker, cfg.HeadSHA, tt.oldest, "")
				}
				there = append(there, srv.AddComment(repo, pr, githubtest.Comment{Body: body, User: githubtest.Bot}))
				srv.AddComment(repo, pr, githubtest.Comment{Body: "a review"})
			}
			if tt.fault != nil {
				srv.AddFault(*tt.fault)
			}
			res, err := prcomment.Post(context.Background(), cfg, "## Plan")
			noCanary(t, res, err)
			if err != nil || res.Outcome != prcomment.Updated || res.CommentID != there[0].ID || !strings.Contains(res.Message, tt.message) {
				t.Fatalf("%+v, %v; want comment %d updated, a message containing %q", res, err, there[0].ID, tt.message)
			}
			left := marked(srv, cfg)
			if len(left) != tt.left || left[0].ID != there[0].ID || left[0].Body != prcomment.Body(cfg.Marker, cfg.HeadSHA, "## Plan", "") {
				t.Errorf("left %+v; want %d, the oldest first with the new text", left, tt.left)
			}
			if n := len(srv.Comments(repo, pr)) - len(left); n != tt.copies {
				t.Errorf("%d other comments, want the %d reviews", n, tt.copies)
			}
		})
	}
}

func TestHead(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		head     string // the run's head
		current  string // the pull request's head; "" for no pull request
		existing string // the head the comment there records; "" for no comment
		fault    *githubtest.Fault
		outcome  prcomment.Outcome
		err      string // substring; "" for none
		message  string // substring of the result's message
		recorded string // the head the comment records after the run; "" for no comment
		requests string // the endpoints asked, in order
	}{
		{name: "current, no comment yet", head: sha(1), current: sha(1),
			outcome: prcomment.Created, recorded: sha(1), requests: "list pull create"},
		{name: "current, a comment of an older head", head: sha(2), current: sha(2), existing: sha(1),
			outcome: prcomment.Updated, recorded: sha(2), requests: "list pull update"},
		{name: "an older head does not replace the newer head's comment", head: sha(1), current: sha(2), existing: sha(2),
			outcome: prcomment.Stale, recorded: sha(2), requests: "list pull",
			message: "this run is for " + sha(1)[:12] + ", but pull request #7 is now at " + sha(2)[:12] + "; the run of that newer push owns the comment"},
		{name: "an older head does not create it either", head: sha(1), current: sha(2),
			outcome: prcomment.Stale, requests: "list pull"},
		{name: "an older head leaves a comment of an older head still", head: sha(2), current: sha(3), existing: sha(1),
			outcome: prcomment.Stale, recorded: sha(1), requests: "list pull"},
		{name: "up to date: the pull request is not asked", head: sha(1), current: sha(1), existing: sha(1),
			outcome: prcomment.Updated, message: "is up to date", recorded: sha(1), requests: "list"},
		{name: "a SHA in upper case", head: strings.ToUpper(sha(1)), current: sha(1),
			outcome: prcomment.Created, recorded: sha(1), requests: "list pull create"},
		{name: "no head: nothing checked", head: "", current: sha(1), existing: sha(1),
			outcome: prcomment.Updated, requests: "list update"},
		{name: "not a SHA", head: "main", current: sha(1),
			err: `pr-comment: head "main" is not a commit SHA`},
		{name: "the pull request unreadable", head: sha(1), current: sha(1), fault: &githubtest.Fault{Op: githubtest.OpPull, Status: 503, Times: 3},
			err: "get pull request #7: HTTP 503: Service Unavailable (3 attempts", requests: "list pull pull pull"},
		{name: "the pull request hidden", head: sha(1),
			outcome: prcomment.ReadOnly, err: "get pull request #7: HTTP 404: Not Found", requests: "list pull"},
		{name: "a lost create answer: the head is asked once", head: sha(1), current: sha(1), fault: &githubtest.Fault{Op: githubtest.OpCreate, Status: 502, Apply: true},
			outcome: prcomment.Updated, message: "is up to date", recorded: sha(1), requests: "list pull create list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, cfg := setup(t)
			cfg.Mode, cfg.HeadSHA = prcomment.ModeAlways, tt.head
			if tt.current != "" {
				srv.SetPullHead(repo, pr, tt.current)
			}
			var before githubtest.Comment
			if tt.existing != "" {
				before = srv.AddComment(repo, pr, githubtest.Comment{Body: prcomment.Body(cfg.Marker, tt.existing, "## Plan", ""), User: githubtest.Bot})
			}
			if tt.fault != nil {
				srv.AddFault(*tt.fault)
			}
			res, err := prcomment.Post(context.Background(), cfg, "## Plan")
			noCanary(t, res, err)
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("error %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("error %v, want %q", err, tt.err)
			}
			if res.Outcome != tt.outcome || !strings.Contains(res.Message, tt.message) || strings.Contains(res.Message, "\n") {
				t.Errorf("%v %q; want %v, one line containing %q", res.Outcome, res.Message, tt.outcome, tt.message)
			}
			all := marked(srv, cfg)
			switch {
			case tt.recorded == "" && tt.existing == "" && len(all) != 0:
				t.Errorf("a comment was made: %+v", all)
			case tt.recorded != "" && (len(all) != 1 || recorded(all[0].Body) != tt.recorded):
				t.Errorf("comments %+v; want one recording %s", all, tt.recorded)
			}
			if tt.outcome == prcomment.Stale && tt.existing != "" {
				unchanged(t, srv, before)
			}
			var ops []string
			for _, r := range srv.Requests() {
				ops = append(ops, string(r.Op))
			}
			if got := strings.Join(ops, " "); got != tt.requests {
				t.Errorf("requests %q, want %q", got, tt.requests)
			}
		})
	}
}

// race runs one Post per config at once and returns their results, in the
// order of cfgs.
func race(t *testing.T, cfgs []prcomment.Config, markdown string) []prcomment.Result {
	t.Helper()
	results := make([]prcomment.Result, len(cfgs))
	errs := make([]error, len(cfgs))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, cfg := range cfgs {
		wg.Go(func() {
			<-start
			results[i], errs[i] = prcomment.Post(context.Background(), cfg, markdown)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("run %d: %v", i, err)
		}
	}
	return results
}

func TestRacingRuns(t *testing.T) {
	t.Parallel()
	const runs = 8

	// Runs of successive pushes racing: only the pull request's head's
	// writes, whatever the order they run in.
	t.Run("successive pushes", func(t *testing.T) {
		t.Parallel()
		for _, existing := range []bool{false, true} {
			srv, cfg := headed(t)
			var first githubtest.Comment
			if existing {
				first = srv.AddComment(repo, pr, githubtest.Comment{Body: prcomment.Body(cfg.Marker, sha(0), "first push", ""), User: githubtest.Bot})
			}
			srv.SetPullHead(repo, pr, sha(runs-1))
			var cfgs []prcomment.Config
			for i := range runs {
				c := cfg
				c.HeadSHA = sha(i)
				cfgs = append(cfgs, c)
			}
			results := race(t, cfgs, "## Plan")
			for i, res := range results {
				want := []prcomment.Outcome{prcomment.Stale}
				if i == runs-1 {
					want = []prcomment.Outcome{prcomment.Created, prcomment.Updated}
				}
				if !slices.Contains(want, res.Outcome) {
					t.Errorf("existing %v, run of push %d: %v (%s), want one of %v", existing, i, res.Outcome, res.Message, want)
				}
			}
			all := marked(srv, cfg)
			if len(all) != 1 || recorded(all[0].Body) != sha(runs-1) || existing && all[0].ID != first.ID {
				t.Errorf("existing %v: comments %+v; want one, recording the last push", existing, all)
			}
			if c := srv.Counts(); c.Create+c.Update != 1 || c.Pull != runs {
				t.Errorf("existing %v: counts %+v; want 1 write and a GET of the pull request a run", existing, c)
			}
		}
	})

	// Runs of one push racing (re-runs, or a push racing the copies an
	// earlier race left): they end with one comment, the oldest.
	t.Run("one push, copies there", func(t *testing.T) {
		t.Parallel()
		srv, cfg := headed(t)
		var there []githubtest.Comment
		for range 3 {
			there = append(there, srv.AddComment(repo, pr, githubtest.Comment{Body: prcomment.Body(cfg.Marker, sha(0), "old", ""), User: githubtest.Bot}))
		}
		cfgs := slices.Repeat([]prcomment.Config{cfg}, runs)
		for i, res := range race(t, cfgs, "## Plan") {
			if res.Outcome != prcomment.Updated || res.CommentID != there[0].ID {
				t.Errorf("run %d: %v of %d, want %d updated", i, res.Outcome, res.CommentID, there[0].ID)
			}
		}
		if all := marked(srv, cfg); len(all) != 1 || all[0].ID != there[0].ID || all[0].Body != prcomment.Body(cfg.Marker, sha(0), "## Plan", "") {
			t.Errorf("comments %+v; want only %d, with the new text", all, there[0].ID)
		}
		if c := srv.Counts(); c.Create != 0 {
			t.Errorf("%d creates", c.Create)
		}
	})

	// Runs of one push racing on a pull request with no comment may each
	// create one; the next run keeps the oldest and deletes the others.
	t.Run("one push, no comment yet", func(t *testing.T) {
		t.Parallel()
		srv, cfg := headed(t)
		var created []int64
		for _, res := range race(t, slices.Repeat([]prcomment.Config{cfg}, runs), "## Plan") {
			if res.Outcome == prcomment.Created {
				created = append(created, res.CommentID)
			}
		}
		if len(created) == 0 {
			t.Fatal("no run created the comment")
		}
		res, err := prcomment.Post(context.Background(), cfg, "## Plan, later")
		if err != nil || res.Outcome != prcomment.Updated || res.CommentID != slices.Min(created) {
			t.Fatalf("the next run: %+v, %v; want %d, the oldest, updated", res, err, slices.Min(created))
		}
		if all := marked(srv, cfg); len(all) != 1 || all[0].ID != slices.Min(created) {
			t.Errorf("comments %+v; want only %d", all, slices.Min(created))
		}
	})
}
