package ghaction

import (
	"bytes"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	githubactions "github.com/sethvargo/go-githubactions"

	"github.com/miosa-dev/sandbox-templates-action/internal/apply"
	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
)

var update = flag.Bool("update", false, "rewrite golden files")

// hostile is a result whose every server- or repository-controlled string
// tries to break out of its place.
func hostile() *apply.Result {
	evil := "x\n::error::pwned\nstatus=success"
	return &apply.Result{
		Mode: apply.ModeApply, Status: apply.StatusFailed, Online: true, Files: 2, Planned: true,
		Plan: plan.Plan{Items: []plan.Item{
			{Name: "node|22", Action: plan.Create, Reason: "not found", File: "sandbox-templates/node.yaml"},
		}, Unmanaged: []string{"<script>alert(1)</script>"}},
		TemplateIDs: map[string]string{"node|22": "t-" + evil},
		Builds: []apply.BuildResult{{
			Name: "node|22", TemplateID: "t-" + evil, BuildID: "b-" + evil + "`", State: "failed", Action: "create",
			IdempotencyKey: "k", ErrorCode: "BUILD_STEP_FAILED", ErrorMessage: "| a | b |\n::warning::x",
			LogURL: "javascript:alert(1)",
		}},
		Diagnostics: diag.List{{Path: "sandbox-templates/a\n::b.yaml", Line: 3, Col: 5, Field: "build_spec.from", Message: evil, Rule: "schema"}},
		Problems:    []string{"build failed: " + evil},
		Warnings:    []string{"server schema unavailable: " + evil},
	}
}

func TestOutputsCannotInject(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	env := map[string]string{"GITHUB_OUTPUT": out}
	var log bytes.Buffer
	a := githubactions.New(githubactions.WithGetenv(func(k string) string { return env[k] }), githubactions.WithWriter(&log))
	writeOutputs(a, hostile())
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n") {
		name, _, ok := strings.Cut(line, "=")
		if !ok || names[name] {
			t.Fatalf("GITHUB_OUTPUT line %q is not a new name=value entry:\n%s", line, raw)
		}
		names[name] = true
	}
	want := []string{"build-id", "build-ids", "builds", "changed-templates", "changes-count", "has-changes", "plan", "status", "template-ids"}
	if diff := cmp.Diff(want, slices.Sorted(maps.Keys(names))); diff != "" {
		t.Errorf("output names (-want +got):\n%s", diff)
	}
	for _, line := range strings.Split(log.String(), "\n") {
		if strings.HasPrefix(line, "::") && !strings.HasPrefix(line, "::group::") && !strings.HasPrefix(line, "::endgroup::") {
			t.Errorf("log line starts a workflow command: %q", line)
		}
	}
}

// A template named like a workflow command is shown in the plan table, not
// obeyed.
func TestReporterCannotStartACommand(t *testing.T) {
	t.Parallel()
	var log bytes.Buffer
	a := githubactions.New(githubactions.WithGetenv(func(string) string { return "" }), githubactions.WithWriter(&log))
	reporter{a: a}.Info("TEMPLATE  ACTION\n::stop-commands::tok\n  ::warning file=x::injected  invalid")
	for _, line := range strings.Split(strings.TrimSpace(log.String()), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "::") {
			t.Errorf("log line starts a workflow command: %q", line)
		}
	}
}

func TestAnnotateCapsAtTen(t *testing.T) {
	t.Parallel()
	var diags diag.List
	for i := 1; i <= 13; i++ {
		diags = append(diags, diag.Diagnostic{Path: "sandbox-templates/a.yaml", Line: i, Col: 1, Message: fmt.Sprintf("problem %d", i), Rule: "schema"})
	}
	var log bytes.Buffer
	a := githubactions.New(githubactions.WithGetenv(func(string) string { return "" }), githubactions.WithWriter(&log))
	annotate(a, diags)
	if n := strings.Count(log.String(), "::error "); n != 10 {
		t.Errorf("%d error annotations, want 10", n)
	}
	if !strings.Contains(log.String(), "::notice::3 more problem(s)") {
		t.Errorf("no notice for the 3 others:\n%s", log.String())
	}
	if !strings.Contains(log.String(), "sandbox-templates/a.yaml:13:1: problem 13 [schema]") {
		t.Errorf("the 13th problem is not in the log")
	}
}

func TestSummaryGolden(t *testing.T) {
	t.Parallel()
	got := Summary(hostile(), "0123456789abcdef0123")
	for _, line := range strings.Split(got, "\n") {
		if strings.HasPrefix(line, "::") {
			t.Errorf("summary line starts a workflow command: %q", line)
		}
	}
	if strings.Contains(got, "javascript:") && strings.Contains(got, "](javascript") {
		t.Error("a javascript: link made it into the summary")
	}
	path := filepath.Join("testdata", "summary-hostile.md")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
}

func TestSummaryStaysUnderGitHubsLimit(t *testing.T) {
	t.Parallel()
	res := &apply.Result{Mode: apply.ModeValidate, Status: apply.StatusFailed, Files: 1000}
	for i := range 20000 {
		res.Diagnostics = append(res.Diagnostics, diag.Diagnostic{Path: fmt.Sprintf("sandbox-templates/t%04d.yaml", i%1000), Line: i, Col: 1,
			Message: strings.Repeat("m", 200), Rule: "schema"})
	}
	got := Summary(res, "")
	if len(got) >= 1<<20 {
		t.Fatalf("summary is %d bytes, GitHub's limit is 1 MiB", len(got))
	}
	if !strings.Contains(got, "more problem(s) are in the step log") {
		t.Error("the cut is not said")
	}
}

func TestConfigFromInputs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		inputs  map[string]string
		wantErr string
	}{
		{"defaults", map[string]string{}, ""},
		{"bad bool", map[string]string{"wait": "yes"}, `input wait: "yes" is not true or false`},
		{"bad duration", map[string]string{"timeout": "soon"}, `input timeout: "soon" is not a duration`},
		{"poll too fast", map[string]string{"poll-interval": "100ms"}, "below the 1s minimum"},
		{"bad concurrency", map[string]string{"concurrency": "0"}, "not a whole number from 1 to 64"},
		{"seconds", map[string]string{"timeout": "90"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := config(func(k string) string { return tt.inputs[k] }, func(string) string { return "" })
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			if tt.name == "seconds" && cfg.Timeout.Seconds() != 90 {
				t.Errorf("timeout %v, want 90s", cfg.Timeout)
			}
		})
	}
	cfg, _ := config(func(k string) string {
		return map[string]string{"path": "a/*.yaml\n# comment\n\nb/*.yml\n", "templates": "x\ny"}[k]
	}, func(string) string { return "" })
	if diff := cmp.Diff([]string{"a/*.yaml", "b/*.yml"}, cfg.Patterns); diff != "" {
		t.Error(diff)
	}
}
