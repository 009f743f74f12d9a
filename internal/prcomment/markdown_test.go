package prcomment_test

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
	goldenfile "github.com/miosa-dev/sandbox-templates-action/internal/golden"
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
	"github.com/miosa-dev/sandbox-templates-action/internal/prcomment"
	"github.com/miosa-dev/sandbox-templates-action/internal/run"
)

const (
	commit   = "3fa9c1d2e4b5a6978877665544332211ffeeddcc"
	planFile = "sandbox-templates-results/plan-42-plan.json"
)

// planned is a plan of eight templates: one to create, one to build, a
// description change, five unchanged, and one in the account that no file
// manages. Its builds are the ones serving the unchanged templates, as a
// plan finds them.
func planned() *run.Result {
	served := map[string]any{"from": "python:3.12-slim", "steps": []any{map[string]any{"run": "pip install uv"}}}
	wanted := map[string]any{"from": "python:3.13-slim", "steps": []any{map[string]any{"run": "pip install uv"}, map[string]any{"run": "uv sync"}}}
	res := &run.Result{Mode: run.ModePlan, Status: run.StatusSuccess, Online: true, Files: 7, Planned: true, Commit: commit,
		Plan: plan.Plan{Items: []plan.Item{
			{Name: "go-1-23", Action: plan.Describe, Reason: `changed from "Go 1.23" to "Go"; no API call can change a description`, File: "sandbox-templates/go.yaml"},
			{Name: "go-1-23", Action: plan.Unchanged, Reason: "served by build b-17 (ready)", File: "sandbox-templates/go.yaml"},
			{Name: "java-21", Action: plan.Unchanged, Reason: "served by build b-18 (ready)", File: "sandbox-templates/java.yaml"},
			{Name: "node-22-base", Action: plan.Create, Reason: "not found", File: "sandbox-templates/node-22-base.yaml",
				Changes: plan.Diff(nil, map[string]any{"from": "node:22-bookworm", "env": map[string]any{"CI": "1"}})},
			{Name: "php-8", Action: plan.Unchanged, Reason: "served by build b-19 (ready)", File: "sandbox-templates/php.yaml"},
			{Name: "python-3-12", Action: plan.Build, Reason: "spec changed (build b-1 serves another spec)", File: "sandbox-templates/python.yaml",
				Changes: plan.Diff(served, wanted)},
			{Name: "ruby-3", Action: plan.Unchanged, Reason: "served by build b-20 (ready)", File: "sandbox-templates/ruby.yaml"},
			{Name: "rust", Action: plan.Unchanged, Reason: "served by build b-21 (ready)", File: "sandbox-templates/rust.yaml"},
		}, Unmanaged: []string{"legacy-ruby"}},
		Changed: []string{"node-22-base", "python-3-12"},
	}
	for i, n := range []string{"go-1-23", "java-21", "php-8", "ruby-3", "rust"} {
		res.Builds = append(res.Builds, run.BuildResult{Name: n, BuildID: fmt.Sprintf("b-%d", 17+i), State: "ready", Action: "unchanged"})
	}
	return res
}

// applied is the plan carried out, with wait: node-22-base created and
// built, python-3-12 built.
func applied() *run.Result {
	res := planned()
	res.Mode = run.ModeApply
	res.Builds = append(res.Builds,
		run.BuildResult{Name: "node-22-base", TemplateID: "t-9", BuildID: "b-30", State: "ready", Action: "create", Made: true},
		run.BuildResult{Name: "python-3-12", TemplateID: "t-3", BuildID: "b-31", State: "ready", Action: "build", Made: true})
	return res
}

// failedApply is the apply whose python-3-12 build failed at its second
// step.
func failedApply() *run.Result {
	res := applied()
	res.Status = run.StatusFailed
	last := &res.Builds[len(res.Builds)-1]
	last.State, last.ErrorCode, last.ErrorMessage = "failed", "BUILD_STEP_FAILED", "step 2 `uv sync` exited 1"
	last.LogURL = "https://api.miosa.ai/api/v1/sandbox-templates/t-3/builds/b-31/logs"
	last.LogTail = []string{"Resolved 12 packages", "error: No `pyproject.toml` found in `/app`"}
	res.Diagnostics = diag.List{{Path: "sandbox-templates/python.yaml", Line: 7, Col: 12, Field: "build_spec.steps[1].run",
		Message: "build b-31 of python-3-12 failed: BUILD_STEP_FAILED: step 2 `uv sync` exited 1", Rule: "build"}}
	return res
}

// validated is an offline check of five files, as a fork's pull request
// runs it.
func validated() *run.Result {
	return &run.Result{Mode: run.ModeValidate, Status: run.StatusSuccess, Files: 5, Commit: commit,
		Plan: plan.Plan{Items: []plan.Item{}, Unmanaged: []string{}}, Builds: []run.BuildResult{},
		Notices: []string{"api-key is empty, as expected here: a pull request from a fork gets no secrets. The files are checked offline."}}
}

// invalid is an offline check that found two problems.
func invalid() *run.Result {
	res := validated()
	res.Status = run.StatusFailed
	res.Diagnostics = diag.List{
		{Path: "sandbox-templates/node.yaml", Line: 5, Col: 14, Field: "build_spec.previewPort", Message: `"8080" is a string; remove the quotes`, Rule: "schema"},
		{Path: "sandbox-templates/web.yaml", Line: 2, Col: 1, Field: "buld_spec", Message: `unknown field; did you mean "build_spec"?`, Rule: "unknown-field"},
	}
	return res
}

func TestMarkdownGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		res   *run.Result
		label string
	}{
		{"plan", planned(), ""},
		{"apply", applied(), ""},
		{"failed", failedApply(), ""},
		{"validate", validated(), ""},
		{"validate-failed", invalid(), ""},
		{"label", planned(), "staging"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := prcomment.Markdown(prcomment.Report{Result: tt.res, Label: tt.label, RunURL: runURL, PlanFile: planFile}, prcomment.MaxLen)
			goldenfile.Testdata.Check(t, "comment-"+tt.name+".md", got)
		})
	}
}

// scale is a plan of n templates: builds every 25th (with a diff),
// creates every 100th, and leaves the rest unchanged; the account holds
// unmanaged more.
func scale(n, unmanaged int) *run.Result {
	res := &run.Result{Mode: run.ModePlan, Status: run.StatusSuccess, Online: true, Files: n, Planned: true, Commit: commit}
	for i := range n {
		name := fmt.Sprintf("template-%05d", i)
		it := plan.Item{Name: name, Action: plan.Unchanged, Reason: "served by build b-1 (ready)", File: "sandbox-templates/" + name + ".yaml"}
		switch {
		case i%100 == 0:
			it.Action, it.Reason = plan.Create, "not found"
			it.Changes = plan.Diff(nil, map[string]any{"from": "node:22-bookworm", "steps": []any{map[string]any{"run": "npm ci"}}})
		case i%25 == 0:
			it.Action, it.Reason = plan.Build, "spec changed (build b-1 serves another spec)"
			it.Changes = plan.Diff(map[string]any{"from": "node:20"}, map[string]any{"from": "node:22"})
		}
		if it.Action.Writes() {
			res.Changed = append(res.Changed, name)
		}
		res.Plan.Items = append(res.Plan.Items, it)
	}
	for i := range unmanaged {
		res.Plan.Unmanaged = append(res.Plan.Unmanaged, fmt.Sprintf("other-%05d", i))
	}
	return res
}

// number is the count with thousands separators that pattern's group
// matches in s.
func number(t *testing.T, s, pattern string) int {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no %s", pattern)
	}
	n, err := strconv.Atoi(strings.ReplaceAll(m[1], ",", ""))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// headAndTail is the first and the last lines of a long text, for a
// golden file.
func headAndTail(s string, head, tail int) string {
	lines := strings.SplitAfter(s, "\n")
	if len(lines) <= head+tail {
		return s
	}
	cut := lines[head : len(lines)-tail]
	n := 0
	for _, l := range cut {
		n += len(l)
	}
	end := slices.Clone(lines[len(lines)-tail:])
	for i, l := range end {
		if len(l) > 300 {
			end[i] = fmt.Sprintf("[... %d bytes ...]%s", len(l)-200, l[len(l)-200:])
		}
	}
	return strings.Join(lines[:head], "") + fmt.Sprintf("[... %d lines, %d bytes ...]\n", len(cut), n) + strings.Join(end, "")
}

// At N=5000 the comment fits GitHub's limit: every changed template is
// there with its diff, the unchanged ones are cut first, and a line under
// the headline says what was cut and where everything is.
func TestMarkdownAtScale(t *testing.T) {
	t.Parallel()
	res := scale(5000, 3000)
	cfg := prcomment.Config{Marker: prcomment.Marker("Sandbox templates", "plan", "staging"), HeadSHA: commit}
	got := prcomment.Markdown(prcomment.Report{Result: res, Label: "staging", RunURL: runURL, PlanFile: planFile}, cfg.Room())
	goldenfile.Testdata.Check(t, "comment-cut-5000.md", headAndTail(got, 24, 12))
	body := prcomment.Body(cfg.Marker, cfg.HeadSHA, got, runURL)
	if len(body) > prcomment.MaxLen || utf8.RuneCountInString(body) > 65536 || strings.Contains(body, "The full text is in") {
		t.Fatalf("the comment is %d bytes, or was cut by Post, not by Markdown", len(body))
	}
	if len(got) < cfg.Room()-4096 {
		t.Errorf("the comment is %d bytes of %d: it wastes the room", len(got), cfg.Room())
	}
	const headline = "### Sandbox templates (staging): 150 to build, 50 to create · 4,800 unchanged\n"
	if !strings.HasPrefix(got, headline) {
		t.Errorf("headline %q, want %q", got[:strings.Index(got, "\n")+1], headline)
	}
	if !strings.Contains(got, "**Cut to fit GitHub's limit of 65,536 characters for a comment:**") || !strings.Contains(got, planFile) {
		t.Error("no line says what was cut and where the rest is")
	}
	unchangedAt := strings.Index(got, "<details><summary>4,800 unchanged</summary>")
	if unchangedAt < 0 {
		t.Fatal("no unchanged list")
	}
	for _, name := range res.Changed {
		i := strings.Index(got, "** to create · ") // any change line
		j := strings.Index(got, " "+name+"** to ")
		if i < 0 || j < 0 || j > unchangedAt {
			t.Fatalf("changed template %s is not listed before the unchanged ones", name)
		}
	}
	list := got[unchangedAt:]
	list = list[strings.Index(list, "\n\n")+2 : strings.Index(list, "\n\n</details>")]
	kept := strings.Count(list, "template-")
	if more := number(t, list, ` … and ([0-9,]+) more$`); kept+more != 4800 || kept == 0 {
		t.Errorf("the unchanged list keeps %d names and says %d more; want 4,800 in all", kept, more)
	}
	if strings.Contains(got, "other-00000") {
		t.Error("unmanaged names are listed, though unchanged ones were cut")
	}
	if !strings.Contains(got, "<details><summary>3,000 templates in the account not managed by this repository (left alone)</summary>\n\n(the names are left out)\n\n</details>") {
		t.Error("the unmanaged templates are not counted")
	}
}

// When the changes alone are too many, the comment keeps the first ones
// whole, with their diffs, and counts the rest.
func TestMarkdownCutsChangesLast(t *testing.T) {
	t.Parallel()
	res := scale(5000, 0)
	for i := range res.Plan.Items {
		it := &res.Plan.Items[i]
		it.Action, it.Reason = plan.Create, "not found"
		it.Changes = plan.Diff(nil, map[string]any{"from": "node:22-bookworm", "steps": []any{map[string]any{"run": "npm ci"}}})
	}
	res.Diagnostics = diag.List{{Path: "sandbox-templates/template-04999.yaml", Line: 3, Col: 1, Message: "a problem is never cut first", Rule: "schema", Severity: diag.Warning}}
	got := prcomment.Markdown(prcomment.Report{Result: res, RunURL: runURL, PlanFile: planFile}, prcomment.MaxLen-100)
	if len(got) > prcomment.MaxLen-100 {
		t.Fatalf("%d bytes", len(got))
	}
	if !strings.HasPrefix(got, "### Sandbox templates: 5,000 to create\n") || !strings.Contains(got, "a problem is never cut first") {
		t.Errorf("headline or problem missing:\n%s", got[:500])
	}
	shown := strings.Count(got, "** to create · ")
	diffs := strings.Count(got, "```diff")
	if more := number(t, got, `\n_… ([0-9,]+) more changed templates, not shown\._\n`); shown+more != 5000 || diffs != shown {
		t.Errorf("%d shown with %d diffs, %d more; want 5,000 in all, each shown with its diff", shown, diffs, more)
	}
	if !strings.Contains(got, " template-00000** ") || strings.Contains(got, " template-04999** ") {
		t.Error("the first changes are not the ones kept")
	}
}

// The headline leads with the run's state when it did not succeed, then
// the counts, in the words of the mode.
func TestHeadline(t *testing.T) {
	t.Parallel()
	unchangedOnly := planned()
	unchangedOnly.Plan.Items = unchangedOnly.Plan.Items[1:3]
	unchangedOnly.Changed = nil
	timedOut := applied()
	timedOut.Status = run.StatusTimeout
	notWritten := applied()
	notWritten.Changed = []string{"node-22-base"}
	unauthorized := &run.Result{Mode: run.ModePlan, Status: run.StatusFailed, Online: true, Files: 3,
		Diagnostics: diag.List{{Message: "the API refused the key (401)", Rule: run.RuleAPI}}}
	tests := []struct {
		name  string
		res   *run.Result
		label string
		want  string
	}{
		{"nothing to do", unchangedOnly, "", "### Sandbox templates: no changes · 2 unchanged"},
		{"timed out", timedOut, "", "### ⏱️ Sandbox templates: timed out · 1 built, 1 created · 1 description change · 5 unchanged"},
		{"a write failed", notWritten, "", "### Sandbox templates: 1 created · 1 not written · 1 description change · 5 unchanged"},
		{"stopped before planning", unauthorized, "", "### ❌ Sandbox templates: failed · no plan"},
		{"no files", &run.Result{Mode: run.ModeApply, Status: run.StatusSkipped}, "", "### Sandbox templates: no template files"},
		{"label escaped", planned(), "eu|west\n@team", "### Sandbox templates (eu\\|west\\\\n@\u200dteam): 1 to build, 1 to create · 1 description change · 5 unchanged"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := prcomment.Markdown(prcomment.Report{Result: tt.res, Label: tt.label}, prcomment.MaxLen)
			if first, _, _ := strings.Cut(got, "\n"); first != tt.want {
				t.Errorf("headline %q, want %q", first, tt.want)
			}
		})
	}
}

// Untrusted text in the comment (names, reasons, problems, server
// messages, the label) cannot mention, link or show a credential; the only
// links are the run's and a build's log on the API's host.
func TestMarkdownNeitherMentionsNorLinks(t *testing.T) {
	t.Parallel()
	const evil = "ping @octocat and @org/team, see www.evil.example/login, https://evil.example/x, fixes #12, " +
		"token ghp_0123456789abcdefghijABCDEFGHIJ012345 <img src=x> ::error::x"
	res := failedApply()
	res.Plan.Items = append(res.Plan.Items,
		plan.Item{Name: "@octocat", Action: plan.Superseded, Reason: evil, File: "sandbox-templates/@octocat.yaml"},
		plan.Item{Name: "evil.example", Action: plan.Unchanged, Reason: evil})
	res.Plan.Unmanaged = append(res.Plan.Unmanaged, "@org/team")
	res.Diagnostics = append(res.Diagnostics, diag.Diagnostic{Message: evil, Rule: run.RuleAPI})
	res.Warnings = []string{evil}
	res.Builds[len(res.Builds)-1].ErrorMessage = evil
	got := prcomment.Markdown(prcomment.Report{Result: res, Label: "@octocat #12", RunURL: runURL}, prcomment.MaxLen)
	var prose []string
	fenced := false
	for _, line := range strings.Split(got, "\n") {
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
			continue
		}
		if !fenced {
			prose = append(prose, regexp.MustCompile("`[^`]*`|\\]\\(<"+regexp.QuoteMeta(runURL)+">\\)|\\[log\\]\\(https://api\\.miosa\\.ai/[^)]*\\)").ReplaceAllString(line, ""))
		}
	}
	text := strings.Join(prose, "\n")
	for _, m := range regexp.MustCompile(`@[A-Za-z0-9]|:/|[.][A-Za-z0-9]|#[0-9]|<img`).FindAllStringIndex(text, -1) {
		t.Errorf("%q can mention or link: %q", text[m[0]:m[1]], text[max(0, m[0]-30):min(len(text), m[1]+30)])
	}
	if strings.Contains(got, "ghp_0123456789") || strings.Contains(got, "\n::") {
		t.Errorf("the comment shows a credential or starts a command:\n%s", got)
	}
}
