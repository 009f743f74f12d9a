package e2e

import (
	"fmt"
	"maps"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
	"github.com/miosa-dev/sandbox-templates-action/internal/preview"
)

// Preview builds (docs/previews.md), run as the runner runs the action,
// against the emulator with the real server's settings (emulator.NewOptions:
// a create queues its build, no client metadata comes back, no log_url)
// and a fake of GitHub's endpoints.

const (
	previewRepo = "acme/platform"
	previewPR   = 7
)

// previewRepoState is a repository whose main holds threeTemplates, synced
// by a push run, and a pull request #7 from its branch feature.
type previewRepoState struct {
	g    *gitHub
	e    *emu
	w    *workspace
	main string // main's head
	head string // the pull request's head
}

// newPreviewRepo syncs main's three templates with a push run, and opens
// pull request #7 at main's head.
func newPreviewRepo(t *testing.T, configure func(*emulator.Options)) *previewRepoState {
	t.Helper()
	r := &previewRepoState{g: newGitHub(t), e: startEmulator(t, configure), w: newWorkspace(t, threeTemplates)}
	r.main = r.g.commit("main", threeTemplates)
	s := runAction(t, r.w, r.g.env(t, "push", r.main, nil), ghInputs(r.e, map[string]string{"wait": "true", "poll-interval": "1s"}))
	if s.Code != 0 {
		t.Fatalf("main's sync: exit %d\n%s", s.Code, s.log())
	}
	r.g.SetBranch("feature", r.main)
	r.head = r.main
	return r
}

// push commits changes on feature, checks out the merge result (main has
// not moved, so it is feature's tree) and points the pull request at it.
func (r *previewRepoState) push(t *testing.T, changes map[string]string) string {
	t.Helper()
	r.head = r.g.Push("feature", changes)
	for name, body := range changes {
		r.w.write(t, name, body)
	}
	r.g.SetPullHead(previewRepo, previewPR, r.head)
	return r.head
}

// prEnv is the runner's environment of a pull_request event of #7 with
// action, at head, from headRepo ("" for this repository).
func (r *previewRepoState) prEnv(t *testing.T, action, head, headRepo string) map[string]string {
	t.Helper()
	if headRepo == "" {
		headRepo = previewRepo
	}
	files := r.w.tree(t)
	merge := r.g.Commit([]string{r.main, head}, files)
	env := r.g.env(t, "pull_request", merge, map[string]any{"action": action, "number": previewPR, "pull_request": map[string]any{
		"number": previewPR,
		"head":   map[string]any{"sha": head, "ref": "feature", "repo": map[string]any{"full_name": headRepo}},
		"base":   map[string]any{"sha": r.main, "ref": "main", "repo": map[string]any{"full_name": previewRepo}},
	}})
	env["GITHUB_REF"] = fmt.Sprintf("refs/pull/%d/merge", previewPR)
	env["GITHUB_WORKFLOW"], env["GITHUB_JOB"] = "templates", "check"
	return env
}

// previewInputs are the inputs of the docs' workflow.
func (r *previewRepoState) previewInputs(more map[string]string) map[string]string {
	in := map[string]string{"preview": "true", "poll-interval": "1s"}
	maps.Copy(in, more)
	return ghInputs(r.e, in)
}

// templateIDs are the emulator's templates by name.
func templateIDs(e *emu) map[string]string {
	out := map[string]string{}
	for _, tpl := range e.State().Templates {
		out[tpl.Name] = tpl.ID
	}
	return out
}

// currentBuilds are the emulator's templates' current builds by name.
func currentBuilds(e *emu) map[string]string {
	out := map[string]string{}
	for _, tpl := range e.State().Templates {
		out[tpl.Name] = tpl.CurrentBuildID
	}
	return out
}

func previewName(template string) string { return preview.Name(template, previewPR, previewRepo) }

var nodeChanged = strings.Replace(threeTemplates["sandbox-templates/node-22-base.yaml"], "npm install -g pnpm", "npm install -g pnpm@9", 1)

// A pull request that changes one of three templates gets one preview,
// built and waited for; main's templates keep their builds; the outputs,
// the job summary and the comment name the preview and its ids.
func TestPreviewBuildsTheChangedTemplate(t *testing.T) {
	t.Parallel()
	r := newPreviewRepo(t, nil)
	mainBuilds := currentBuilds(r.e)
	before := r.e.Counters()
	head := r.push(t, map[string]string{"sandbox-templates/node-22-base.yaml": nodeChanged})
	ghBefore := r.g.Counts()
	s := runAction(t, r.w, r.prEnv(t, "synchronize", head, ""), r.previewInputs(nil))
	if s.Code != 0 || s.Outputs["status"] != "success" {
		t.Fatalf("exit %d status %q, want 0 success\n%s", s.Code, s.Outputs["status"], s.log())
	}
	// GitHub is asked once which files changed, and once for the pull
	// request's head before the build (the comment reads it once more).
	if d := r.g.Counts(); d.Compare-ghBefore.Compare != 1 || d.Pull-ghBefore.Pull != 2 {
		t.Errorf("%d comparisons and %d pull request reads, want 1 and 2", d.Compare-ghBefore.Compare, d.Pull-ghBefore.Pull)
	}
	c := r.e.Counters()
	if n := c.TemplatesCreated - before.TemplatesCreated; n != 1 {
		t.Errorf("%d templates created, want the one preview", n)
	}
	if n := c.BuildsCreated - before.BuildsCreated; n != 1 {
		t.Errorf("%d builds made, want the preview's one", n)
	}
	name := previewName("node-22-base")
	ids, now := templateIDs(r.e), currentBuilds(r.e)
	var tids, bids map[string]string
	s.json(t, "preview-template-ids", &tids)
	s.json(t, "preview-build-ids", &bids)
	if len(tids) != 1 || tids["node-22-base"] != ids[name] || ids[name] == "" {
		t.Errorf("preview-template-ids = %v, want node-22-base: %s's id %q", tids, name, ids[name])
	}
	if len(bids) != 1 || bids["node-22-base"] != now[name] || now[name] == "" {
		t.Errorf("preview-build-ids = %v, want node-22-base: %s's current build %q", bids, name, now[name])
	}
	for tpl, b := range mainBuilds {
		if now[tpl] != b {
			t.Errorf("main's %s serves %s now, was %s", tpl, now[tpl], b)
		}
	}
	// The check is the plan's: it plans main's node-22-base as a build.
	var p []planOut
	s.json(t, "plan", &p)
	for _, it := range p {
		if want := map[bool]string{true: "build", false: "unchanged"}[it.Name == "node-22-base"]; it.Action != want {
			t.Errorf("plan: %s %s, want %s", it.Name, it.Action, want)
		}
	}
	if s.Outputs["has-changes"] != "true" || s.Outputs["changes-count"] != "1" {
		t.Errorf("has-changes %q changes-count %q: the check is the plan of main's templates", s.Outputs["has-changes"], s.Outputs["changes-count"])
	}
	if !strings.Contains(s.Summary, "### Previews") || !strings.Contains(s.Summary, name) || !strings.Contains(s.Summary, now[name]) {
		t.Errorf("the job summary lacks the Previews section naming %s and its build:\n%s", name, s.Summary)
	}
	comments := r.g.Comments(previewRepo, previewPR)
	if len(comments) != 1 || !strings.Contains(comments[0].Body, "**Previews**") || !strings.Contains(comments[0].Body, ids[name]) ||
		!strings.Contains(comments[0].Body, "✅ ready") {
		t.Errorf("want one comment whose Previews section shows %s ready with its id; %d comments\n%v", name, len(comments), comments)
	}
	// Its description is the mark; what it builds is the pull request's spec.
	for _, tpl := range r.e.State().Templates {
		if tpl.Name == name && fmt.Sprint(tpl.BuildSpec["steps"]) != "[map[run:npm install -g pnpm@9]]" {
			t.Errorf("the preview's spec %v, want the pull request's", tpl.BuildSpec)
		}
	}
}

// Every push builds the same preview again, once: still one preview
// template; a re-run of a push builds nothing more; and a slower run of an
// older push never builds over the newer push's preview.
func TestPreviewSecondPushBuildsTheSamePreview(t *testing.T) {
	t.Parallel()
	r := newPreviewRepo(t, nil)
	name := previewName("node-22-base")
	first := r.push(t, map[string]string{"sandbox-templates/node-22-base.yaml": nodeChanged})
	if s := runAction(t, r.w, r.prEnv(t, "synchronize", first, ""), r.previewInputs(nil)); s.Code != 0 {
		t.Fatalf("first push: exit %d\n%s", s.Code, s.log())
	}
	created, builds := r.e.Counters().TemplatesCreated, r.e.BuildsOf(name)
	if builds != 1 {
		t.Fatalf("first push: %d builds of %s, want 1", builds, name)
	}
	second := r.push(t, map[string]string{"sandbox-templates/node-22-base.yaml": strings.Replace(nodeChanged, "pnpm@9", "pnpm@10", 1)})
	s := runAction(t, r.w, r.prEnv(t, "synchronize", second, ""), r.previewInputs(nil))
	if s.Code != 0 {
		t.Fatalf("second push: exit %d\n%s", s.Code, s.log())
	}
	if c := r.e.Counters(); c.TemplatesCreated != created || r.e.BuildsOf(name) != 2 {
		t.Errorf("second push: %d more templates and %d builds of %s; want 0 and 2 (the same preview, built again)",
			c.TemplatesCreated-created, r.e.BuildsOf(name), name)
	}
	var bids map[string]string
	s.json(t, "preview-build-ids", &bids)
	if bids["node-22-base"] != currentBuilds(r.e)[name] {
		t.Errorf("preview-build-ids %v, want the second push's build %s", bids, currentBuilds(r.e)[name])
	}
	// The same push again (a re-run, or another event of it): no build.
	again := runAction(t, r.w, r.prEnv(t, "edited", second, ""), r.previewInputs(nil))
	if again.Code != 0 || r.e.BuildsOf(name) != 2 {
		t.Errorf("a re-run of the second push: exit %d, %d builds of %s; want 0 and still 2\n%s", again.Code, r.e.BuildsOf(name), name, again.log())
	}
	// The first push's run, late: the pull request's head moved on.
	r.w.write(t, "sandbox-templates/node-22-base.yaml", nodeChanged)
	late := runAction(t, r.w, r.prEnv(t, "synchronize", first, ""), r.previewInputs(nil))
	if late.Code != 0 || r.e.BuildsOf(name) != 2 {
		t.Errorf("a late run of the first push: exit %d, %d builds of %s; want 0 and still 2\n%s", late.Code, r.e.BuildsOf(name), name, late.log())
	}
	if !strings.Contains(late.Stdout, "head moved from") || !strings.Contains(late.Summary, "superseded") {
		t.Errorf("the late run does not say a later push builds the preview:\n%s\n%s", late.Stdout, late.Summary)
	}
}

// A step that fails in the preview's build is an error annotation on that
// step's run: line, and a failed check; main's template is untouched.
func TestPreviewFailedStepIsAnErrorOnItsLine(t *testing.T) {
	t.Parallel()
	name := previewName("node-22-base")
	r := newPreviewRepo(t, func(o *emulator.Options) {
		o.Outcomes = map[string]emulator.Outcome{name: {ErrorCode: "BUILD_STEP_FAILED", FailStep: 2}}
	})
	mainBuild := currentBuilds(r.e)["node-22-base"]
	broken := strings.Replace(threeTemplates["sandbox-templates/node-22-base.yaml"], "    - run: npm install -g pnpm\n",
		"    - run: npm install -g pnpm\n    - run: npm ci\n", 1)
	head := r.push(t, map[string]string{"sandbox-templates/node-22-base.yaml": broken})
	s := runAction(t, r.w, r.prEnv(t, "synchronize", head, ""), r.previewInputs(map[string]string{"pr-comment": "never"}))
	if s.Code != 1 || s.Outputs["status"] != "failed" {
		t.Fatalf("exit %d status %q, want 1 failed\n%s", s.Code, s.Outputs["status"], s.log())
	}
	// `    - run: npm ci` is line 9; its value starts at column 12.
	if !strings.Contains(s.Stdout, "::error col=12,file=sandbox-templates/node-22-base.yaml,line=9,") || !strings.Contains(s.Stdout, "step 2 `npm ci` exited 1") {
		t.Errorf("no error annotation on the failing step's run: line (9:12):\n%s", s.Stdout)
	}
	var bids map[string]string
	s.json(t, "preview-build-ids", &bids)
	if bids["node-22-base"] == "" || !strings.Contains(s.Summary, "❌ failed") {
		t.Errorf("preview-build-ids %v and the summary should name the failed build:\n%s", bids, s.Summary)
	}
	if now := currentBuilds(r.e)["node-22-base"]; now != mainBuild {
		t.Errorf("main's node-22-base serves %s, was %s", now, mainBuild)
	}
}

// A fork's pull request writes nothing, to Miosa or to GitHub, even when a
// key reaches it: one notice, and the check.
func TestPreviewForkWritesNothing(t *testing.T) {
	t.Parallel()
	for _, key := range []bool{false, true} {
		t.Run(fmt.Sprintf("api-key=%v", key), func(t *testing.T) {
			t.Parallel()
			r := newPreviewRepo(t, nil)
			r.g.SetReadOnly(true) // a fork's token
			head := r.push(t, map[string]string{"sandbox-templates/node-22-base.yaml": nodeChanged})
			before, ghBefore := r.e.Counters(), len(r.g.Requests())
			in := r.previewInputs(nil)
			if !key {
				delete(in, "api-key")
			}
			s := runAction(t, r.w, r.prEnv(t, "opened", head, "someone/platform"), in)
			if s.Code != 0 {
				t.Fatalf("exit %d\n%s", s.Code, s.log())
			}
			if c := r.e.Counters(); c.Writes != before.Writes {
				t.Errorf("%d writes to Miosa, want none", c.Writes-before.Writes)
			}
			for _, req := range r.g.Requests()[ghBefore:] {
				if req.Method != "GET" && req.Status < 400 {
					t.Errorf("a write to GitHub: %s %s (%d)", req.Method, req.Path, req.Status)
				}
			}
			if n := strings.Count(s.Stdout, "::notice::Previews are not built for pull requests from forks"); n != 1 {
				t.Errorf("%d notices about forks, want 1\n%s", n, s.Stdout)
			}
			if s.Outputs["preview-template-ids"] != "{}" || s.Outputs["preview-build-ids"] != "{}" {
				t.Errorf("preview outputs %q %q, want {} {}", s.Outputs["preview-template-ids"], s.Outputs["preview-build-ids"])
			}
		})
	}
}

// The closed event deletes that pull request's previews, a template that
// exists only in the pull request included, and nothing else: not main's
// templates, not another pull request's preview.
func TestPreviewClosedDeletesThePreviews(t *testing.T) {
	t.Parallel()
	r := newPreviewRepo(t, nil)
	added := "sandbox-templates/rust-1.yaml"
	head := r.push(t, map[string]string{"sandbox-templates/node-22-base.yaml": nodeChanged, added: "build_spec:\n  from: rust:1\n"})
	if s := runAction(t, r.w, r.prEnv(t, "opened", head, ""), r.previewInputs(nil)); s.Code != 0 {
		t.Fatalf("opened: exit %d\n%s", s.Code, s.log())
	}
	other := preview.Name("python-3-12", 8, previewRepo)
	if _, err := r.e.SeedTemplate(emulator.TemplateSeed{Name: other, Description: preview.Description("python-3-12", 8, previewRepo),
		BuildSpec: map[string]any{"from": "python:3.13"}}); err != nil {
		t.Fatal(err)
	}
	ids := templateIDs(r.e)
	for _, n := range []string{previewName("node-22-base"), previewName("rust-1")} {
		if ids[n] == "" {
			t.Fatalf("no preview %s before the close: %v", n, ids)
		}
	}
	before := r.e.Counters()
	r.g.ClosePull(previewRepo, previewPR)
	s := runAction(t, r.w, r.prEnv(t, "closed", head, ""), r.previewInputs(nil))
	if s.Code != 0 || s.Outputs["status"] != "success" {
		t.Fatalf("closed: exit %d status %q\n%s", s.Code, s.Outputs["status"], s.log())
	}
	after := templateIDs(r.e)
	if c := r.e.Counters(); c.TemplatesDeleted-before.TemplatesDeleted != 2 || c.Writes-before.Writes != 2 {
		t.Errorf("%d deleted, %d writes; want the 2 previews deleted and nothing else written", c.TemplatesDeleted-before.TemplatesDeleted, c.Writes-before.Writes)
	}
	for _, n := range []string{previewName("node-22-base"), previewName("rust-1")} {
		if after[n] != "" {
			t.Errorf("%s is still there", n)
		}
	}
	for _, n := range []string{"node-22-base", "python-3-12", "go-runtime", other} {
		if after[n] == "" || after[n] != ids[n] {
			t.Errorf("%s was deleted", n)
		}
	}
	if !strings.Contains(s.Summary, "previews of pull request #7") || !strings.Contains(s.Summary, "🗑️ deleted") {
		t.Errorf("the summary does not list what was deleted:\n%s", s.Summary)
	}
	// A second closed event finds nothing more to delete.
	again := runAction(t, r.w, r.prEnv(t, "closed", head, ""), r.previewInputs(nil))
	if again.Code != 0 || r.e.Counters().TemplatesDeleted-before.TemplatesDeleted != 2 {
		t.Errorf("a second close: exit %d\n%s", again.Code, again.log())
	}
}

// mode: cleanup deletes only the marked previews of closed pull requests:
// not an open pull request's, not another repository's, not a template
// named like a preview without the mark, not main's. A preview in use is
// one warning with the counts, and stays for the next clean-up.
func TestPreviewCleanupDeletesOnlyClosedPullRequests(t *testing.T) {
	t.Parallel()
	r := newPreviewRepo(t, nil)
	spec := map[string]any{"from": "node:22"}
	seed := func(name, desc string) {
		t.Helper()
		if _, err := r.e.SeedTemplate(emulator.TemplateSeed{Name: name, Description: desc, BuildSpec: spec}); err != nil {
			t.Fatal(err)
		}
	}
	mark := func(tpl string, pr int, repo string) (string, string) {
		return preview.Name(tpl, pr, repo), preview.Description(tpl, pr, repo)
	}
	closedA, descA := mark("node-22-base", 3, previewRepo)
	closedB, descB := mark("go-runtime", 3, previewRepo)
	busy, descBusy := mark("python-3-12", 4, previewRepo)
	open, descOpen := mark("node-22-base", 5, previewRepo)
	foreign, descForeign := mark("node-22-base", 3, "acme/other")
	seed(closedA, descA)
	seed(closedB, descB)
	seed(busy, descBusy)
	seed(open, descOpen)
	seed(foreign, descForeign)
	seed(preview.Name("api", 3, previewRepo), "made by hand") // a preview's name, no mark
	if _, err := r.e.SeedBuild(busy, emulator.BuildSeed{State: "building", Duration: emulator.Duration(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for pr, closed := range map[int]bool{3: true, 4: true, 5: false} {
		r.g.SetPullHead(previewRepo, pr, r.main)
		if closed {
			r.g.ClosePull(previewRepo, pr)
		}
	}
	ids := templateIDs(r.e)
	before := r.e.Counters()
	env := r.g.env(t, "schedule", r.main, nil)
	s := runAction(t, r.w, env, ghInputs(r.e, map[string]string{"mode": "cleanup"}))
	if s.Code != 0 || s.Outputs["status"] != "success" {
		t.Fatalf("cleanup: exit %d status %q\n%s", s.Code, s.Outputs["status"], s.log())
	}
	after := templateIDs(r.e)
	if n := r.e.Counters().TemplatesDeleted - before.TemplatesDeleted; n != 2 {
		t.Errorf("%d deleted, want 2", n)
	}
	for name := range ids {
		gone := after[name] == ""
		if want := name == closedA || name == closedB; gone != want {
			t.Errorf("%s deleted %v, want %v", name, gone, want)
		}
	}
	var inUse []string
	for _, l := range warnings(s) {
		if strings.Contains(l, "TEMPLATE_IN_USE") {
			inUse = append(inUse, l)
		}
	}
	if len(inUse) != 1 || !strings.Contains(inUse[0], "1 of 3 preview template(s)") || !strings.Contains(inUse[0], busy) || !strings.Contains(inUse[0], "1 build") {
		t.Errorf("want one warning naming the counts and %s in use; got %q\n%s", busy, inUse, s.Stdout)
	}
	if pulls := r.g.Counts().Pull; pulls != 3 {
		t.Errorf("%d pull request reads, want one for each of #3, #4, #5", pulls)
	}
}

// With more changed templates than preview-max, no preview is built: one
// warning names the input, and the check is what the plan makes it.
func TestPreviewMaxBuildsNone(t *testing.T) {
	t.Parallel()
	r := newPreviewRepo(t, nil)
	changes := map[string]string{}
	for i := range 11 {
		changes[fmt.Sprintf("sandbox-templates/extra-%02d.yaml", i)] = fmt.Sprintf("build_spec:\n  from: node:%d\n", 10+i)
	}
	head := r.push(t, changes)
	before := r.e.Counters()
	s := runAction(t, r.w, r.prEnv(t, "synchronize", head, ""), r.previewInputs(nil))
	if s.Code != 0 || s.Outputs["status"] != "success" || s.Outputs["changes-count"] != "11" {
		t.Fatalf("exit %d status %q changes-count %q, want 0 success 11 (the plan)\n%s", s.Code, s.Outputs["status"], s.Outputs["changes-count"], s.log())
	}
	if c := r.e.Counters(); c.Writes != before.Writes {
		t.Errorf("%d writes, want none", c.Writes-before.Writes)
	}
	var max []string
	for _, l := range warnings(s) {
		if strings.Contains(l, "preview-max") {
			max = append(max, l)
		}
	}
	if len(max) != 1 || !strings.Contains(max[0], "11 templates") {
		t.Errorf("want one warning naming preview-max and the 11 templates; got %q", max)
	}
	if s.Outputs["preview-template-ids"] != "{}" {
		t.Errorf("preview-template-ids = %q, want {}", s.Outputs["preview-template-ids"])
	}
	// With preview-max 11, eleven are within the bound.
	s = runAction(t, r.w, r.prEnv(t, "synchronize", head, ""), r.previewInputs(map[string]string{"preview-max": "11", "pr-comment": "never"}))
	var tids map[string]string
	s.json(t, "preview-template-ids", &tids)
	if s.Code != 0 || len(tids) != 11 {
		t.Errorf("preview-max 11: exit %d, %d previews; want 0 and 11\n%s", s.Code, len(tids), s.log())
	}
}

// The docs' preview workflow is testdata/workflows/e2e/preview.yml, byte
// for byte (scripts/e2e-act.sh runs that file under act), it asks for what
// the docs say, and it works: its steps, run as the runner runs them on
// opened and closed events, build the changed template's preview, print
// its ids, and delete it.
func TestPreviewDocsWorkflow(t *testing.T) {
	t.Parallel()
	const file = "../testdata/workflows/e2e/preview.yml"
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	block, ok := strings.CutPrefix(section(t, "../docs/previews.md", "## The workflow"), "\n```yaml\n")
	if block, _, _ = strings.Cut(block, "```\n"); !ok || block != string(raw) {
		t.Fatalf("docs/previews.md's workflow is not %s, byte for byte", file)
	}
	wf, order, jobs := readExample(t, file)
	on, _ := wf.On["pull_request"].(map[string]any)
	if got := fmt.Sprint(on["types"]); got != "[opened synchronize reopened closed]" {
		t.Errorf("on.pull_request.types = %s", got)
	}
	if wf.Permissions["contents"] != "read" || wf.Permissions["pull-requests"] != "write" || len(wf.Permissions) != 2 {
		t.Errorf("permissions = %v, want contents: read and pull-requests: write", wf.Permissions)
	}
	if len(order) != 1 {
		t.Fatalf("jobs %v, want one", order)
	}
	r := newPreviewRepo(t, nil)
	name := previewName("node-22-base")
	run := func(action, head string) {
		t.Helper()
		ex := &exampleRun{t: t, w: r.w, attempt: 1}
		steps := map[string]any{}
		ctx := map[string]any{"secrets": map[string]any{"MIOSA_API_KEY": testKey}, "steps": steps,
			"github": map[string]any{"event": map[string]any{"action": action}}}
		ran := 0
		for i, st := range jobs[order[0]].Steps {
			if st.If != "" && !truthy(ex.eval(ctx, "${{ "+st.If+" }}")) {
				continue
			}
			ran++
			switch {
			case strings.HasPrefix(st.Uses, "actions/checkout@"):
			case strings.HasPrefix(st.Uses, thisAction):
				inputs := map[string]string{}
				for k, v := range st.With {
					inputs[k] = str(ex.eval(ctx, v))
				}
				if inputs["api-key"] != testKey || inputs["preview"] != "true" {
					t.Fatalf("the action's inputs %v: want the MIOSA_API_KEY secret and preview: true", inputs)
				}
				inputs["api-url"], inputs["github-token"], inputs["poll-interval"] = r.e.URL, ghToken, "1s"
				s := runAction(t, r.w, r.prEnv(t, action, head, ""), inputs)
				if s.Code != 0 {
					t.Fatalf("%s: the action exited %d\n%s", action, s.Code, s.log())
				}
				outs := map[string]any{}
				for k, v := range s.Outputs {
					outs[k] = v
				}
				steps[st.ID] = map[string]any{"outputs": outs}
			default:
				ex.shell(fmt.Sprintf("%s: step %d %s", action, i+1, st.Name), st, ctx)
			}
		}
		if want := map[bool]int{true: 1, false: 3}[action == "closed"]; ran != want {
			t.Errorf("%s: %d steps ran, want %d", action, ran, want)
		}
	}
	head := r.push(t, map[string]string{"sandbox-templates/node-22-base.yaml": nodeChanged})
	run("opened", head)
	if templateIDs(r.e)[name] == "" || r.e.BuildsOf(name) != 1 {
		t.Fatalf("opened: no preview %s built", name)
	}
	r.g.ClosePull(previewRepo, previewPR)
	run("closed", head)
	if templateIDs(r.e)[name] != "" {
		t.Errorf("closed: the preview %s is still there", name)
	}
}

// pull_request_target runs with this repository's secrets whoever wrote
// the pull request: it never builds previews, and says so once.
func TestPreviewNeverOnPullRequestTarget(t *testing.T) {
	t.Parallel()
	r := newPreviewRepo(t, nil)
	head := r.push(t, map[string]string{"sandbox-templates/node-22-base.yaml": nodeChanged})
	before := r.e.Counters()
	env := r.prEnv(t, "synchronize", head, "")
	env["GITHUB_EVENT_NAME"] = "pull_request_target"
	s := runAction(t, r.w, env, r.previewInputs(map[string]string{"pr-comment": "never"}))
	if s.Code != 0 || r.e.Counters().Writes != before.Writes {
		t.Fatalf("exit %d, %d writes; want 0 and none\n%s", s.Code, r.e.Counters().Writes-before.Writes, s.log())
	}
	if n := strings.Count(s.Stdout, "never on pull_request_target"); n != 1 {
		t.Errorf("%d notices about pull_request_target, want 1\n%s", n, s.Stdout)
	}
}
