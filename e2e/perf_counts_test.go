package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
)

// perfTemplates returns n template files.
func perfTemplates(n int) map[string]string {
	files := map[string]string{}
	for i := range n {
		name := fmt.Sprintf("perf-%03d", i)
		files["sandbox-templates/"+name+".yaml"] = fmt.Sprintf(`name: %s
build_spec:
  from: node:22-bookworm
  steps:
    - run: echo %d
`, name, i)
	}
	return files
}

// requestsSince returns the API requests per endpoint since before.
func requestsSince(before, after emulator.Counters) map[string]int {
	out := map[string]int{}
	for k, v := range after.Requests {
		if d := v - before.Requests[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// TestRequestCounts: what a sync costs in requests, by the emulator's
// counters (a key may allow 60 requests a minute). The counts are exact so
// that any change to the request pattern shows here:
//   - n new templates: schema, list, one validate for the server's defaults
//     (one size), and per template validate, create and list_builds
//     (3 + 3n);
//   - a new commit with nothing changed: schema, list, the defaults' validate
//     and one list_builds per template (3 + n), no write;
//   - a re-run of the same commit: the same;
//   - a new commit that changes one of n: 3 + n, plus that spec's validate,
//     the get that confirms the template found by its display name, and its
//     create_build (6 + n).
func TestRequestCounts(t *testing.T) {
	t.Parallel()
	const n = 12
	for _, auto := range []bool{true, false} {
		t.Run(fmt.Sprintf("auto-build=%v", auto), func(t *testing.T) {
			t.Parallel()
			e := startEmulator(t, func(o *emulator.Options) { o.AutoBuild = auto })
			files := perfTemplates(n)
			w := newWorkspace(t, files)
			env := func(sha string) map[string]string {
				return map[string]string{"GITHUB_SHA": sha}
			}
			check := func(what string, sha string, want map[string]int, writes int) {
				t.Helper()
				before := e.Counters()
				s := runAction(t, w, env(sha), apiInputs(e, nil))
				if s.Code != 0 {
					t.Fatalf("%s: exit %d\n%s", what, s.Code, s.log())
				}
				after := e.Counters()
				if d := after.Writes - before.Writes; d != writes {
					t.Errorf("%s: %d writes, want %d", what, d, writes)
				}
				got := requestsSince(before, after)
				if !auto && want["create"] > 0 {
					// Without a build queued by the server, a create looks
					// for one about once a second during a 5s grace, until a
					// first create has seen none: one to six looks each.
					if lb := got["list_builds"]; lb < n || lb > 6*n {
						t.Errorf("%s: %d list_builds, want %d to %d", what, lb, n, 6*n)
					}
					got["list_builds"] = want["list_builds"]
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s: requests by endpoint (-want +got):\n%s", what, diff)
				}
			}
			created := map[string]int{"schema": 1, "list": 1, "validate": n + 1, "create": n, "list_builds": n}
			if !auto {
				created["create_build"] = n
			}
			writes := n
			if !auto {
				writes = 2 * n
			}
			check("new templates", shaPerf, created, writes)
			check("re-run", shaPerf, map[string]int{"schema": 1, "list": 1, "validate": 1, "list_builds": n}, 0)
			check("nothing changed", shaPerf2, map[string]int{"schema": 1, "list": 1, "validate": 1, "list_builds": n}, 0)
			w.write(t, "sandbox-templates/perf-003.yaml", files["sandbox-templates/perf-003.yaml"]+"    - run: echo changed\n")
			check("one changed", shaPerf3, map[string]int{"schema": 1, "list": 1, "list_builds": n, "validate": 2, "get": 1, "create_build": 1}, 1)
		})
	}
}

// TestWaitRequestCounts: waiting costs one list per interval, plus at most
// three reads per build (one when its template's row changes, and the
// fallback reads for changes the list cannot show).
func TestWaitRequestCounts(t *testing.T) {
	t.Parallel()
	const n = 6
	e := startEmulator(t, func(o *emulator.Options) { o.BuildDuration = 4 * time.Second })
	w := newWorkspace(t, perfTemplates(n))
	before := e.Counters()
	s := runAction(t, w, withSHA(shaPerf), apiInputs(e, map[string]string{"wait": "true", "poll-interval": "1s"}))
	if s.Code != 0 {
		t.Fatalf("exit %d\n%s", s.Code, s.log())
	}
	got := requestsSince(before, e.Counters())
	// The read phase lists once; every other list is one wait interval.
	intervals := got["list"] - 1
	reads := got["get_build"] + got["list_builds"] - n // the creates' own list_builds
	if intervals < 1 || reads > 3*n || reads < n {
		t.Errorf("waiting: %d intervals (lists) and %d build reads for %d builds, want reads from %d to %d: %v", intervals, reads, n, n, 3*n, got)
	}
	t.Logf("waiting for %d builds of 4s at a 1s interval: %d lists, %d build reads (%v)", n, intervals, reads, got)
}

const (
	shaPerf  = "2222222222222222222222222222222222222222"
	shaPerf2 = "3333333333333333333333333333333333333333"
	shaPerf3 = "4444444444444444444444444444444444444444"
)
