package e2e

import (
	"fmt"
	"testing"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
)

// TestReliabilityConvergesUnderErrorRate: 200 templates, concurrency 64,
// 12% of all requests answered 503. Within two runs every template is
// created and built exactly once: a failed read fails only its own template,
// and the retry budget grows with the work.
func TestReliabilityConvergesUnderErrorRate(t *testing.T) {
	t.Parallel()
	const n = 200
	files := map[string]string{}
	var names []string
	for i := range n {
		name := fmt.Sprintf("t-%03d", i)
		names = append(names, name)
		files["sandbox-templates/"+name+".yaml"] = fmt.Sprintf("build_spec:\n  from: alpine:3.20\n  steps:\n    - run: echo %d\n", i)
	}
	for _, seed := range seeds(t) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			c := newCase(t, "12% 503s, 200 templates", seed)
			e := c.emulator(func(o *emulator.Options) { o.Faults.ErrorRate = 0.12 })
			w := newWorkspace(t, files)
			in := c.inputs(e, map[string]string{"concurrency": "64", "timeout": "2m"})
			var last step
			for run := 1; run <= 2; run++ {
				last = c.run(w, attempt2(shaA), in)
				if last.Code == 0 {
					break
				}
			}
			c.fig.ConvergeChecked = true
			if last.Code != 0 {
				t.Errorf("two runs did not converge: exit %d\n%s", last.Code, errorLines(last))
			}
			dupT, dupB := c.remote(e, names, 1)
			c.fig.Converged = last.Code == 0 && dupT == 0 && dupB == 0
		})
	}
}
