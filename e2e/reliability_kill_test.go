package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
)

// TestReliabilityKillPoints runs a sync of five new templates once cleanly,
// counting the API requests it makes; then, for every k up to that count, it
// SIGKILLs the process right after the emulator handled its k-th request
// (before the response is written) and re-runs the job to completion. Every
// case must end with the clean run's remote state and outputs, with no
// duplicate template and no duplicate build.
//
// concurrency 1 makes the order of the requests, and so the emulator's ids,
// the same as in the clean run; the outputs are then compared exactly.
// concurrency 8 kills at the k-th request whatever else is in flight; ids
// are then compared with the emulator's own state. Without auto-build the
// action looks for the create's build for 5s before triggering one, so that
// sweep runs at concurrency 8 only, and its request count varies a little
// with timing: a run that ends before its k-th request is a clean run.
func TestReliabilityKillPoints(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		auto        bool
		concurrency string
		seed        int64
	}{
		{true, "1", 1},
		{true, "8", 2},
		{false, "8", 3},
	} {
		name := fmt.Sprintf("auto-build=%v/concurrency=%s", tc.auto, tc.concurrency)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			exact := tc.concurrency == "1"
			inputs := map[string]string{"wait": "true", "poll-interval": "1s", "timeout": "60s", "concurrency": tc.concurrency}
			configure := func(o *emulator.Options) { o.AutoBuild = tc.auto }

			ref := newCase(t, "kill-point (reference)", tc.seed)
			w := newWorkspace(t, fiveTemplates)
			clean := ref.emulator(configure)
			want := ref.run(w, withSHA(shaA), ref.inputs(clean, inputs))
			if want.Code != 0 || want.Outputs["status"] != "success" {
				t.Fatalf("clean run: exit %d status %q\n%s", want.Code, want.Outputs["status"], want.log())
			}
			ref.remote(clean, fiveNames, 1)
			total := len(clean.Requests())
			t.Logf("a clean run makes %d API requests", total)
			if total < 12 {
				t.Fatalf("a clean run made only %d requests", total)
			}

			for k := 1; k <= total; k++ {
				t.Run(fmt.Sprintf("kill-after-%02d", k), func(t *testing.T) {
					t.Parallel()
					c := newCase(t, "kill-point sweep", tc.seed)
					kill := newKiller(k)
					e := c.emulator(func(o *emulator.Options) {
						configure(o)
						o.OnHandled = kill.hook
					})
					killed := c.runKilledAt(w, kill, withSHA(shaA), c.inputs(e, inputs))
					if !killed.Killed && (exact || killed.Code != 0) {
						t.Fatalf("the run was not killed at request %d (exit %d)\n%s", k, killed.Code, killed.log())
					}
					if n := len(e.Requests()); exact && n != k {
						t.Errorf("the emulator saw %d requests before the kill landed, want %d", n, k)
					}
					c.fig.ConvergeChecked = true
					again := c.run(w, attempt2(shaA), c.inputs(e, inputs))
					if again.Code != 0 || again.Outputs["status"] != "success" {
						t.Fatalf("re-run after a kill at request %d: exit %d status %q\n%s", k, again.Code, again.Outputs["status"], again.log())
					}
					dupT, dupB := c.remote(e, fiveNames, 1)
					state := matchesState(t, e, again)
					diffs := sameOutputs(t, want, again, exact)
					c.fig.Converged = dupT == 0 && dupB == 0 && len(state) == 0 && len(diffs) == 0
					for _, d := range state {
						t.Errorf("killed after request %d (%s), re-run: %s", k, endpointAt(e, k), d)
					}
					for _, d := range diffs {
						t.Errorf("killed after request %d (%s), re-run: %s", k, endpointAt(e, k), d)
					}
				})
			}
		})
	}
}

// endpointAt names the k-th request the emulator received.
func endpointAt(e *emu, k int) string {
	for _, r := range e.Requests() {
		if r.Seq == k {
			return strings.ToLower(r.Method) + " " + r.Endpoint
		}
	}
	return "?"
}
