package ghaction

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/google/go-cmp/cmp"
	githubactions "github.com/sethvargo/go-githubactions"

	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
	goldenfile "github.com/miosa-dev/sandbox-templates-action/internal/golden"
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
	"github.com/miosa-dev/sandbox-templates-action/internal/run"
	"github.com/miosa-dev/sandbox-templates-action/internal/textsafe"
)

// hostile is a result whose every server- or repository-controlled string
// tries to break out of its place.
func hostile() *run.Result {
	evil := "x\n::error::pwned\nstatus=success"
	return &run.Result{
		Mode: run.ModeApply, Status: run.StatusFailed, Online: true, Files: 2, Planned: true,
		Plan: plan.Plan{Items: []plan.Item{
			{Name: "node|22", Action: plan.Create, Reason: "not found", File: "sandbox-templates/node.yaml"},
		}, Unmanaged: []string{"<script>alert(1)</script>"}},
		TemplateIDs: map[string]string{"node|22": "t-" + evil},
		Builds: []run.BuildResult{{
			Name: "node|22", TemplateID: "t-" + evil, BuildID: "b-" + evil + "`", State: "failed", Action: "create",
			IdempotencyKey: "k", ErrorCode: "BUILD_STEP_FAILED", ErrorMessage: "| a | b |\n::warning::x ##[error]y\n\u00a0::warning::z",
			LogURL: "javascript:alert(1)",
		}},
		Diagnostics: diag.List{{Path: "sandbox-templates/a\n::b.yaml", Line: 3, Col: 5, Field: "build_spec.from", Message: evil, Rule: "schema"},
			{Message: "build failed: " + evil, Rule: run.RuleAPI, Severity: diag.Error}},
		Warnings: []string{"server schema unavailable: " + evil},
	}
}

// commandNames are the workflow commands the action issues itself.
var commandNames = []string{"add-mask", "debug", "endgroup", "error", "group", "notice", "warning"}

// checkLog fails the test for a log line that could issue a workflow
// command other than the action's own: every other line must be one that
// textsafe.LogLine leaves as it is (textsafe's FuzzNoInjection proves that
// such lines issue nothing), and must not start with "::" after leading
// Unicode spaces or hold "##[" at all.
func checkLog(t *testing.T, log string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSuffix(log, "\n"), "\n") {
		if name, ok := strings.CutPrefix(line, "::"); ok {
			name, _, _ = strings.Cut(name, "::")
			name, _, _ = strings.Cut(name, " ")
			if !slices.Contains(commandNames, name) {
				t.Errorf("log line issues command %q: %q", name, line)
			}
			continue
		}
		if textsafe.LogLine(line) != line || strings.HasPrefix(strings.TrimLeftFunc(line, unicode.IsSpace), "::") ||
			strings.Contains(line, "##[") || strings.Contains(line, "\r") {
			t.Errorf("log line can issue a workflow command: %q", line)
		}
	}
}

func newLog() (stepLog, *bytes.Buffer) {
	var buf bytes.Buffer
	return stepLog{textsafe.NewWriter(&buf)}, &buf
}

func TestOutputsCannotInject(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	env := map[string]string{"GITHUB_OUTPUT": out}
	log, buf := newLog()
	a := githubactions.New(githubactions.WithGetenv(func(k string) string { return env[k] }), githubactions.WithWriter(log.w))
	writeOutputs(a, log, hostile())
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
	checkLog(t, buf.String())
	if !strings.Contains(buf.String(), `##\x5berror]`) {
		t.Errorf("the builds= line does not show the escaped ##[error]:\n%s", buf.String())
	}
}

// A template named like a workflow command is shown in the plan table, not
// obeyed; so is a build's error message printed while waiting.
func TestReporterCannotStartACommand(t *testing.T) {
	t.Parallel()
	log, buf := newLog()
	r := reporter{log}
	r.Info("TEMPLATE  ACTION\n::stop-commands::tok\n  ::warning file=x::injected  invalid\n\u00a0::error::x  create")
	r.Info("web: build b1 is failed: BUILD_STEP_FAILED: ##[error]pwned\n\u00a0::warning::pwned")
	r.Warn("server says\n::error::x")
	checkLog(t, buf.String())
	if n := strings.Count(buf.String(), "\n::"); n != 1 || !strings.HasPrefix(buf.String(), "TEMPLATE") {
		t.Errorf("want one command (the warning), got %d:\n%s", n, buf.String())
	}
}

func TestAnnotate(t *testing.T) {
	t.Parallel()
	diags := diag.List{
		{Path: "sandbox-templates/a.yaml", Line: 5, Col: 9, Field: "build_spec.size", Message: `"##[error]..." is not one of "xs", "small"`, Rule: "schema"},
		{Path: "sandbox-templates/b,c:d.yaml", Message: "file is 2.0 MiB; the limit is 1 MiB", Rule: "file-size"},
		{Path: "templates", Message: `no template named "nod" in this repository; did you mean "node"?`, Rule: "unknown-template"},
		{Path: "templates/**/*.yaml", Message: "no template files match", Rule: "no-files", Severity: diag.Warning},
	}
	log, buf := newLog()
	annotate(log, diags)
	goldenfile.Testdata.Check(t, "annotate.txt", buf.String())
	checkLog(t, buf.String())
}

func TestAnnotateCapsAtTen(t *testing.T) {
	t.Parallel()
	var diags diag.List
	for i := 1; i <= 13; i++ {
		diags = append(diags, diag.Diagnostic{Path: "sandbox-templates/a.yaml", Line: i, Col: 1, Message: fmt.Sprintf("problem %d", i), Rule: "schema"})
	}
	log, buf := newLog()
	annotate(log, diags)
	if n := strings.Count(buf.String(), "::error "); n != 10 {
		t.Errorf("%d error annotations, want 10", n)
	}
	if !strings.Contains(buf.String(), "::notice::3 more problem(s)") {
		t.Errorf("no notice for the 3 others:\n%s", buf.String())
	}
	if !strings.Contains(buf.String(), "sandbox-templates/a.yaml:13:1: problem 13 [schema]") {
		t.Errorf("the 13th problem is not in the log")
	}
}

func TestConfigFromInputs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		inputs  map[string]string
		wantErr string
		check   func(runSettings) bool
	}{
		{"defaults", map[string]string{}, "", func(s runSettings) bool { return s.Summary && s.Timeout == 30*time.Minute && !s.Wait }},
		{"bad bool", map[string]string{"wait": "yes"}, `input wait: "yes" is not true or false`, nil},
		{"summary no", map[string]string{"summary": "no"}, `input summary: "no" is not true or false`, nil},
		{"summary off", map[string]string{"summary": "False"}, "", func(s runSettings) bool { return !s.Summary }},
		{"summary 0", map[string]string{"summary": "0"}, `input summary: "0" is not true or false`, nil},
		{"fail-on-changes on", map[string]string{"fail-on-changes": "yes"}, `input fail-on-changes: "yes"`, nil},
		{"allow-rollback y", map[string]string{"allow-rollback": "y"}, `input allow-rollback: "y"`, nil},
		{"wait TRUE", map[string]string{"wait": "TRUE"}, "", func(s runSettings) bool { return s.Wait }},
		{"bad duration", map[string]string{"timeout": "soon"}, `input timeout: "soon" is not a duration`, nil},
		{"no unit", map[string]string{"timeout": "90"}, `input timeout: "90" has no unit: write 90s for seconds or 90m for minutes`, nil},
		{"no unit, overflows", map[string]string{"timeout": "9300000000"}, `input timeout: "9300000000" has no unit, and is too large even as seconds (the most is 2562047h0m0s)`, nil},
		{"overflows", map[string]string{"timeout": "9300000000s"}, `input timeout: "9300000000s" is too large for a duration; the most is 2562047h0m0s`, nil},
		{"overflows in hours", map[string]string{"poll-interval": "3000000h"}, `input poll-interval: "3000000h" is too large`, nil},
		{"negative", map[string]string{"timeout": "-5m"}, `input timeout: "-5m" is negative`, nil},
		{"zero", map[string]string{"timeout": "0"}, "", func(s runSettings) bool { return s.Timeout == 0 }},
		{"minutes", map[string]string{"timeout": "45m"}, "", func(s runSettings) bool { return s.Timeout == 45*time.Minute }},
		{"poll too fast", map[string]string{"poll-interval": "100ms"}, "below the 1s minimum", nil},
		{"poll without unit", map[string]string{"poll-interval": "10"}, `input poll-interval: "10" has no unit`, nil},
		{"bad concurrency", map[string]string{"concurrency": "0"}, "not a whole number from 1 to 64", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := config(context.Background(), func(k string) string { return tt.inputs[k] }, runner{}, "test")
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			if tt.check != nil && !tt.check(cfg) {
				t.Errorf("settings %+v do not hold what the inputs say", cfg)
			}
		})
	}
	cfg, _ := config(context.Background(), func(k string) string {
		return map[string]string{"path": "a/*.yaml\n# comment\n\nb/*.yml\n", "templates": "x\ny"}[k]
	}, runner{}, "test")
	if diff := cmp.Diff([]string{"a/*.yaml", "b/*.yml"}, cfg.Patterns); diff != "" {
		t.Error(diff)
	}
}

// A bad boolean input fails the step with exit 2 before anything runs,
// summary included.
func TestMainRefusesBadInputs(t *testing.T) {
	t.Parallel()
	for _, in := range []map[string]string{{"INPUT_SUMMARY": "no"}, {"INPUT_WAIT": "yes"}, {"INPUT_TIMEOUT": "90"}} {
		dir := t.TempDir()
		env := map[string]string{"GITHUB_WORKSPACE": dir, "GITHUB_OUTPUT": filepath.Join(dir, "out"), "GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary")}
		maps.Copy(env, in)
		var out bytes.Buffer
		if code := Main(context.Background(), func(k string) string { return env[k] }, &out, "test"); code != run.ExitUsage {
			t.Errorf("%v: exit %d, want %d", in, code, run.ExitUsage)
		}
		if !strings.HasPrefix(out.String(), "::error::input ") {
			t.Errorf("%v: log %q, want an error naming the input", in, out.String())
		}
		if _, err := os.Stat(env["GITHUB_STEP_SUMMARY"]); err == nil {
			t.Errorf("%v: a summary was written", in)
		}
	}
}

func TestResolveMode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mode, event string
		key         bool
		want        run.Mode
	}{
		{"auto", "push", true, run.ModeApply},
		{"auto", "pull_request", true, run.ModePlan},
		{"auto", "pull_request_target", true, run.ModePlan},
		{"auto", "push", false, run.ModeValidate},
		{"auto", "workflow_dispatch", true, run.ModeApply},
		{"plan", "pull_request", false, run.ModeValidate},
		{"plan", "merge_group", false, run.ModeValidate},
		{"plan", "push", false, run.ModePlan}, // refused by the run: plan needs a key here
		{"apply", "push", false, run.ModeApply},
		{"apply", "push", true, run.ModeApply},
	}
	for _, tt := range tests {
		if got := resolveMode(tt.mode, tt.event, tt.key); got != tt.want {
			t.Errorf("resolveMode(%q, %q, %v) = %q, want %q", tt.mode, tt.event, tt.key, got, tt.want)
		}
	}
}
