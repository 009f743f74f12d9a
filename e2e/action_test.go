package e2e

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
	goldenfile "github.com/miosa-dev/sandbox-templates-action/internal/golden"
)

const testKey = "msk_u_e2etestkey0000000000000000"

var threeTemplates = map[string]string{
	"sandbox-templates/node-22-base.yaml": `name: node-22-base
description: Node 22 with pnpm
metadata:
  team: platform
build_spec:
  from: node:22-bookworm
  steps:
    - run: npm install -g pnpm
  env:
    CI: "1"
`,
	"sandbox-templates/python-3-12.yaml": `description: Python 3.12 with uv
build_spec:
  from: python:3.12-slim
  size: small
  steps:
    - run: pip install uv
`,
	"sandbox-templates/go-runtime.yml": `build_spec:
  runtime: go
  version: "1.23"
  packages: [git, make]
`,
}

type buildOut struct {
	Name           string `json:"name"`
	TemplateID     string `json:"template_id"`
	BuildID        string `json:"build_id"`
	State          string `json:"state"`
	Action         string `json:"action"`
	Made           bool   `json:"made"`
	IdempotencyKey string `json:"idempotency_key"`
	Replayed       bool   `json:"replayed"`
	ErrorCode      string `json:"error_code"`
	ErrorMessage   string `json:"error_message"`
}

type planOut struct {
	Name     string `json:"name"`
	Action   string `json:"action"`
	Reason   string `json:"reason"`
	Evidence string `json:"evidence"`
	Changes  []struct {
		Path string `json:"path"`
		From any    `json:"from"`
		To   any    `json:"to"`
	} `json:"changes"`
}

func apiInputs(e *emu, more map[string]string) map[string]string {
	in := map[string]string{"api-key": testKey, "api-url": e.URL}
	for k, v := range more {
		in[k] = v
	}
	return in
}

func withSHA(sha string) map[string]string { return map[string]string{"GITHUB_SHA": sha} }

func TestPushLifecycle(t *testing.T) {
	for _, auto := range []bool{true, false} {
		t.Run(fmt.Sprintf("auto-build=%v", auto), func(t *testing.T) {
			t.Parallel()
			e := startEmulator(t, func(o *emulator.Options) { o.AutoBuild = auto })
			w := newWorkspace(t, threeTemplates)
			shaA := strings.Repeat("a", 40)

			first := runAction(t, w, withSHA(shaA), apiInputs(e, nil))
			if first.Code != 0 {
				t.Fatalf("first run exit %d\n%s", first.Code, first.log())
			}
			c := e.Counters()
			if c.TemplatesCreated != 3 || c.BuildsCreated != 3 {
				t.Fatalf("first run: %d templates and %d builds created, want 3 and 3", c.TemplatesCreated, c.BuildsCreated)
			}
			if dups := c.DuplicateBuilds(); len(dups) > 0 {
				t.Fatalf("templates with more than one build: %v", dups)
			}
			var tids, bids map[string]string
			var builds []buildOut
			var changed []string
			first.json(t, "template-ids", &tids)
			first.json(t, "build-ids", &bids)
			first.json(t, "builds", &builds)
			first.json(t, "changed-templates", &changed)
			if first.Outputs["status"] != "success" || first.Outputs["has-changes"] != "true" || first.Outputs["changes-count"] != "3" {
				t.Errorf("status/has-changes/changes-count = %q/%q/%q", first.Outputs["status"], first.Outputs["has-changes"], first.Outputs["changes-count"])
			}
			// The outputs match the emulator's state.
			st := e.State()
			wantT, wantB := map[string]string{}, map[string]string{}
			for _, tpl := range st.Templates {
				wantT[tpl.Name] = tpl.ID
			}
			for _, b := range st.Builds {
				wantB[b.TemplateName] = b.ID
			}
			if diff := cmp.Diff(wantT, tids); diff != "" {
				t.Errorf("template-ids vs emulator (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantB, bids); diff != "" {
				t.Errorf("build-ids vs emulator (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"go-runtime", "node-22-base", "python-3-12"}, changed); diff != "" {
				t.Errorf("changed-templates (-want +got):\n%s", diff)
			}
			for _, b := range builds {
				if b.Action != "create" || !b.Made || b.BuildID != bids[b.Name] || b.TemplateID != tids[b.Name] || b.IdempotencyKey == "" {
					t.Errorf("builds entry %+v does not match the other outputs", b)
				}
			}

			// A re-run at the same commit writes nothing: it finds this
			// commit's builds serving, and reports the same ids.
			again := runAction(t, w, map[string]string{"GITHUB_SHA": shaA, "GITHUB_RUN_ATTEMPT": "2"}, apiInputs(e, nil))
			if again.Code != 0 {
				t.Fatalf("re-run exit %d\n%s", again.Code, again.log())
			}
			c2 := e.Counters()
			if c2.TemplatesCreated != 3 || c2.BuildsCreated != 3 || c2.Writes != c.Writes {
				t.Fatalf("re-run: templates %d builds %d writes %d->%d, want no change", c2.TemplatesCreated, c2.BuildsCreated, c.Writes, c2.Writes)
			}
			for _, name := range []string{"status", "template-ids", "build-ids", "build-id"} {
				if first.Outputs[name] != again.Outputs[name] {
					t.Errorf("re-run output %s = %q, first run said %q", name, again.Outputs[name], first.Outputs[name])
				}
			}
			if again.Outputs["has-changes"] != "false" || again.Outputs["changed-templates"] != "[]" {
				t.Errorf("re-run: has-changes %q changed-templates %q, want false and []: nothing was left to do",
					again.Outputs["has-changes"], again.Outputs["changed-templates"])
			}
			var rebuilds []buildOut
			again.json(t, "builds", &rebuilds)
			if diff := cmp.Diff(builds, rebuilds, cmpopts.IgnoreFields(buildOut{}, "Action", "Made", "IdempotencyKey", "Replayed", "State")); diff != "" {
				t.Errorf("re-run builds (-first +re-run):\n%s", diff)
			}
			for _, b := range rebuilds {
				if b.Made || b.Action != "unchanged" {
					t.Errorf("re-run build %s: made %v action %q, want false and unchanged", b.Name, b.Made, b.Action)
				}
			}

			// A new commit that changes one spec builds exactly that one.
			w.write(t, "sandbox-templates/python-3-12.yaml", strings.Replace(threeTemplates["sandbox-templates/python-3-12.yaml"], "pip install uv", "pip install uv ruff", 1))
			third := runAction(t, w, withSHA(strings.Repeat("b", 40)), apiInputs(e, nil))
			if third.Code != 0 {
				t.Fatalf("changed run exit %d\n%s", third.Code, third.log())
			}
			c3 := e.Counters()
			if c3.BuildsCreated != 4 || c3.TemplatesCreated != 3 || c3.BuildsByTemplate["python-3-12"] != 2 {
				t.Fatalf("changed run: builds %d templates %d python builds %d, want 4, 3, 2", c3.BuildsCreated, c3.TemplatesCreated, c3.BuildsByTemplate["python-3-12"])
			}
			var thirdBuilds []buildOut
			third.json(t, "builds", &thirdBuilds)
			made := 0
			for _, b := range thirdBuilds {
				if b.Made {
					made++
				}
			}
			if third.Outputs["changes-count"] != "1" || made != 1 || len(thirdBuilds) != 3 {
				t.Errorf("changed run: changes-count %q, %d of %d builds made, want 1, 1 of 3", third.Outputs["changes-count"], made, len(thirdBuilds))
			}

			// A new commit that changes nothing builds nothing.
			fourth := runAction(t, w, withSHA(strings.Repeat("c", 40)), apiInputs(e, nil))
			if fourth.Code != 0 {
				t.Fatalf("no-op run exit %d\n%s", fourth.Code, fourth.log())
			}
			c4 := e.Counters()
			if c4.BuildsCreated != 4 || c4.Writes != c3.Writes {
				t.Fatalf("no-op run: builds %d writes %d->%d", c4.BuildsCreated, c3.Writes, c4.Writes)
			}
			if fourth.Outputs["has-changes"] != "false" || fourth.Outputs["build-ids"] != third.Outputs["build-ids"] {
				t.Errorf("no-op run: has-changes %q build-ids %q, want false and the serving builds %s", fourth.Outputs["has-changes"], fourth.Outputs["build-ids"], third.Outputs["build-ids"])
			}
		})
	}
}

func TestWaitReportsFailedBuild(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, func(o *emulator.Options) {
		o.BuildDuration = 1500 * time.Millisecond
		o.Outcomes = map[string]emulator.Outcome{"python-3-12": {ErrorCode: "BUILD_STEP_FAILED", ErrorMessage: "step 1 (pip install uv) exited with status 1"}}
	})
	w := newWorkspace(t, threeTemplates)
	s := runAction(t, w, nil, apiInputs(e, map[string]string{"wait": "true", "poll-interval": "1s"}))
	if s.Code != 1 || s.Outputs["status"] != "failed" {
		t.Fatalf("exit %d status %q, want 1 and failed\n%s", s.Code, s.Outputs["status"], s.log())
	}
	for _, want := range []string{"BUILD_STEP_FAILED", "step 1 (pip install uv) exited with status 1"} {
		if !strings.Contains(s.Stdout, want) || !strings.Contains(s.Summary, want) {
			t.Errorf("%q missing from the log or the summary", want)
		}
	}
	var builds []buildOut
	s.json(t, "builds", &builds)
	states := map[string]string{}
	for _, b := range builds {
		states[b.Name] = b.State
	}
	if diff := cmp.Diff(map[string]string{"go-runtime": "ready", "node-22-base": "ready", "python-3-12": "failed"}, states); diff != "" {
		t.Errorf("build states (-want +got):\n%s", diff)
	}
	// Each state change is reported once.
	if n := strings.Count(s.Stdout, "is failed: BUILD_STEP_FAILED"); n != 1 {
		t.Errorf("failure reported %d times, want once", n)
	}
	goldenfile.Testdata.Check(t, "summary-wait-failed.md", scrub(s.Summary))
}

func TestWaitTimeout(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, func(o *emulator.Options) {
		o.Outcomes = map[string]emulator.Outcome{"node-22-base": {Duration: time.Hour}}
	})
	w := newWorkspace(t, threeTemplates)
	s := runAction(t, w, nil, apiInputs(e, map[string]string{"wait": "true", "poll-interval": "1s", "timeout": "3s"}))
	if s.Code != 1 || s.Outputs["status"] != "timeout" {
		t.Fatalf("exit %d status %q, want 1 and timeout\n%s", s.Code, s.Outputs["status"], s.log())
	}
	if !strings.Contains(s.Stdout, "did not finish within 3s; it was waiting for the builds") {
		t.Errorf("the timeout does not say what the run was doing:\n%s", s.Stdout)
	}
	var bids map[string]string
	s.json(t, "build-ids", &bids)
	if len(bids) != 3 {
		t.Errorf("build-ids after a timeout = %v, want the 3 builds made", bids)
	}
}

func TestPullRequestWritesNothing(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, nil)
	w := newWorkspace(t, threeTemplates)
	s := runAction(t, w, map[string]string{"GITHUB_EVENT_NAME": "pull_request"}, apiInputs(e, nil))
	if s.Code != 0 {
		t.Fatalf("exit %d\n%s", s.Code, s.log())
	}
	c := e.Counters()
	if c.Writes != 0 || c.Requests["create"] != 0 || c.Requests["create_build"] != 0 {
		t.Fatalf("pull_request run wrote: %+v", c)
	}
	var p []planOut
	s.json(t, "plan", &p)
	if len(p) != 3 || p[0].Action != "create" || s.Outputs["has-changes"] != "true" {
		t.Errorf("plan = %+v has-changes %q", p, s.Outputs["has-changes"])
	}
	goldenfile.Testdata.Check(t, "plan-table.txt", scrub(planTable(s.Stdout)))
	goldenfile.Testdata.Check(t, "summary-plan.md", scrub(s.Summary))

	// fail-on-changes turns pending changes into a failed step.
	s = runAction(t, w, map[string]string{"GITHUB_EVENT_NAME": "pull_request"}, apiInputs(e, map[string]string{"fail-on-changes": "true"}))
	if s.Code != 1 || !strings.Contains(s.Stdout, "fail-on-changes") {
		t.Errorf("fail-on-changes: exit %d\n%s", s.Code, s.log())
	}
}

// planTable cuts the plan table out of a step log.
func planTable(log string) string {
	i := strings.Index(log, "TEMPLATE ")
	if i < 0 {
		return ""
	}
	rest := log[i:]
	if j := strings.Index(rest, "\nPlan: "); j >= 0 {
		if k := strings.IndexByte(rest[j+1:], '\n'); k >= 0 {
			return rest[:j+1+k+1]
		}
	}
	return rest
}

func TestInvalidFileFailsWithAnnotationAndNoWrites(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, nil)
	files := map[string]string{}
	for k, v := range threeTemplates {
		files[k] = v
	}
	files["sandbox-templates/broken.yaml"] = "build_spec:\n  from: node:22\n  previewPort: 70000\n  stpes: []\n"
	w := newWorkspace(t, files)
	for _, event := range []string{"push", "pull_request"} {
		s := runAction(t, w, map[string]string{"GITHUB_EVENT_NAME": event}, apiInputs(e, nil))
		if s.Code != 1 || s.Outputs["status"] != "failed" {
			t.Fatalf("%s: exit %d status %q\n%s", event, s.Code, s.Outputs["status"], s.log())
		}
		if !strings.Contains(s.Stdout, "file=sandbox-templates/broken.yaml,line=3,") {
			t.Errorf("%s: no positioned annotation for line 3:\n%s", event, s.Stdout)
		}
		if !strings.Contains(s.Stdout, "file=sandbox-templates/broken.yaml,line=4,") {
			t.Errorf("%s: no positioned annotation for line 4:\n%s", event, s.Stdout)
		}
	}
	if c := e.Counters(); c.Writes != 0 || c.Requests["create"] != 0 || c.Requests["create_build"] != 0 {
		t.Fatalf("invalid files led to writes: %+v", c)
	}
}

// countingListener accepts connections on 127.0.0.1 and counts them.
func countingListener(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return "http://" + ln.Addr().String() + "/api/v1", &n
}

func TestNoKeyMakesNoConnection(t *testing.T) {
	t.Parallel()
	apiURL, dials := countingListener(t)
	w := newWorkspace(t, threeTemplates)
	// mode validate never needs a key.
	s := runAction(t, w, nil, map[string]string{"api-url": apiURL, "mode": "validate"})
	if s.Code != 0 || s.Outputs["status"] != "success" {
		t.Fatalf("exit %d status %q\n%s", s.Code, s.Outputs["status"], s.log())
	}
	if n := dials.Load(); n != 0 {
		t.Fatalf("offline run opened %d connection(s)", n)
	}
	if got := strings.Count(s.Stdout, "::notice::No API key"); got != 1 {
		t.Errorf("want exactly one notice about the skipped remote checks, got %d:\n%s", got, s.Stdout)
	}
	// A fork's pull request gets no secrets: mode plan validates offline.
	s = runAction(t, w, map[string]string{"GITHUB_EVENT_NAME": "pull_request"}, map[string]string{"api-url": apiURL, "mode": "plan"})
	if s.Code != 0 || s.Outputs["status"] != "success" || !strings.Contains(s.Stdout, "::notice::No API key") {
		t.Fatalf("plan without a key: exit %d status %q\n%s", s.Code, s.Outputs["status"], s.log())
	}
	// apply without a key is a mistake worth failing on.
	s = runAction(t, w, nil, map[string]string{"api-url": apiURL, "mode": "apply"})
	if s.Code != 2 || !strings.Contains(s.Stdout, "mode apply needs an API key") {
		t.Fatalf("apply without a key: exit %d\n%s", s.Code, s.log())
	}
	// An invalid file still fails offline, with its position.
	w.write(t, "sandbox-templates/bad.yaml", "build_spec:\n  size: huge\n")
	s = runAction(t, w, nil, map[string]string{"api-url": apiURL, "mode": "validate"})
	if s.Code != 1 || !strings.Contains(s.Stdout, "file=sandbox-templates/bad.yaml,line=") {
		t.Errorf("exit %d\n%s", s.Code, s.Stdout)
	}
	if n := dials.Load(); n != 0 {
		t.Fatalf("offline run opened %d connection(s)", n)
	}
}

// eventFile writes an event payload and returns the runner variables that
// name it.
func eventFile(t *testing.T, event, actor, payload string) map[string]string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(p, []byte(payload), 0o644); err != nil {
		t.Fatal(err)
	}
	return map[string]string{"GITHUB_EVENT_NAME": event, "GITHUB_EVENT_PATH": p, "GITHUB_ACTOR": actor}
}

// A missing or misnamed secret never gives a green run that synced
// nothing: mode auto without a key fails before reading a file, naming
// the input and the secret to create, except where no secret can exist
// (a fork's pull request, Dependabot, a fork of the repository), which
// validates offline with a notice. Nothing connects anywhere.
func TestNoKeyFailsWhereASecretCanExist(t *testing.T) {
	t.Parallel()
	apiURL, dials := countingListener(t)
	const (
		samePR = `{"pull_request":{"number":3,"head":{"sha":"abc","repo":{"full_name":"acme/platform"}},"base":{"repo":{"full_name":"acme/platform"}}}}`
		forkPR = `{"pull_request":{"number":3,"head":{"sha":"abc","repo":{"full_name":"bob/platform"}},"base":{"repo":{"full_name":"acme/platform"}}}}`
	)
	tests := []struct {
		name, event, actor, payload string
		wantCode                    int
	}{
		{"push", "push", "alice", `{"repository":{"full_name":"acme/platform","fork":false}}`, 2},
		{"workflow_dispatch", "workflow_dispatch", "alice", `{"inputs":{}}`, 2},
		{"same-repository pull request", "pull_request", "alice", samePR, 2},
		{"fork pull request", "pull_request", "bob", forkPR, 0},
		{"review of a fork's pull request", "pull_request_review", "alice", forkPR, 0},
		{"Dependabot", "pull_request", "dependabot[bot]", samePR, 0},
		{"push in a fork", "push", "bob", `{"repository":{"full_name":"bob/platform","fork":true}}`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorkspace(t, threeTemplates)
			s := runAction(t, w, eventFile(t, tt.event, tt.actor, tt.payload), map[string]string{"api-url": apiURL})
			if s.Code != tt.wantCode {
				t.Fatalf("exit %d, want %d\n%s", s.Code, tt.wantCode, s.log())
			}
			if tt.wantCode == 0 {
				if s.Outputs["status"] != "success" || strings.Count(s.Stdout, "::notice::No API key") != 1 {
					t.Errorf("status %q; want success and one notice of the offline check\n%s", s.Outputs["status"], s.log())
				}
				return
			}
			for _, want := range []string{"::error::mode auto needs an API key", "input api-key is empty",
				"repository secret named MIOSA_API_KEY", "Settings → Secrets and variables → Actions"} {
				if !strings.Contains(s.Stdout, want) {
					t.Errorf("the log does not say %q\n%s", want, s.log())
				}
			}
			if s.Outputs["status"] != "failed" || s.Summary != "" {
				t.Errorf("status %q, summary %d bytes; want failed and none", s.Outputs["status"], len(s.Summary))
			}
		})
	}
	t.Cleanup(func() {
		if n := dials.Load(); n != 0 {
			t.Errorf("runs without a key opened %d connection(s)", n)
		}
	})
}

func TestCanaryKeyNeverLeaks(t *testing.T) {
	t.Parallel()
	const canary = "msk_u_canary_9f8e7d6c5b4a39281706f5e4"
	e := startEmulator(t, func(o *emulator.Options) {
		o.Faults.Rules = []emulator.Rule{{Endpoint: "list_builds", Kind: emulator.FaultEchoAuth, Count: 1}}
	})
	w := newWorkspace(t, threeTemplates)
	runs := []step{
		runAction(t, w, nil, map[string]string{"api-key": canary, "api-url": e.URL, "wait": "true", "poll-interval": "1s"}),
		runAction(t, w, map[string]string{"GITHUB_EVENT_NAME": "pull_request"}, map[string]string{"api-key": canary, "api-url": e.URL}),
		runAction(t, w, nil, map[string]string{"api-key": canary, "api-url": "http://127.0.0.1:1/api/v1", "timeout": "5s"}),
	}
	needles := leakForms(canary)
	for i, s := range runs {
		// The mask command is the one place the key may appear: the runner
		// consumes it and never shows it.
		stdout := strings.Replace(s.Stdout, "::add-mask::"+canary+"\n", "", 1)
		for where, text := range map[string]string{"stdout": stdout, "stderr": s.Stderr, "GITHUB_OUTPUT": s.rawOut, "summary": s.Summary} {
			for _, n := range needles {
				if strings.Contains(text, n) {
					t.Errorf("run %d: %s contains %q", i, where, n)
				}
			}
		}
		if !strings.HasPrefix(s.Stdout, "::add-mask::"+canary+"\n") {
			t.Errorf("run %d: the key is not masked first thing", i)
		}
	}
}

// leakForms is the key raw, base64- and URL-encoded, and every 8-character
// fragment of it past the common msk_u_ prefix.
func leakForms(key string) []string {
	forms := []string{key, base64.StdEncoding.EncodeToString([]byte(key)), url.QueryEscape(key)}
	for i := len("msk_u_"); i+8 <= len(key); i++ {
		forms = append(forms, key[i:i+8])
	}
	return forms
}
