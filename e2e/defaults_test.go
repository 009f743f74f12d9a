package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
)

// Server defaults the action does not know, or knows wrongly (a stale
// default: the server's small moved on from the action's table), never
// cause a rebuild: the server's own normalization of the file's spec is
// compared, and without a validate endpoint the fields the file does not
// set count as the server's defaults, and the log names them. (A default
// that moves after the build is drift, rebuilt once: internal/run's
// TestServedMovedServerDefaultRebuilds.)
func TestServerDefaultsNeverRebuild(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, size string
		sizes      map[string][3]int
	}{
		{"a size whose defaults the action does not know", "medium", nil},
		{"a stale default for small", "small", map[string][3]int{"small": {3, 6144, 12288}}},
	}
	for _, tc := range cases {
		for _, noValidate := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/no-validate=%v", tc.name, noValidate), func(t *testing.T) {
				t.Parallel()
				e := startEmulator(t, func(o *emulator.Options) { o.Sizes = tc.sizes; o.NoValidate = noValidate })
				w := newWorkspace(t, map[string]string{"sandbox-templates/app.yaml": "build_spec:\n  from: node:22\n  size: " + tc.size + "\n"})
				if s := runAction(t, w, withSHA(shaA), apiInputs(e, nil)); s.Code != 0 {
					t.Fatalf("create: exit %d\n%s", s.Code, s.log())
				}
				before := e.Counters()
				s := runAction(t, w, withSHA(shaB), apiInputs(e, nil))
				if s.Code != 0 || s.Outputs["has-changes"] != "false" || e.Counters().Writes != before.Writes {
					t.Fatalf("new commit, nothing changed: exit %d has-changes %q, %d writes; want 0, false, 0\n%s",
						s.Code, s.Outputs["has-changes"], e.Counters().Writes-before.Writes, s.log())
				}
				switch {
				case noValidate && !strings.Contains(s.Stdout, "taken as the server's defaults"):
					t.Errorf("without a validate endpoint, want the log to say the fields are taken as the server's defaults\n%s", s.Stdout)
				case !noValidate && len(warnings(s)) > 0:
					t.Errorf("the server's normalization decides: want no warning\n%s", s.Stdout)
				}
			})
		}
	}
}
