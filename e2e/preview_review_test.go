package e2e

import (
	"strings"
	"testing"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
	"github.com/miosa-dev/sandbox-templates-action/internal/preview"
)

// A template of the account that carries a preview's name but not its
// mark (made by hand, or by someone else) is never built over by a
// preview run: the preview run writes only templates it made.
func TestPreviewReviewNeverBuildsOverAnUnmarkedTemplate(t *testing.T) {
	t.Parallel()
	r := newPreviewRepo(t, nil)
	name := previewName("node-22-base")
	if _, err := r.e.SeedTemplate(emulator.TemplateSeed{Name: name, Description: "made by hand",
		BuildSpec: map[string]any{"from": "node:20"}}); err != nil {
		t.Fatal(err)
	}
	before := r.e.BuildsOf(name)
	head := r.push(t, map[string]string{"sandbox-templates/node-22-base.yaml": nodeChanged})
	s := runAction(t, r.w, r.prEnv(t, "synchronize", head, ""), r.previewInputs(map[string]string{"pr-comment": "never"}))
	if n := r.e.BuildsOf(name); n != before {
		t.Errorf("%d builds of the hand-made %s, want %d: a preview run built over a template it did not make\n%s", n, name, before, s.log())
	}
	if s.Code != 1 || !strings.Contains(s.Stdout, "::error") || !strings.Contains(s.Stdout, "is not this repository's preview") {
		t.Errorf("exit %d, want 1 with an error saying %s is not this repository's preview\n%s", s.Code, name, s.log())
	}
	var tids map[string]string
	s.json(t, "preview-template-ids", &tids)
	if len(tids) != 0 {
		t.Errorf("preview-template-ids = %v: a template this repository did not make is given as its preview", tids)
	}
	for _, tpl := range r.e.State().Templates {
		if tpl.Name == name && tpl.BuildSpec["from"] != "node:20" {
			t.Errorf("%s's spec is %v now, was the hand-made one's", name, tpl.BuildSpec)
		}
	}
}

// A run of a pull request's last push that runs (or is re-run) after the
// pull request was closed builds no preview: the closed event's clean-up
// has run or will not run again, and the preview would be left behind.
func TestPreviewReviewClosedPullRequestGetsNoPreview(t *testing.T) {
	t.Parallel()
	r := newPreviewRepo(t, nil)
	name := previewName("node-22-base")
	head := r.push(t, map[string]string{"sandbox-templates/node-22-base.yaml": nodeChanged})
	r.g.ClosePull(previewRepo, previewPR)
	before := r.e.Counters()
	s := runAction(t, r.w, r.prEnv(t, "synchronize", head, ""), r.previewInputs(map[string]string{"pr-comment": "never"}))
	if c := r.e.Counters(); c.Writes != before.Writes || templateIDs(r.e)[name] != "" {
		t.Errorf("%d writes, preview %q: want no preview of a closed pull request\n%s", c.Writes-before.Writes, templateIDs(r.e)[name], s.log())
	}
	if !strings.Contains(s.Stdout, "closed") {
		t.Errorf("the run does not say the pull request is closed:\n%s", s.Stdout)
	}
}

// A re-run of a closed event's run, after the pull request was reopened,
// deletes nothing: the pull request is open, and its previews serve it.
func TestPreviewReviewClosedRerunAfterReopen(t *testing.T) {
	t.Parallel()
	r := newPreviewRepo(t, nil)
	name := previewName("node-22-base")
	head := r.push(t, map[string]string{"sandbox-templates/node-22-base.yaml": nodeChanged})
	if s := runAction(t, r.w, r.prEnv(t, "opened", head, ""), r.previewInputs(nil)); s.Code != 0 || templateIDs(r.e)[name] == "" {
		t.Fatalf("opened: exit %d\n%s", s.Code, s.log())
	}
	before := r.e.Counters()
	// GitHub says the pull request is open (reopened since the close).
	s := runAction(t, r.w, r.prEnv(t, "closed", head, ""), r.previewInputs(nil))
	if s.Code != 0 {
		t.Errorf("exit %d\n%s", s.Code, s.log())
	}
	if n := r.e.Counters().TemplatesDeleted - before.TemplatesDeleted; n != 0 || templateIDs(r.e)[name] == "" {
		t.Errorf("%d deleted: the previews of an open pull request were deleted\n%s", n, s.log())
	}
}

// allow-rollback: true, set for main's templates, does not let a slower
// run of an older push build over the newer push's preview.
func TestPreviewReviewAllowRollbackKeepsTheNewerPreview(t *testing.T) {
	t.Parallel()
	r := newPreviewRepo(t, nil)
	name := previewName("node-22-base")
	in := r.previewInputs(map[string]string{"allow-rollback": "true", "pr-comment": "never"})
	first := r.push(t, map[string]string{"sandbox-templates/node-22-base.yaml": nodeChanged})
	second := r.push(t, map[string]string{"sandbox-templates/node-22-base.yaml": strings.Replace(nodeChanged, "pnpm@9", "pnpm@10", 1)})
	if s := runAction(t, r.w, r.prEnv(t, "synchronize", second, ""), in); s.Code != 0 || r.e.BuildsOf(name) != 1 {
		t.Fatalf("second push: exit %d, %d builds\n%s", s.Code, r.e.BuildsOf(name), s.log())
	}
	newest := currentBuilds(r.e)[name]
	r.w.write(t, "sandbox-templates/node-22-base.yaml", nodeChanged)
	late := runAction(t, r.w, r.prEnv(t, "synchronize", first, ""), in)
	if n := r.e.BuildsOf(name); late.Code != 0 || n != 1 || currentBuilds(r.e)[name] != newest {
		t.Errorf("a late run of the first push: exit %d, %d builds of %s; want 0 and still 1\n%s", late.Code, n, name, late.log())
	}
}

// mode: cleanup keeps the previews of a pull request GitHub says does
// not exist (404): it cannot tell that it is closed. One warning names
// it; the previews of closed pull requests are deleted all the same.
func TestPreviewReviewCleanupKeepsWhatGitHubDoesNotKnow(t *testing.T) {
	t.Parallel()
	r := newPreviewRepo(t, nil)
	seed := func(tpl string, pr int) string {
		t.Helper()
		name := preview.Name(tpl, pr, previewRepo)
		if _, err := r.e.SeedTemplate(emulator.TemplateSeed{Name: name, Description: preview.Description(tpl, pr, previewRepo),
			BuildSpec: map[string]any{"from": "node:22"}}); err != nil {
			t.Fatal(err)
		}
		return name
	}
	closed, unknown := seed("node-22-base", 3), seed("node-22-base", 9)
	r.g.SetPullHead(previewRepo, 3, r.main)
	r.g.ClosePull(previewRepo, 3) // #9 was never made: 404
	s := runAction(t, r.w, r.g.env(t, "schedule", r.main, nil), ghInputs(r.e, map[string]string{"mode": "cleanup"}))
	if s.Code != 0 || s.Outputs["status"] != "success" {
		t.Fatalf("exit %d status %q\n%s", s.Code, s.Outputs["status"], s.log())
	}
	ids := templateIDs(r.e)
	if ids[closed] != "" || ids[unknown] == "" {
		t.Errorf("closed #3's preview there %v, unknown #9's there %v; want deleted and kept", ids[closed] != "", ids[unknown] != "")
	}
	var about []string
	for _, l := range warnings(s) {
		if strings.Contains(l, "#9") {
			about = append(about, l)
		}
	}
	if len(about) != 1 || !strings.Contains(about[0], "kept") {
		t.Errorf("want one warning that #9's previews were kept; got %q", about)
	}
}
