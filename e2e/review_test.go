package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
	"github.com/miosa-dev/sandbox-templates-action/internal/github/githubtest"
)

// The review experience, run as the runner runs the action: the plan as a
// diff in one sticky pull request comment, a fork's read-only token, and a
// failed build on its YAML line with the log's tail in the summary.

const ghToken = "ghs_canaryTokenThatMustNeverBePrinted0001"

// prEnv is the runner environment of a pull_request event for PR 7 against
// the fake GitHub API.
func prEnv(t *testing.T, gh *githubtest.Server, sha string) map[string]string {
	t.Helper()
	raw, _ := json.Marshal(map[string]any{"pull_request": map[string]any{"number": 7, "head": map[string]any{"sha": sha}}})
	p := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": p, "GITHUB_SHA": sha,
		"GITHUB_API_URL": gh.URL(), "GITHUB_SERVER_URL": "https://github.example", "GITHUB_RUN_ID": "42",
		"GITHUB_WORKFLOW": "templates", "GITHUB_JOB": "plan",
	}
}

func TestReviewPullRequestComment(t *testing.T) {
	t.Parallel()
	gh := githubtest.New(githubtest.Options{Prefix: githubtest.GHESPrefix})
	t.Cleanup(gh.Close)
	gh.SetToken(ghToken)
	e := startEmulator(t, nil)
	w := newWorkspace(t, threeTemplates)
	if s := runAction(t, w, withSHA(shaA), apiInputs(e, nil)); s.Code != 0 {
		t.Fatalf("apply on the default branch: exit %d\n%s", s.Code, s.log())
	}
	// A pull request changes one template.
	w.write(t, "sandbox-templates/python-3-12.yaml", strings.Replace(threeTemplates["sandbox-templates/python-3-12.yaml"], "python:3.12-slim", "python:3.13-slim", 1))
	in := apiInputs(e, map[string]string{"github-token": ghToken})
	gh.SetPullHead("acme/platform", 7, shaB)
	first := runAction(t, w, prEnv(t, gh, shaB), in)
	if first.Code != 0 {
		t.Fatalf("pull request: exit %d\n%s", first.Code, first.log())
	}
	comments := gh.Comments("acme/platform", 7)
	if len(comments) != 1 {
		t.Fatalf("%d comments, want 1\n%s", len(comments), first.log())
	}
	body := comments[0].Body
	for _, want := range []string{`- build_spec.from: "python:3.12-slim"`, `+ build_spec.from: "python:3.13-slim"`, "**🔨 python-3-12** to build", "### Sandbox templates: 1 to build · 2 unchanged\n"} {
		if !strings.Contains(body, want) {
			t.Errorf("the comment lacks %q:\n%s", want, body)
		}
	}
	// A second push edits the same comment.
	w.write(t, "sandbox-templates/python-3-12.yaml", strings.Replace(threeTemplates["sandbox-templates/python-3-12.yaml"], "python:3.12-slim", "python:3.14-slim", 1))
	const shaC = "cccccccccccccccccccccccccccccccccccccccc"
	gh.SetPullHead("acme/platform", 7, shaC)
	second := runAction(t, w, prEnv(t, gh, shaC), in)
	if second.Code != 0 {
		t.Fatalf("second push: exit %d\n%s", second.Code, second.log())
	}
	after := gh.Comments("acme/platform", 7)
	if len(after) != 1 || after[0].ID != comments[0].ID || !strings.Contains(after[0].Body, "python:3.14-slim") ||
		!strings.Contains(after[0].Body, "<!-- sandbox-templates head: "+shaC+" -->") {
		t.Errorf("after the second push: %d comments (first id %d), want the same one edited with the new diff, for %s", len(after), comments[0].ID, shaC)
	}
	// A re-run of the first push, late: the pull request is at the second
	// push now, whose run owns the comment.
	late := runAction(t, w, prEnv(t, gh, shaB), in)
	if late.Code != 0 || !strings.Contains(late.Stdout, "the run of that newer push owns the comment") {
		t.Fatalf("late run of the first push: exit %d\n%s", late.Code, late.log())
	}
	if now := gh.Comments("acme/platform", 7); len(now) != 1 || now[0].Body != after[0].Body {
		t.Errorf("the late run of the first push changed the comment")
	}
	for _, s := range []step{first, second, late} {
		logText := strings.Replace(s.log(), "::add-mask::"+ghToken+"\n", "", 1)
		if !strings.Contains(s.Stdout, "::add-mask::"+ghToken+"\n") {
			t.Error("the GitHub token was not masked")
		}
		if strings.Contains(logText, ghToken[4:16]) || strings.Contains(s.Summary, ghToken[4:16]) || strings.Contains(s.rawOut, ghToken[4:16]) {
			t.Error("the GitHub token was printed")
		}
	}
	if e.Counters().Writes != 3 {
		t.Errorf("the pull request runs wrote to Miosa: %d writes, want the 3 of the first apply", e.Counters().Writes)
	}
}

// A fork's pull request: no secrets (no api-key) and a read-only token. The
// check validates offline, gets one notice about the comment and passes.
func TestReviewForkPullRequest(t *testing.T) {
	t.Parallel()
	gh := githubtest.New(githubtest.Options{Prefix: githubtest.GHESPrefix})
	t.Cleanup(gh.Close)
	gh.SetReadOnly(true)
	gh.SetPullHead("acme/platform", 7, shaB)
	w := newWorkspace(t, threeTemplates)
	s := runAction(t, w, prEnv(t, gh, shaB), map[string]string{"github-token": ghToken})
	if s.Code != 0 {
		t.Fatalf("fork pull request: exit %d\n%s", s.Code, s.log())
	}
	var notices []string
	for _, l := range strings.Split(s.Stdout, "\n") {
		if strings.HasPrefix(l, "::notice") && strings.Contains(l, "comment") {
			notices = append(notices, l)
		}
	}
	if len(notices) != 1 || len(gh.Comments("acme/platform", 7)) != 0 || strings.Contains(s.Stdout, "::error") {
		t.Errorf("want one notice about the comment, no comment and no error; notices %q\n%s", notices, s.Stdout)
	}
}

// A release run whose build fails at step 2: the error annotation is on that
// step's run: line, and the log's tail is in the summary.
func TestReviewBuildFailureOnItsLine(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, func(o *emulator.Options) {
		o.LogURLs = true
		o.BuildDuration = time.Second
		o.Outcomes = map[string]emulator.Outcome{"app": {ErrorCode: "BUILD_STEP_FAILED", FailStep: 2}}
	})
	w := newWorkspace(t, map[string]string{"sandbox-templates/app.yaml": "description: app\nbuild_spec:\n  from: node:22\n  steps:\n    - run: npm install -g pnpm\n    - run: npm ci\n    - run: npm test\n"})
	s := runAction(t, w, withSHA(shaA), apiInputs(e, map[string]string{"wait": "true", "poll-interval": "1s"}))
	if s.Code != 1 {
		t.Fatalf("exit %d, want 1\n%s", s.Code, s.log())
	}
	if !strings.Contains(s.Stdout, "::error col=12,file=sandbox-templates/app.yaml,line=6,") || !strings.Contains(s.Stdout, "step 2 `npm ci` exited 1") {
		t.Errorf("no error annotation on step 2's run: line (6:12):\n%s", s.Stdout)
	}
	if !strings.Contains(s.Summary, "Last ") || !strings.Contains(s.Summary, "npm ci") {
		t.Errorf("the summary has no log tail:\n%s", s.Summary)
	}
	if !strings.Contains(s.Stdout, "::group::") {
		t.Errorf("the log tail is not in a collapsed group:\n%s", s.Stdout)
	}
}
