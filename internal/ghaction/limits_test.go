package ghaction

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	githubactions "github.com/sethvargo/go-githubactions"

	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
	"github.com/miosa-dev/sandbox-templates-action/internal/github/githubtest"
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
	"github.com/miosa-dev/sandbox-templates-action/internal/prcomment"
	"github.com/miosa-dev/sandbox-templates-action/internal/report"
	"github.com/miosa-dev/sandbox-templates-action/internal/run"
)

// largePlan is a pull request's plan of n templates: a tenth to create, a
// twentieth to build, the rest unchanged and served; 25 files with a
// problem and 14 with a warning.
func largePlan(n int) *run.Result {
	res := &run.Result{Mode: run.ModePlan, Status: run.StatusFailed, Online: true, Files: n, Planned: true,
		Commit: strings.Repeat("c", 40), TemplateIDs: map[string]string{}, Changed: []string{}}
	for i := range n {
		name := fmt.Sprintf("template-%05d", i)
		it := plan.Item{Name: name, Action: plan.Unchanged, Reason: "served by build b-1 (ready)", File: "sandbox-templates/" + name + ".yaml"}
		switch {
		case i%10 == 0:
			it.Action, it.Reason = plan.Create, "not found"
			it.Changes = plan.Diff(nil, map[string]any{"from": "node:22-bookworm", "steps": []any{map[string]any{"run": "npm ci --omit=dev"}}})
		case i%20 == 5:
			it.Action, it.Reason = plan.Build, "spec changed (build b-1 serves another spec)"
			it.Changes = plan.Diff(map[string]any{"from": "node:20"}, map[string]any{"from": "node:22"})
		}
		res.Plan.Items = append(res.Plan.Items, it)
		if it.Action.Writes() {
			res.Changed = append(res.Changed, name)
		}
		if it.Action != plan.Create {
			id := fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
			res.TemplateIDs[name] = "t-" + id
			res.Builds = append(res.Builds, run.BuildResult{Name: name, TemplateID: "t-" + id, BuildID: "b-" + id, State: "ready", Action: "unchanged"})
		}
		switch {
		case i%200 == 3:
			res.Diagnostics = append(res.Diagnostics, diag.Diagnostic{Path: it.File, Line: 4, Col: 9, Field: "build_spec.size",
				Message: "problem of " + name, Rule: "schema"})
		case i%350 == 7:
			res.Diagnostics = append(res.Diagnostics, diag.Diagnostic{Path: it.File, Line: 2, Col: 1,
				Message: "warning of " + name, Rule: "schema", Severity: diag.Warning})
		}
	}
	return res
}

// At N=5000, what the action writes after the run (the plan file, the
// annotations, the outputs, the job summary and the pull request comment,
// in Main's order) stays within each of GitHub's limits, and the plan file
// holds every template.
func TestGitHubLimitsAtScale(t *testing.T) {
	t.Parallel()
	const n = 5000
	res := largePlan(n)
	dir := t.TempDir()
	files := t.TempDir()
	env := map[string]string{"GITHUB_OUTPUT": filepath.Join(files, "output"), "GITHUB_STEP_SUMMARY": filepath.Join(files, "summary")}
	gh := githubtest.New(githubtest.Options{})
	t.Cleanup(gh.Close)
	const token = "ghs_limitsTestToken0123456789abcdef"
	gh.SetToken(token)
	head := strings.Repeat("a", 40)
	gh.SetPullHead("acme/platform", 7, head)
	rn := runner{Event: "pull_request", Repository: "acme/platform", Workspace: dir, APIURL: gh.URL(), ServerURL: "https://github.example",
		RunID: 42, Workflow: "templates", Job: "plan", StepSummary: env["GITHUB_STEP_SUMMARY"]}
	if err := json.Unmarshal([]byte(`{"pull_request":{"number":7,"head":{"sha":"`+head+`"}}}`), &rn.Payload); err != nil {
		t.Fatal(err)
	}
	in := runSettings{Summary: true, Token: token, PRComment: prcomment.ModeAuto, Label: "prod"}
	in.Root = dir

	log, buf := newLog()
	a := githubactions.New(githubactions.WithGetenv(func(k string) string { return env[k] }), githubactions.WithWriter(log.w))
	for i := range 12 { // warnings the run said as it went
		reporter{log}.Warn(fmt.Sprintf("said while running %d", i))
	}
	planFile := writePlanFile(log, in.Root, planFileName(rn, in.Label), res)
	annotate(log, res.Diagnostics)
	cuts := writeOutputs(a, log, res, planFile)
	a.AddStepSummary(report.SummaryWithin(res, report.Room{Limit: report.MaxSummary, PlanFile: planFile, OutputCuts: cuts}))
	if !comment(context.Background(), log, rn, in, prcomment.Report{Result: res, Label: in.Label, RunURL: rn.RunURL(), PlanFile: planFile}, "test") {
		t.Fatal("comment failed")
	}
	sayUnannotated(log)
	if err := log.w.Flush(); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	checkLog(t, out)

	// The job summary: under 1 MiB, saying what it cut.
	sum, err := os.ReadFile(env["GITHUB_STEP_SUMMARY"])
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("summary %d bytes", len(sum))
	if len(sum) >= 1<<20 || !strings.Contains(string(sum), "Cut to fit GitHub's limit of 1 MiB") {
		t.Errorf("summary of %d bytes, cut line there: %v", len(sum), strings.Contains(string(sum), "Cut to fit"))
	}

	// Each output: under 1 MB, the JSON ones valid; plan-file names the file.
	raw, err := os.ReadFile(env["GITHUB_OUTPUT"])
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n") {
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("output line %.100q", line)
		}
		outputs[name] = value
		t.Logf("output %s: %d bytes", name, len(value))
		if len(value) >= 1_000_000 {
			t.Errorf("output %s is %d bytes", name, len(value))
		}
		if strings.HasPrefix(value, "[") || strings.HasPrefix(value, "{") {
			if !json.Valid([]byte(value)) {
				t.Errorf("output %s is not valid JSON", name)
			}
		}
	}
	if len(cuts) == 0 || !strings.Contains(out, "::warning::outputs cut to fit GitHub's limit of 1 MB per output") &&
		!strings.Contains(out, "warning: outputs cut to fit") {
		t.Errorf("cuts %v, and the log does not say so", cuts)
	}
	const wantFile = "sandbox-templates-results/plan-42-plan-prod.json"
	if outputs["plan-file"] != wantFile {
		t.Errorf("plan-file = %q, want %q", outputs["plan-file"], wantFile)
	}

	// The plan file holds every template, and every output whole.
	var doc struct {
		Plan    plan.Plan         `json:"plan"`
		Builds  []run.BuildResult `json:"builds"`
		Outputs map[string]string `json:"outputs"`
	}
	whole, err := os.ReadFile(filepath.Join(dir, wantFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(whole, &doc); err != nil {
		t.Fatalf("plan file: %v", err)
	}
	var items []report.PlanItem
	if err := json.Unmarshal([]byte(doc.Outputs["plan"]), &items); err != nil || len(doc.Plan.Items) != n || len(items) != n || len(doc.Builds) != len(res.Builds) {
		t.Errorf("plan file: %d plan items, %d in its plan output (%v), %d builds; want %d, %d and %d", len(doc.Plan.Items), len(items), err, len(doc.Builds), n, n, len(res.Builds))
	}

	// At most 10 annotations of each kind, and every problem in the log.
	for _, kind := range []string{"error", "warning", "notice"} {
		c := 0
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "::"+kind+" ") || strings.HasPrefix(line, "::"+kind+"::") {
				c++
			}
		}
		t.Logf("%s annotations: %d", kind, c)
		if c > maxAnnotate {
			t.Errorf("%d %s annotations", c, kind)
		}
	}
	for _, d := range res.Diagnostics {
		if !strings.Contains(out, d.String()+"\n") {
			t.Errorf("%q is not in the log", d.String())
		}
	}
	if !strings.Contains(out, "more problems not annotated") {
		t.Error("no line counts the problems not annotated")
	}

	// The pull request comment: within GitHub's limit, not cut by Post.
	comments := gh.Comments("acme/platform", 7)
	if len(comments) != 1 {
		t.Fatalf("%d comments", len(comments))
	}
	body := comments[0].Body
	t.Logf("comment %d bytes", len(body))
	if utf8.RuneCountInString(body) > 65536 || !strings.Contains(body, "### ❌ Sandbox templates (prod): failed · 250 to build, 500 to create") ||
		!strings.Contains(body, "Cut to fit GitHub's limit of 65,536 characters for a comment") || strings.Contains(body, "The full text is in") {
		t.Errorf("comment of %d characters:\n%.600s", utf8.RuneCountInString(body), body)
	}
}
