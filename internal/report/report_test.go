package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
	"github.com/miosa-dev/sandbox-templates-action/internal/golden"
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
	"github.com/miosa-dev/sandbox-templates-action/internal/run"
)

func samplePlan() plan.Plan {
	served := map[string]any{"from": "python:3.12-slim", "steps": []any{map[string]any{"run": "pip install uv"}},
		"env": map[string]any{"PIP_INDEX_TOKEN": "s3cr3t-old"}}
	wanted := map[string]any{"from": "python:3.13-slim", "steps": []any{map[string]any{"run": "pip install uv"}, map[string]any{"run": "echo ```` && echo ::error::x"}},
		"env": map[string]any{"PIP_INDEX_TOKEN": "s3cr3t-new"}}
	return plan.Plan{
		Items: []plan.Item{
			{Name: "go-1-23", Action: plan.Unchanged, Reason: "served by build b-17 (ready)", File: "sandbox-templates/go.yaml"},
			{Name: "go-1-23", Action: plan.Describe, Reason: "changed from \"Go 1.23\" to \"Go\"", File: "sandbox-templates/go.yaml"},
			{Name: "node-22-base", Action: plan.Create, Reason: "not found", File: "sandbox-templates/node-22-base.yaml",
				Changes: plan.Diff(nil, map[string]any{"from": "node:22-bookworm"})},
			{Name: "pipe|evil", Action: plan.Invalid, Reason: "name: \"pipe|evil\" is not a slug\n::error::x", File: "sandbox-templates/pipe|evil.yaml"},
			{Name: "python-3-12", Action: plan.Build, Reason: "spec changed (build b-1 serves another spec)", File: "sandbox-templates/python.yml",
				Changes: plan.Diff(served, wanted)},
			{Name: "ruby", Action: plan.Refused, Reason: "possible rollback: build b-9 serves another spec", File: "sandbox-templates/ruby.yml"},
		},
		Unmanaged: []string{"legacy-ruby"},
	}
}

// The plan in text, Markdown and JSON: the field-level changes are in each,
// escaped, with secret env values masked.
func TestPlanGolden(t *testing.T) {
	t.Parallel()
	p := samplePlan()
	for name, got := range map[string]string{"plan.txt": PlanText(p), "plan.md": PlanMarkdown(p), "plan.json": PlanJSON(p) + "\n"} {
		if strings.Contains(got, "s3cr3t") {
			t.Errorf("%s shows a secret env value", name)
		}
		golden.Check(t, filepath.Join("testdata", name), got)
	}
	var items []PlanItem
	if err := json.Unmarshal([]byte(PlanJSON(p)), &items); err != nil || len(items[4].Changes) != 3 {
		t.Errorf("plan JSON: %v, changes %+v", err, items)
	}
}

func hostile() *run.Result {
	evil := "x\n::error::pwned\nstatus=success"
	return &run.Result{
		Mode: run.ModeApply, Status: run.StatusFailed, Online: true, Files: 2, Planned: true, Commit: "0123456789abcdef0123",
		Plan: plan.Plan{Items: []plan.Item{
			{Name: "node|22", Action: plan.Create, Reason: "not found", File: "sandbox-templates/node.yaml"},
		}, Unmanaged: []string{"<script>alert(1)</script>"}},
		TemplateIDs: map[string]string{"node|22": "t-" + evil},
		Builds: []run.BuildResult{{
			Name: "node|22", TemplateID: "t-" + evil, BuildID: "b-" + evil + "`", State: "failed", Action: "create", Made: true,
			IdempotencyKey: "k", ErrorCode: "BUILD_STEP_FAILED", ErrorMessage: "| a | b |\n::warning::x ##[error]y\n\u00a0::warning::z",
			LogURL: "javascript:alert(1)",
		}},
		Diagnostics: diag.List{{Path: "sandbox-templates/a\n::b.yaml", Line: 3, Col: 5, Field: "build_spec.from", Message: evil, Rule: "schema"},
			{Message: "build failed: " + evil, Rule: run.RuleAPI, Severity: diag.Error}},
		Warnings: []string{"server schema unavailable: " + evil},
	}
}

func TestSummaryGolden(t *testing.T) {
	t.Parallel()
	got := Summary(hostile())
	for _, line := range strings.Split(got, "\n") {
		if strings.HasPrefix(line, "::") {
			t.Errorf("summary line starts a workflow command: %q", line)
		}
	}
	if strings.Contains(got, "](javascript") {
		t.Error("a javascript: link made it into the summary")
	}
	golden.Check(t, filepath.Join("testdata", "summary-hostile.md"), got)
}

func TestSummaryStaysUnderGitHubsLimit(t *testing.T) {
	t.Parallel()
	res := &run.Result{Mode: run.ModeValidate, Status: run.StatusFailed, Files: 1000}
	for i := range 20000 {
		res.Diagnostics = append(res.Diagnostics, diag.Diagnostic{Path: fmt.Sprintf("sandbox-templates/t%04d.yaml", i%1000), Line: i, Col: 1,
			Message: strings.Repeat("m", 200), Rule: "schema"})
	}
	got := Summary(res)
	if len(got) >= 1<<20 {
		t.Fatalf("summary is %d bytes, GitHub's limit is 1 MiB", len(got))
	}
	if !strings.Contains(got, "more problem(s) are in the step log") {
		t.Error("the cut is not said")
	}
}

// The CLI's text and the job summary say the same of each build: one list
// of details serves both.
func TestBuildDetailsAgree(t *testing.T) {
	t.Parallel()
	res := hostile()
	res.Builds = append(res.Builds, run.BuildResult{Name: "go", BuildID: "b2", State: "ready", Action: "unchanged"},
		run.BuildResult{Name: "py", BuildID: "b3", State: "queued", Action: "build", Replayed: true})
	var text bytes.Buffer
	Text(&text, res)
	sum := Summary(res)
	for _, want := range []string{"already there", "made by an earlier attempt", "BUILD_STEP_FAILED"} {
		if !strings.Contains(text.String(), want) || !strings.Contains(sum, want) {
			t.Errorf("%q is not in both the text and the summary", want)
		}
	}
}
