package e2e

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
)

// A SIGTERM while waiting stops the run, and the outputs still say what was
// done; a re-run at the same commit adopts that build instead of making
// another.
func TestSigtermWritesOutputsForWhatWasDone(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, func(o *emulator.Options) {
		o.Outcomes = map[string]emulator.Outcome{"node-22-base": {Duration: time.Hour}}
	})
	w := newWorkspace(t, map[string]string{"sandbox-templates/node-22-base.yaml": threeTemplates["sandbox-templates/node-22-base.yaml"]})
	// The guard only keeps a broken build from hanging the suite: a run that
	// ignored the signal would wait for the hour-long build and be killed here.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := startAction(ctx, t, w, nil, apiInputs(e, map[string]string{"wait": "true", "poll-interval": "1s"}))
	for e.Counters().Requests["get_build"] == 0 {
		if ctx.Err() != nil {
			t.Fatal("the run never started waiting")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	s := p.wait(t)
	if ctx.Err() != nil {
		t.Fatalf("the run ignored SIGTERM and was killed by the guard\n%s", s.log())
	}
	if s.Code != 1 || s.Outputs["status"] != "cancelled" {
		t.Fatalf("exit %d status %q, want 1 and cancelled\n%s", s.Code, s.Outputs["status"], s.log())
	}
	var bids map[string]string
	s.json(t, "build-ids", &bids)
	if len(bids) != 1 || bids["node-22-base"] == "" {
		t.Fatalf("build-ids after SIGTERM = %v, want the build that was made", bids)
	}
	again := runAction(t, w, map[string]string{"GITHUB_RUN_ATTEMPT": "2"}, apiInputs(e, nil))
	if again.Code != 0 || again.Outputs["build-ids"] != s.Outputs["build-ids"] {
		t.Fatalf("re-run: exit %d build-ids %s, want %s\n%s", again.Code, again.Outputs["build-ids"], s.Outputs["build-ids"], again.log())
	}
	if c := e.Counters(); c.BuildsCreated != 1 || c.TemplatesCreated != 1 {
		t.Fatalf("after the re-run: %d templates, %d builds, want 1 and 1", c.TemplatesCreated, c.BuildsCreated)
	}
}
