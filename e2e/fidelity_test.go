package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
)

// The action against servers that behave as Miosa's may: no validate
// endpoint, no schema endpoint, the collision body of servers before a fix,
// and failed builds. Each is an emulator switch.

// warnings are the ::warning lines of a run's log.
func warnings(s step) []string {
	var out []string
	for _, l := range strings.Split(s.Stdout, "\n") {
		if strings.HasPrefix(l, "::warning") {
			out = append(out, l)
		}
	}
	return out
}

func TestFidelityNoValidateEndpoint(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, func(o *emulator.Options) { o.NoValidate = true })
	w := newWorkspace(t, threeTemplates)
	s := runAction(t, w, withSHA(shaA), apiInputs(e, nil))
	if s.Code != 0 || s.Outputs["changes-count"] != "3" || e.Counters().TemplatesCreated != 3 {
		t.Fatalf("exit %d, changes-count %q, %d created; want 0, 3, 3\n%s", s.Code, s.Outputs["changes-count"], e.Counters().TemplatesCreated, s.log())
	}
	if ws := warnings(s); len(ws) != 1 || !strings.Contains(ws[0], "no validate endpoint") {
		t.Errorf("warnings %q, want one about the missing validate endpoint", ws)
	}
	again := runAction(t, w, withSHA(shaB), apiInputs(e, nil))
	if again.Code != 0 || again.Outputs["has-changes"] != "false" {
		t.Errorf("a new commit with nothing changed: exit %d has-changes %q, want 0 and false (local normalization)\n%s", again.Code, again.Outputs["has-changes"], again.log())
	}
}

func TestFidelityNoSchemaEndpoint(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, func(o *emulator.Options) { o.NoSchema = true })
	w := newWorkspace(t, threeTemplates)
	s := runAction(t, w, withSHA(shaA), apiInputs(e, map[string]string{"mode": "plan"}))
	if s.Code != 0 {
		t.Fatalf("exit %d\n%s", s.Code, s.log())
	}
	if ws := warnings(s); len(ws) != 1 || !strings.Contains(ws[0], "no build-spec schema endpoint") {
		t.Errorf("warnings %q, want one about the missing schema endpoint", ws)
	}
	if !strings.Contains(s.Stdout, "against the embedded schema") || strings.Contains(s.Stdout, "server's schema") {
		t.Errorf("the log does not say the embedded schema was used:\n%s", s.Stdout)
	}
}

// A create that meets a template someone made a moment before (the legacy
// collision body, pinned on tenant_id) is planned again from a fresh read;
// the legacy field name never shows.
func TestFidelityLegacyCollision(t *testing.T) {
	t.Parallel()
	var once sync.Once
	var base string
	hook := func(rec emulator.RequestRecord) {
		if rec.Endpoint != "list" || !strings.Contains(rec.Path, "sandbox-templates") {
			return
		}
		once.Do(func() {
			createByHand(t, base, "python-3-12", map[string]any{"from": "python:3.12-slim", "steps": []any{map[string]any{"run": "pip install uv"}}})
		})
	}
	e := startEmulator(t, func(o *emulator.Options) { o.LegacyCollision = true; o.OnHandled = hook })
	base = e.URL
	w := newWorkspace(t, threeTemplates)
	s := runAction(t, w, withSHA(shaA), apiInputs(e, nil))
	if s.Code != 0 {
		t.Fatalf("exit %d\n%s", s.Code, s.log())
	}
	if strings.Contains(s.log(), "tenant_id") {
		t.Errorf("the legacy field name shows:\n%s", s.log())
	}
	if !strings.Contains(s.log(), "python-3-12: the template now exists") {
		t.Errorf("no re-plan of the collided create:\n%s", s.log())
	}
	if c := e.Counters(); c.TemplatesCreated != 3 {
		t.Errorf("%d templates, want 3", c.TemplatesCreated)
	}
}

// A build that fails at a step: with wait the step fails and names it;
// without, a warning annotation carries the code and the message.
func TestFidelityBuildStepFailed(t *testing.T) {
	t.Parallel()
	const msg = "step 1 `pip install uv` exited 1"
	for _, wait := range []bool{false, true} {
		in := map[string]string{}
		if wait {
			in = map[string]string{"wait": "true", "poll-interval": "1s"}
		}
		e := startEmulator(t, func(o *emulator.Options) {
			o.Outcomes = map[string]emulator.Outcome{"python-3-12": {ErrorCode: "BUILD_STEP_FAILED"}}
		})
		s := runAction(t, newWorkspace(t, threeTemplates), withSHA(shaA), apiInputs(e, in))
		switch {
		case wait && (s.Code != 1 || !strings.Contains(errorLines(s), "BUILD_STEP_FAILED") || !strings.Contains(errorLines(s), msg)):
			t.Errorf("wait: exit %d, want 1 with an error naming the step\n%s", s.Code, s.log())
		case !wait && (s.Code != 0 || !strings.Contains(strings.Join(warnings(s), "\n"), "BUILD_STEP_FAILED: "+msg)):
			t.Errorf("no wait: exit %d, want 0 with a warning naming the step\n%s", s.Code, s.log())
		}
	}
}

// createByHand creates a template through the API, as another tool would.
func createByHand(t *testing.T, base, name string, buildSpec map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"name": name, "build_spec": buildSpec})
	req, _ := http.NewRequest(http.MethodPost, base+"/sandbox-templates", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer msk_by_hand_0000")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("create by hand: %s", resp.Status)
	}
}
