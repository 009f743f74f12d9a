package run

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
)

func TestFallbackAfter(t *testing.T) {
	t.Parallel()
	for n, want := range []int{3, 6, 8, 8, 8} {
		if got := fallbackAfter(n); got != want {
			t.Errorf("fallbackAfter(%d) = %d, want %d", n, got, want)
		}
	}
}

// The Wait stage follows the builds to their end: a ready one leaves the
// run green, a failed one becomes an error on its step's run: line, and the
// status is failed.
func TestWaitFollowsBuildsToTheirEnd(t *testing.T) {
	t.Parallel()
	opts := emulator.NewOptions()
	opts.BuildDuration = 1500 * time.Millisecond
	opts.Outcomes = map[string]emulator.Outcome{"bad": {ErrorCode: "BUILD_STEP_FAILED", FailStep: 2}}
	emu := emulator.New(opts)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	root := writeFiles(t, map[string]string{
		"sandbox-templates/good.yaml": "build_spec:\n  from: node:22\n",
		"sandbox-templates/bad.yaml":  "build_spec:\n  from: node:22\n  steps:\n    - run: echo one\n    - run: npm ci\n",
	})
	rep := &lines{}
	res, err := Do(context.Background(), Config{Root: root, Mode: ModeApply, APIKey: "msk_test", APIURL: srv.URL + "/api/v1",
		Commit: "c1", Wait: true, PollInterval: time.Second}, rep)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusFailed {
		t.Fatalf("status %s, want failed (one build failed): %v", res.Status, res.Diagnostics)
	}
	states := map[string]string{}
	for _, b := range res.Builds {
		states[b.Name] = b.State
	}
	if states["good"] != "ready" || states["bad"] != "failed" {
		t.Errorf("states %v, want good ready and bad failed", states)
	}
	var onStep bool
	for _, d := range res.Diagnostics {
		if d.Path == "sandbox-templates/bad.yaml" && d.Rule == "build" && d.Line == 5 && d.Severity == diag.Error {
			onStep = true
		}
	}
	if !onStep {
		t.Errorf("no build error on line 5 (the failing step's run:): %v", res.Diagnostics)
	}
	if count(rep.info, "is ready") != 1 {
		t.Errorf("log %q: want the ready state said once", rep.info)
	}
}
