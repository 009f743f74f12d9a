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
	return newStepLog(&buf), &buf
}

func TestOutputsCannotInject(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	env := map[string]string{"GITHUB_OUTPUT": out}
	log, buf := newLog()
	a := githubactions.New(githubactions.WithGetenv(func(k string) string { return env[k] }), githubactions.WithWriter(log.w))
	writeOutputs(a, log, hostile(), "sandbox-templates-results/plan-1-sync.json")
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
	want := []string{"build-id", "build-ids", "builds", "changed-templates", "changes-count", "has-changes", "plan", "plan-file", "status", "template-ids"}
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

// GitHub shows 10 annotations of each kind per step: the action issues at
// most that many of each, the last one counting the problems left, and
// prints every problem as a plain line.
func TestAnnotateCapsAtTen(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name             string
		errors, warns    int
		streamed         int // warnings the run said before the problems
		wantErr, wantWn  int // annotation lines of each kind
		wantCount        []string
		wantPlainCounted bool // a notice counts the warnings printed as plain lines
	}{
		{"ten fit", 10, 0, 0, 10, 0, nil, false},
		{"thirteen", 13, 0, 0, 10, 0, []string{"::error::4 more problems not annotated (GitHub shows 10 of each kind per step): every problem is printed below (the job summary lists them unless it was cut)"}, false},
		{"each kind apart", 13, 12, 0, 10, 10, []string{"::error::4 more problems", "::warning::3 more problems"}, false},
		{"warnings said before", 0, 5, 8, 0, 10, []string{"::warning::4 more problems"}, false},
		{"no room left", 0, 3, 12, 0, 10, []string{"warning: 3 more problems"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var diags diag.List
			for i := 1; i <= tt.errors; i++ {
				diags = append(diags, diag.Diagnostic{Path: "sandbox-templates/a.yaml", Line: i, Col: 1, Message: fmt.Sprintf("problem %d", i), Rule: "schema"})
			}
			for i := 1; i <= tt.warns; i++ {
				diags = append(diags, diag.Diagnostic{Path: "sandbox-templates/b.yaml", Line: i, Col: 1, Message: fmt.Sprintf("warning %d", i), Rule: "schema", Severity: diag.Warning})
			}
			log, buf := newLog()
			for i := range tt.streamed {
				reporter{log}.Warn(fmt.Sprintf("said %d", i))
			}
			annotate(log, diags)
			sayUnannotated(log)
			out := buf.String()
			kinds := map[string]int{}
			for _, line := range strings.Split(out, "\n") {
				for _, k := range []string{"error", "warning", "notice"} {
					if strings.HasPrefix(line, "::"+k+" ") || strings.HasPrefix(line, "::"+k+"::") {
						kinds[k]++
					}
				}
			}
			if kinds["error"] != tt.wantErr || kinds["warning"] != tt.wantWn {
				t.Errorf("%v annotations, want %d errors and %d warnings:\n%s", kinds, tt.wantErr, tt.wantWn, out)
			}
			for _, want := range tt.wantCount {
				if !strings.Contains(out, want) {
					t.Errorf("no %q:\n%s", want, out)
				}
			}
			if got := strings.Contains(out, "::notice::") && strings.Contains(out, `printed in this log as lines starting "warning: "`); got != tt.wantPlainCounted {
				t.Errorf("a notice counts the plain warnings: %v, want %v:\n%s", got, tt.wantPlainCounted, out)
			}
			for i := 1; i <= tt.errors; i++ {
				if !strings.Contains(out, fmt.Sprintf("sandbox-templates/a.yaml:%d:1: problem %d [schema]\n", i, i)) {
					t.Errorf("problem %d is not in the log", i)
				}
			}
			for i := 1; i <= tt.warns; i++ {
				if !strings.Contains(out, fmt.Sprintf("sandbox-templates/b.yaml:%d:1: warning %d [schema]\n", i, i)) {
					t.Errorf("warning %d is not in the log", i)
				}
			}
			for i := range tt.streamed {
				if !strings.Contains(out, fmt.Sprintf("said %d\n", i)) {
					t.Errorf("streamed warning %d is not in the log", i)
				}
			}
			checkLog(t, out)
		})
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
			cfg, err := config(context.Background(), func(k string) string {
				if k == "mode" && tt.inputs[k] == "" {
					return "validate" // these cases are about parsing; no key, no event
				}
				return tt.inputs[k]
			}, runner{}, "test")
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
		return map[string]string{"path": "a/*.yaml\n# comment\n\nb/*.yml\n", "templates": "x\ny", "mode": "validate"}[k]
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
	const fork = "a pull request from a fork gets no secrets"
	tests := []struct {
		mode, event string
		key         bool
		noSecrets   string
		want        run.Mode
		wantErr     string
	}{
		{"auto", "push", true, "", run.ModeApply, ""},
		{"auto", "pull_request", true, "", run.ModePlan, ""},
		{"auto", "pull_request_target", true, "", run.ModePlan, ""},
		{"auto", "workflow_dispatch", true, "", run.ModeApply, ""},
		{"auto", "pull_request", true, fork, run.ModePlan, ""}, // a key wins, wherever it came from
		// No key where a secret could exist: a missing or misnamed secret.
		{"auto", "push", false, "", "", "mode auto needs an API key to apply on a push event, and input api-key is empty"},
		{"auto", "pull_request", false, "", "", "mode auto needs an API key to plan on a pull_request event"},
		{"auto", "merge_group", false, "", "", "to plan on a merge_group event"},
		{"plan", "pull_request", false, "", "", "mode plan needs an API key, and input api-key is empty"},
		{"plan", "push", false, "", "", "mode plan needs an API key"},
		{"apply", "push", false, "", "", "mode apply needs an API key"},
		// No key where no secret can exist: the offline check.
		{"auto", "push", false, "Dependabot's runs get no Actions secrets", run.ModeValidate, ""},
		{"auto", "pull_request", false, fork, run.ModeValidate, ""},
		{"plan", "pull_request", false, fork, run.ModeValidate, ""},
		{"apply", "pull_request", false, fork, run.ModeValidate, ""}, // apply on a pull request plans
		{"apply", "push", false, "this repository is a fork", "", "mode apply needs an API key"},
		{"validate", "push", false, "", run.ModeValidate, ""},
		{"apply", "push", true, "", run.ModeApply, ""},
	}
	for _, tt := range tests {
		got, err := resolveMode(tt.mode, tt.event, tt.key, tt.noSecrets)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("resolveMode(%q, %q, %v, %q): %v", tt.mode, tt.event, tt.key, tt.noSecrets, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) || !run.IsUsage(err)):
			t.Errorf("resolveMode(%q, %q, %v, %q) error %v, want a usage error with %q", tt.mode, tt.event, tt.key, tt.noSecrets, err, tt.wantErr)
		case got != tt.want:
			t.Errorf("resolveMode(%q, %q, %v, %q) = %q, want %q", tt.mode, tt.event, tt.key, tt.noSecrets, got, tt.want)
		}
	}
}

// The facts that say no secret can reach a run come from the runner and the
// event payload.
func TestNoSecrets(t *testing.T) {
	t.Parallel()
	pr := func(head, base string) string {
		return `{"pull_request":{"number":7,"head":{"sha":"abc","repo":{"full_name":"` + head + `"}},"base":{"repo":{"full_name":"` + base + `"}}},"repository":{"full_name":"acme/platform"}}`
	}
	tests := []struct {
		name, event, actor, payload string
		want                        string
	}{
		{"push", "push", "alice", `{"repository":{"full_name":"acme/platform","fork":false}}`, ""},
		{"same-repository pull request", "pull_request", "alice", pr("acme/platform", "acme/platform"), ""},
		{"same repository, other case", "pull_request", "alice", pr("Acme/Platform", "acme/platform"), ""},
		{"fork pull request", "pull_request", "bob", pr("bob/platform", "acme/platform"), "fork"},
		{"review of a fork's pull request", "pull_request_review", "alice", pr("bob/platform", "acme/platform"), "fork"},
		{"review comment on a fork's pull request", "pull_request_review_comment", "alice", pr("bob/platform", "acme/platform"), "fork"},
		{"deleted fork", "pull_request", "bob", `{"pull_request":{"number":7,"head":{"sha":"abc","repo":null},"base":{"repo":{"full_name":"acme/platform"}}}}`, "fork"},
		{"pull_request_target runs with the base's secrets", "pull_request_target", "bob", pr("bob/platform", "acme/platform"), ""},
		{"Dependabot", "pull_request", "dependabot[bot]", pr("acme/platform", "acme/platform"), "Dependabot"},
		{"Dependabot's push", "push", "dependabot[bot]", `{}`, "Dependabot"},
		{"a fork's own push", "push", "bob", `{"repository":{"full_name":"bob/platform","fork":true}}`, "fork"},
		{"merge queue", "merge_group", "alice", `{"repository":{"full_name":"acme/platform"}}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := filepath.Join(t.TempDir(), "event.json")
			if err := os.WriteFile(p, []byte(tt.payload), 0o644); err != nil {
				t.Fatal(err)
			}
			env := map[string]string{"GITHUB_EVENT_PATH": p, "GITHUB_EVENT_NAME": tt.event, "GITHUB_ACTOR": tt.actor, "GITHUB_REPOSITORY": "acme/platform"}
			got := readRunner(githubactions.New(githubactions.WithGetenv(func(k string) string { return env[k] }))).noSecrets()
			if (got == "") != (tt.want == "") || !strings.Contains(got, tt.want) {
				t.Errorf("noSecrets() = %q, want %q", got, tt.want)
			}
		})
	}
}

// Without a key, the action fails before reading a file, naming the input
// and the secret to create, except where no secret can exist; mode
// validate never needs one.
func TestMainWithoutKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, event, actor, payload, mode string
		wantCode                          int
	}{
		{"push", "push", "alice", `{"repository":{"full_name":"acme/platform"}}`, "", run.ExitUsage},
		{"same-repository pull request", "pull_request", "alice", `{"pull_request":{"number":1,"head":{"repo":{"full_name":"acme/platform"}},"base":{"repo":{"full_name":"acme/platform"}}}}`, "", run.ExitUsage},
		{"push, mode validate", "push", "alice", `{}`, "validate", run.ExitOK},
		{"fork pull request", "pull_request", "bob", `{"pull_request":{"number":1,"head":{"repo":{"full_name":"bob/platform"}},"base":{"repo":{"full_name":"acme/platform"}}}}`, "", run.ExitOK},
		{"Dependabot", "push", "dependabot[bot]", `{}`, "", run.ExitOK},
		{"a fork's push", "push", "bob", `{"repository":{"full_name":"bob/platform","fork":true}}`, "", run.ExitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for name, body := range map[string]string{"event.json": tt.payload, "sandbox-templates/web.yaml": "build_spec:\n  from: node:22\n"} {
				if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			env := map[string]string{"GITHUB_WORKSPACE": dir, "GITHUB_OUTPUT": filepath.Join(dir, "out"), "GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary"),
				"GITHUB_EVENT_PATH": filepath.Join(dir, "event.json"), "GITHUB_EVENT_NAME": tt.event, "GITHUB_ACTOR": tt.actor,
				"GITHUB_REPOSITORY": "acme/platform", "GITHUB_SHA": "1111111111111111111111111111111111111111", "INPUT_MODE": tt.mode}
			var out bytes.Buffer
			code := Main(context.Background(), func(k string) string { return env[k] }, &out, "test")
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d:\n%s", code, tt.wantCode, out.String())
			}
			outputs, _ := os.ReadFile(env["GITHUB_OUTPUT"])
			if tt.wantCode == run.ExitUsage {
				for _, want := range []string{"::error::", "input api-key is empty", "secret named MIOSA_API_KEY",
					"Settings → Secrets and variables → Actions", "api-key: ${{ secrets.MIOSA_API_KEY }}", "mode: validate"} {
					if !strings.Contains(out.String(), want) {
						t.Errorf("the log does not say %q:\n%s", want, out.String())
					}
				}
				if !strings.Contains(string(outputs), "status=failed") {
					t.Errorf("outputs %q, want status=failed", outputs)
				}
				return
			}
			if n := strings.Count(out.String(), "::notice::No API key"); n != 1 || strings.Contains(out.String(), "::error") {
				t.Errorf("want one notice of the offline check and no error:\n%s", out.String())
			}
			if tt.mode == "" && !strings.Contains(out.String(), "::notice::api-key is empty, as expected here") {
				t.Errorf("no notice says why no key is expected:\n%s", out.String())
			}
			if !strings.Contains(string(outputs), "status=success") {
				t.Errorf("outputs %q, want status=success", outputs)
			}
		})
	}
}
