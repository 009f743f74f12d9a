package e2e

import (
	"bytes"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
)

// ownCommands are the workflow commands the action issues itself.
var ownCommands = []string{"add-mask", "endgroup", "error", "group", "notice", "warning"}

// checkRunnerLog fails the test for a line of stdout or stderr that the
// runner could read as a workflow command the action did not mean to issue:
// one that starts with "::" after the leading whitespace the runner trims
// (C#'s TrimStart drops U+00A0, U+3000 and the other Unicode spaces too),
// unless it is one of the action's own, or one that holds "##[" anywhere
// (the runner's legacy parser). textsafe's FuzzNoInjection checks the same
// against a reimplementation of both parsers.
func checkRunnerLog(t *testing.T, s step) {
	t.Helper()
	for _, stream := range []string{s.Stdout, s.Stderr} {
		if strings.Contains(stream, "\r") {
			t.Errorf("the log holds a CR, which the runner reads as a line break")
		}
		for _, line := range strings.Split(stream, "\n") {
			if rest, ok := strings.CutPrefix(line, "::"); ok {
				name, _, _ := strings.Cut(rest, "::")
				name, _, _ = strings.Cut(name, " ")
				if !slices.Contains(ownCommands, name) {
					t.Errorf("line issues %q: %q", name, line)
				}
				continue
			}
			if strings.HasPrefix(strings.TrimLeftFunc(line, unicode.IsSpace), "::") || strings.Contains(line, "##[") {
				t.Errorf("line can issue a workflow command: %q", line)
			}
		}
	}
}

// The vectors of issue 11: a YAML value echoed in a diagnostic, a name in
// the plan table, a build's error_message in the wait lines and the builds=
// line. Each reaches the log, escaped.
func TestHardeningNoWorkflowCommandInjection(t *testing.T) {
	t.Parallel()
	t.Run("offline diagnostics", func(t *testing.T) {
		t.Parallel()
		w := newWorkspace(t, map[string]string{
			"sandbox-templates/web.yaml": "build_spec:\n  from: node:22\n  size: \"##[error]injected\"\n",
		})
		s := runAction(t, w, nil, map[string]string{"api-key": "", "mode": "validate"})
		checkRunnerLog(t, s)
		if s.Code != 1 || !strings.Contains(s.Stdout, `"##\x5berror]injected"`) {
			t.Errorf("exit %d; the hostile value is not in the log, escaped:\n%s", s.Code, s.log())
		}
	})
	t.Run("plan table", func(t *testing.T) {
		t.Parallel()
		e := startEmulator(t, nil)
		w := newWorkspace(t, map[string]string{
			"sandbox-templates/web.yaml":  "build_spec:\n  from: node:22\n",
			"sandbox-templates/name.yaml": "name: \"\u00a0::error::injected\"\nbuild_spec:\n  from: node:22\n",
		})
		s := runAction(t, w, nil, apiInputs(e, map[string]string{"mode": "plan"}))
		checkRunnerLog(t, s)
		if !strings.Contains(s.Stdout, "\n\u00a0\\x3a:error::injected  invalid") {
			t.Errorf("the plan table does not show the name, escaped:\n%s", s.log())
		}
	})
	t.Run("plan table and wait lines", func(t *testing.T) {
		t.Parallel()
		msg := "##[error]injected\n\u00a0::warning::injected"
		e := startEmulator(t, func(o *emulator.Options) {
			o.Outcomes = map[string]emulator.Outcome{"web": {ErrorCode: "BUILD_STEP_FAILED", ErrorMessage: msg, Duration: 300 * time.Millisecond}}
			o.Faults.Rules = []emulator.Rule{{Endpoint: "create", Kind: emulator.FaultHostileIDs, ID: "\u00a0::error::id ##[error]id"}}
		})
		// A template made by hand, outside the repository, shows in the plan
		// as unmanaged.
		body := `{"name":"\u00a0::error::unmanaged ##[error]x","build_spec":{"from":"node:22"}}`
		req, _ := http.NewRequest(http.MethodPost, e.URL+"/sandbox-templates", bytes.NewBufferString(body))
		req.Header.Set("Authorization", "Bearer "+testKey)
		req.Header.Set("Content-Type", "application/json")
		if resp, err := http.DefaultClient.Do(req); err != nil {
			t.Fatal(err)
		} else {
			resp.Body.Close()
		}
		w := newWorkspace(t, map[string]string{"sandbox-templates/web.yaml": "build_spec:\n  from: node:22\n"})
		s := runAction(t, w, nil, apiInputs(e, map[string]string{"mode": "apply", "wait": "true", "poll-interval": "1s", "timeout": "60s"}))
		checkRunnerLog(t, s)
		if s.Outputs["status"] != "failed" || !strings.Contains(s.Outputs["builds"], "##[error]injected") {
			t.Fatalf("status %q, builds %q: the failing build with the hostile message did not run", s.Outputs["status"], s.Outputs["builds"])
		}
		for _, want := range []string{"is failed: BUILD_STEP_FAILED: ##\\x5berror]injected", `builds=[`, `"error_message":"##\x5berror]injected`} {
			if !strings.Contains(s.Stdout, want) {
				t.Errorf("the log has no %q:\n%s", want, s.log())
			}
		}
	})
}
