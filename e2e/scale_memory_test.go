package e2e

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
	"github.com/miosa-dev/sandbox-templates-action/internal/procpeak"
)

// TestScaleMemory (opt-in: SCALE_MEMORY=1, which .ci/run sets; about a
// minute) runs the action at account sizes where a client that reads
// lists whole would run out of room, and checks the binary's peak memory
// (its maximum resident set, which the kernel reports for the process):
// at most 100 MiB for an account of 10,000 templates (a list of about 6 MiB,
// read in 101 pages) and a template with 10,000 builds (read as far as the
// decision needs, and with build: always to the end). The emulator runs in
// the test's process, so its own memory does not count.
func TestScaleMemory(t *testing.T) {
	if os.Getenv("SCALE_MEMORY") == "" {
		t.Skip("SCALE_MEMORY is not set")
	}
	const maxRSS = 100 << 20
	spec := map[string]any{"from": "node:22-bookworm", "steps": []any{map[string]any{"run": "echo 0"}}}
	tests := []struct {
		name   string
		seed   func(t *testing.T, e *emu)
		files  map[string]string
		inputs map[string]string
		want   map[string]int // requests by endpoint, at least
	}{
		{
			name: "an account of 10,000 templates, one new file",
			seed: func(t *testing.T, e *emu) {
				for i := range 10_000 {
					if _, err := e.SeedTemplate(emulator.TemplateSeed{Name: fmt.Sprintf("other-%05d", i), BuildSpec: spec}); err != nil {
						t.Fatal(err)
					}
				}
			},
			files: perfTemplates(1),
			want:  map[string]int{"list": 101, "create": 1},
		},
		{
			name:  "a template with 10,000 builds",
			seed:  seedHistory(spec, 10_000),
			files: map[string]string{"sandbox-templates/perf-000.yaml": perfTemplates(1)["sandbox-templates/perf-000.yaml"]},
			want:  map[string]int{"list_builds": 1},
		},
		{
			name:   "a template with 10,000 builds, build: always",
			seed:   seedHistory(spec, 10_000),
			files:  perfTemplates(1),
			inputs: map[string]string{"build": "always"},
			want:   map[string]int{"list_builds": 100, "create_build": 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := startEmulator(t, nil)
			if tt.seed != nil {
				tt.seed(t, e)
			}
			w := newWorkspace(t, tt.files)
			inputs := map[string]string{"concurrency": "16"}
			for k, v := range tt.inputs {
				inputs[k] = v
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			start := time.Now()
			p := startAction(ctx, t, w, withSHA(shaPerf), apiInputs(e, inputs))
			peak := procpeak.Watch(p.cmd.Process.Pid, 2*time.Millisecond)
			s := p.wait(t)
			wall := time.Since(start)
			rss := peak()
			if rss == 0 {
				t.Skip("no /proc/PID/status to read the peak resident set from")
			}
			if s.Code != 0 {
				t.Fatalf("exit %d, status %q\n%.3000s", s.Code, s.Outputs["status"], s.log())
			}
			got := e.Counters().Requests
			for k, n := range tt.want {
				if got[k] < n {
					t.Errorf("%d %s requests, want at least %d", got[k], k, n)
				}
			}
			if rss > maxRSS {
				t.Errorf("peak RSS %.1f MiB, want at most %d MiB", float64(rss)/(1<<20), maxRSS>>20)
			}
			t.Logf("peak RSS %.1f MiB, wall %s, requests %v", float64(rss)/(1<<20), wall.Round(time.Millisecond), got)
		})
	}
}

// seedHistory makes template perf-000 with its file's spec and n builds
// of it, the newest serving.
func seedHistory(spec map[string]any, n int) func(t *testing.T, e *emu) {
	return func(t *testing.T, e *emu) {
		if _, err := e.SeedTemplate(emulator.TemplateSeed{Name: "perf-000", BuildSpec: spec}); err != nil {
			t.Fatal(err)
		}
		for range n - 1 {
			if _, err := e.SeedBuild("perf-000", emulator.BuildSeed{}); err != nil {
				t.Fatal(err)
			}
		}
	}
}
