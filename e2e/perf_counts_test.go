package e2e

import (
	"fmt"
	"testing"

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

// TestNoopRerunRequestCounts: re-running the action at the same commit, with
// nothing changed, writes nothing and reads a bounded number of times: one
// schema and one list, and per template one list_builds and one get (the
// template's metadata tells which commit created it, which decides whether
// its build is this commit's), with or without the server queueing a build on
// create. No spec changed, so none goes to the validate endpoint. The counts are exact so that any change to the request
// pattern shows here; the target is at most 1 + n reads.
func TestNoopRerunRequestCounts(t *testing.T) {
	t.Parallel()
	const n = 12
	for _, auto := range []bool{true, false} {
		t.Run(fmt.Sprintf("auto-build=%v", auto), func(t *testing.T) {
			t.Parallel()
			e := startEmulator(t, func(o *emulator.Options) { o.AutoBuild = auto })
			w := newWorkspace(t, perfTemplates(n))
			if s := runAction(t, w, withSHA(shaPerf), apiInputs(e, nil)); s.Code != 0 {
				t.Fatalf("first run: exit %d\n%s", s.Code, s.log())
			}
			before := e.Counters()
			s := runAction(t, w, withSHA(shaPerf), apiInputs(e, nil))
			if s.Code != 0 {
				t.Fatalf("re-run: exit %d\n%s", s.Code, s.log())
			}
			after := e.Counters()
			if w := after.Writes - before.Writes; w != 0 {
				t.Errorf("re-run executed %d writes, want 0", w)
			}
			got := requestsSince(before, after)
			want := map[string]int{"schema": 1, "list": 1, "list_builds": n}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("re-run requests by endpoint (-want +got):\n%s", diff)
			}
			writes := 0
			for _, k := range []string{"create", "create_build", "delete"} {
				writes += got[k]
			}
			if writes != 0 {
				t.Errorf("re-run sent %d write requests, want 0", writes)
			}
			t.Logf("re-run requests: %v", got)
		})
	}
}

const shaPerf = "2222222222222222222222222222222222222222"
