package e2e

import (
	"fmt"
	"maps"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
	"github.com/miosa-dev/sandbox-templates-action/internal/github/githubtest"
)

// The deployment record and scope auto: an apply in which every template
// serves its file records a GitHub deployment of the commit; a later push
// reads the build histories of the templates whose files changed since
// that deployment (and of rows that are not ready) and judges the others
// from the template list alone.

// scoped is one repository with a fake GitHub whose main holds files, and
// the emulator it syncs to.
type scoped struct {
	e     *emu
	g     *gitHub
	w     *workspace
	files map[string]string
	shas  []string // main's commits, oldest first
}

func newScoped(t *testing.T, files map[string]string) *scoped {
	t.Helper()
	s := &scoped{e: startEmulator(t, nil), g: newGitHub(t), files: maps.Clone(files)}
	s.w = newWorkspace(t, files)
	s.shas = append(s.shas, s.g.commit("main", s.files))
	return s
}

// change commits a new content of one file and checks it out.
func (s *scoped) change(t *testing.T, path, content string) string {
	t.Helper()
	s.files[path] = content
	s.w.write(t, path, content)
	sha := s.g.commit("main", s.files)
	s.shas = append(s.shas, sha)
	return sha
}

// head is the newest commit.
func (s *scoped) head() string { return s.shas[len(s.shas)-1] }

// run runs the action for event at the head commit and returns the step
// and the build reads it made.
func (s *scoped) run(t *testing.T, code int, event string, in map[string]string) (step, int) {
	t.Helper()
	env := s.g.env(t, event, s.head(), eventPayload(event, s.head()))
	if event == "release" {
		env["GITHUB_REF"] = "refs/tags/v1"
	}
	before := s.e.Counters().Requests["list_builds"]
	st := mustRun(t, code, event, s.w, env, ghInputs(s.e, in))
	return st, s.e.Counters().Requests["list_builds"] - before
}

// eventPayload is a payload of event for commit sha on main.
func eventPayload(event, sha string) map[string]any {
	switch event {
	case "workflow_run":
		return map[string]any{"workflow_run": map[string]any{"head_sha": sha, "head_branch": "main", "event": "push",
			"head_repository": map[string]any{"full_name": "acme/platform"}}}
	case "release":
		return map[string]any{"release": map[string]any{"tag_name": "v1"}}
	}
	return nil
}

// deployments are the fake GitHub's deployments, with their commits.
func (s *scoped) deployments() []githubtest.Deployment { return s.g.Deployments() }

// scopeTemplates are a, b and c.
func scopeTemplates() map[string]string {
	files := map[string]string{}
	for _, n := range []string{"a", "b", "c"} {
		files["sandbox-templates/"+n+".yaml"] = fmt.Sprintf("build_spec:\n  from: node:22\n  steps:\n    - run: echo %s\n", n)
	}
	return files
}

var waitIn = map[string]string{"wait": "true", "poll-interval": "1s"}

// Scope per event: after a deployment of c1, a commit c2 changes b. Push
// and workflow_run read b's builds alone; schedule, workflow_dispatch,
// release, scope: all, a repository with no deployment and a token that
// may not read deployments read all three. Each run that finds every
// template served records a deployment of c2.
func TestScopePerEvent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		event    string
		in       map[string]string
		setup    func(s *scoped)
		noDeploy bool // the first run records none
		reads    int
		say      string
	}{
		{name: "push", event: "push", reads: 1, say: "::notice::Scope: the builds of 1 of 3 template(s) are read (1 changed since the deployment of "},
		{name: "workflow_run", event: "workflow_run", reads: 1, say: "::notice::Scope: the builds of 1 of 3"},
		{name: "push without a deployment", event: "push", noDeploy: true, reads: 3,
			say: "Scope: the builds of all 3 template(s) are read: no earlier deployment to the environment sandbox-templates"},
		{name: "schedule", event: "schedule", reads: 3, say: "Scope: the builds of all 3 template(s) are read: a schedule run reads every template"},
		{name: "workflow_dispatch", event: "workflow_dispatch", reads: 3, say: "a workflow_dispatch run reads every template"},
		{name: "release", event: "release", reads: 3, say: "a release run reads every template",
			setup: func(s *scoped) { s.g.Tag("v1", s.head()); s.g.Release("v1", false, true) }},
		{name: "scope all", event: "push", in: map[string]string{"scope": "all"}, reads: 3, say: "read: scope: all"},
		{name: "no permission to read deployments", event: "push", reads: 3, say: "the token may not read deployments",
			setup: func(s *scoped) {
				s.g.SetReadOnly(true)
				s.g.AddFault(githubtest.Fault{Op: githubtest.OpDeployments, Status: 403, Message: "Resource not accessible by integration", Times: 10})
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newScoped(t, scopeTemplates())
			if tt.noDeploy {
				s.g.SetReadOnly(true)
			}
			first, _ := s.run(t, 0, "push", waitIn)
			s.g.SetReadOnly(false)
			if first.Outputs["status"] != "success" {
				t.Fatalf("first run: status %s\n%s", first.Outputs["status"], first.log())
			}
			if n := len(s.deployments()); n != map[bool]int{false: 1, true: 0}[tt.noDeploy] {
				t.Fatalf("first run: %d deployments\n%s", n, first.log())
			}
			s.change(t, "sandbox-templates/b.yaml", "build_spec:\n  from: node:22\n  steps:\n    - run: echo b changed\n")
			if tt.setup != nil {
				tt.setup(s)
			}
			in := maps.Clone(waitIn)
			maps.Copy(in, tt.in)
			st, reads := s.run(t, 0, tt.event, in)
			if reads != tt.reads {
				t.Errorf("%d build reads, want %d\n%s", reads, tt.reads, st.log())
			}
			if n := strings.Count(st.Stdout, "Scope: "); n != 1 || !strings.Contains(st.Stdout, tt.say) {
				t.Errorf("the scope said %d times, want once with %q:\n%s", n, tt.say, st.Stdout)
			}
			if w := warnings(st); len(w) > 0 || st.Outputs["status"] != "success" {
				t.Errorf("status %s, warnings %q", st.Outputs["status"], w)
			}
			if got := s.e.Counters().BuildsCreated; got != 4 {
				t.Errorf("%d builds, want 4: three, then b's", got)
			}
			deps := s.deployments()
			if tt.name == "no permission to read deployments" {
				if len(deps) != 1 || !strings.Contains(st.Stdout, "::notice::Deployment not recorded: the token may not write deployments") {
					t.Errorf("%d deployments; want the first alone and a notice:\n%s", len(deps), st.Stdout)
				}
				return
			}
			if last := deps[len(deps)-1]; last.SHA != s.head() || last.State() != "success" {
				t.Errorf("the newest deployment is of %s (%s), want %s, success", last.SHA, last.State(), s.head())
			}
		})
	}
}

// The record across runs of one commit and the next: a run that writes
// marks its commit in_progress first; a failed build makes that deployment
// a failure, and the next run reads everything; the re-run that builds it
// again completes the same deployment (no second one); another re-run
// reads nothing and records nothing more. A push whose build is still in
// progress (wait: false) leaves its deployment in progress, and the next
// push reads that template's builds.
func TestDeploymentRecord(t *testing.T) {
	t.Parallel()
	s := newScoped(t, scopeTemplates())
	s.e.Configure(func(o *emulator.Options) {
		o.Outcomes = map[string]emulator.Outcome{"c": {ErrorCode: "BUILD_STEP_FAILED", FailFirst: 1}}
	})
	failed, _ := s.run(t, 1, "push", waitIn)
	deps := s.deployments()
	if len(deps) != 1 || stateList(deps[0]) != "in_progress failure" || !strings.Contains(failed.Stdout, "marked failure: the run's status is failed") {
		t.Fatalf("a failed build: %d deployments\n%s", len(deps), failed.Stdout)
	}
	ok, reads := s.run(t, 0, "push", waitIn) // a re-run: c is built again
	deps = s.deployments()
	if reads != 3 || len(deps) != 1 || stateList(deps[0]) != "in_progress failure in_progress success" || !strings.Contains(ok.Summary, "Recorded deployment") {
		t.Fatalf("the re-run: %d build reads, %d deployments\n%s", reads, len(deps), ok.log())
	}
	// Another re-run reads every template, so that its outputs name each
	// one's build as the first attempt's did, and records nothing more.
	again, reads := s.run(t, 0, "push", waitIn)
	var builds map[string]string
	again.json(t, "build-ids", &builds)
	if reads != 3 || len(builds) != 3 || len(s.deployments()) != 1 || !strings.Contains(again.Stdout, "Already recorded: deployment") {
		t.Errorf("another re-run: %d build reads, build-ids %v, %d deployments\n%s", reads, builds, len(s.deployments()), again.log())
	}
	if n := s.g.Count(githubtest.OpCreateDeployment) + s.g.Count(githubtest.OpCreateStatus); n != 5 {
		t.Errorf("%d deployment writes, want 5 (one deployment, four statuses)", n)
	}
	s.e.Configure(func(o *emulator.Options) { o.BuildDuration = time.Minute })
	s.change(t, "sandbox-templates/a.yaml", "build_spec:\n  from: node:24\n")
	pending, reads := s.run(t, 0, "push", nil)
	deps = s.deployments()
	if reads != 1 || len(deps) != 2 || deps[1].State() != "in_progress" ||
		!strings.Contains(pending.Stdout, "is in progress: 1 build(s) are not ready yet (a queued)") {
		t.Errorf("wait: false: %d build reads, %d deployments\n%s", reads, len(deps), pending.log())
	}
	s.change(t, "README.md", "docs\n")
	next, reads := s.run(t, 0, "push", nil)
	if reads != 1 || len(s.deployments()) != 2 || !strings.Contains(next.Stdout, "1 building when it was recorded") ||
		!strings.Contains(next.Stdout, "Deployment not recorded: 1 build(s) are not ready yet (a ") {
		t.Errorf("the next push: %d build reads, %d deployments\n%s", reads, len(s.deployments()), next.log())
	}
}

// A build made by hand with another spec (drift), on a template whose file
// did not change, is not seen by a push: its row is ready and its file
// unchanged since the deployment. The nightly full run (schedule) reads
// every template, sees it, and repairs it; the push after that reads
// nothing.
func TestScopeDriftNeedsFullRead(t *testing.T) {
	t.Parallel()
	s := newScoped(t, scopeTemplates())
	first, _ := s.run(t, 0, "push", waitIn)
	var ids map[string]string
	first.json(t, "template-ids", &ids)
	buildByHand(t, s.e, ids["b"], map[string]any{"from": "node:20"})
	s.change(t, "README.md", "docs\n")
	push, reads := s.run(t, 0, "push", waitIn)
	if reads != 0 || s.e.BuildsOf("b") != 2 {
		t.Errorf("a push: %d build reads, %d builds of b; want none and 2 (the drift is not seen)\n%s", reads, s.e.BuildsOf("b"), push.log())
	}
	nightly, reads := s.run(t, 0, "schedule", waitIn)
	if reads != 3 || s.e.BuildsOf("b") != 3 || nightly.Outputs["changed-templates"] != `["b"]` {
		t.Errorf("the nightly run: %d build reads, %d builds of b, changed %s; want 3, 3 and b\n%s",
			reads, s.e.BuildsOf("b"), nightly.Outputs["changed-templates"], nightly.log())
	}
	if from, _ := servedSpec(t, s.e, "b"); from != "node:22" {
		t.Errorf("b serves %s after the nightly run, want node:22", from)
	}
	s.change(t, "README.md", "more docs\n")
	if _, reads := s.run(t, 0, "push", waitIn); reads != 0 {
		t.Errorf("the push after the nightly run: %d build reads, want none", reads)
	}
}

// stateList is a deployment's states, oldest first.
func stateList(d githubtest.Deployment) string {
	var s []string
	for _, st := range d.Statuses {
		s = append(s, st.State)
	}
	return strings.Join(s, " ")
}

// At 1,000 templates a push costs what it changed: after a full run that
// records a deployment, a push that changes no template file reads no build
// history (the schema, the list's pages and the server's defaults), and a
// push that changes one reads that one's. SCOPE_MEASURE=B also times the
// changing push against an emulator that allows 60 requests a minute, in a
// bucket of B requests.
func TestScopeThousandTemplates(t *testing.T) {
	t.Parallel()
	const n = 1000
	files := perfTemplates(n)
	s := newScoped(t, files)
	for i := range n {
		name := fmt.Sprintf("perf-%03d", i)
		if _, err := s.e.SeedTemplate(emulator.TemplateSeed{Name: name, BuildSpec: map[string]any{
			"from": "node:22-bookworm", "steps": []any{map[string]any{"run": fmt.Sprintf("echo %d", i)}}}}); err != nil {
			t.Fatal(err)
		}
	}
	full, reads := s.run(t, 0, "push", nil)
	if reads != n || len(s.deployments()) != 1 || s.e.Counters().Writes != 0 {
		t.Fatalf("the first run: %d build reads, %d deployments, %d writes\n%s", reads, len(s.deployments()), s.e.Counters().Writes, full.log())
	}
	s.change(t, "README.md", "nothing to do with templates\n")
	before := s.e.Counters()
	start := time.Now()
	noop, reads := s.run(t, 0, "push", nil)
	noopWall := time.Since(start)
	got := requestsSince(before, s.e.Counters())
	lists := got["list"]
	delete(got, "list")
	if reads != 0 || len(got) != 2 || got["schema"] != 1 || got["validate"] != 1 || lists > 12 {
		t.Errorf("a push that changes no template: %d build reads, %d list pages, %v; want none, the pages, the schema and one validate\n%s",
			reads, lists, got, noop.Stdout)
	}
	t.Logf("no-op push of %d templates: %d requests (%d list pages), wall %s", n, lists+2, lists, noopWall.Round(time.Millisecond))

	// SCOPE_MEASURE=B: 60 requests a minute, in a bucket of B (1: one a
	// second from the start; 60: a key with rate_limit_rpm 60, full).
	burst, _ := strconv.Atoi(os.Getenv("SCOPE_MEASURE"))
	limited := burst > 0
	if limited {
		s.e.Configure(func(o *emulator.Options) { o.RateLimit, o.RateBurst = 1, burst })
	}
	s.change(t, "sandbox-templates/perf-500.yaml", files["sandbox-templates/perf-500.yaml"]+"    - run: echo changed\n")
	before = s.e.Counters()
	start = time.Now()
	one, reads := s.run(t, 0, "push", nil)
	wall := time.Since(start)
	got = requestsSince(before, s.e.Counters())
	total := 0
	for _, v := range got {
		total += v
	}
	if reads != 1 || s.e.Counters().BuildsCreated != 1 || one.Outputs["changed-templates"] != `["perf-500"]` {
		t.Errorf("a push that changes one template: %d build reads, %d builds, changed %s\n%s",
			reads, s.e.Counters().BuildsCreated, one.Outputs["changed-templates"], one.Stdout)
	}
	if !strings.Contains(one.Stdout, "Scope: the builds of 1 of 1000 template(s) are read (1 changed since the deployment of ") {
		t.Errorf("the scope was not said:\n%s", one.Stdout)
	}
	var builds []struct {
		Name, Source, State string
		BuildID             string `json:"build_id"`
	}
	one.json(t, "builds", &builds)
	fromList := 0
	for _, b := range builds {
		if b.Source == "list" && b.BuildID == "" && b.State == "ready" {
			fromList++
		}
	}
	if len(builds) != n || fromList != n-1 {
		t.Errorf("%d builds entries, %d from the list; want %d, %d", len(builds), fromList, n, n-1)
	}
	t.Logf("push changing 1 of %d templates: %d requests %v, %d answered 429, wall %s (60 a minute, bucket %d: %v)",
		n, total, got, s.e.Counters().RateLimited-before.RateLimited, wall.Round(time.Millisecond), burst, limited)
}
