package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
)

// TestReliabilitySecrets runs a canary key through every path that could
// print it: errors that echo the Authorization header on each endpoint,
// retries, timeouts, redirects, a refused connection, pull requests and
// waits. Every run's stdout, stderr, GITHUB_OUTPUT and summary, and every
// body the emulator logged, are scanned for the key raw, base64- and
// URL-encoded, and for each 8-character fragment of it (see rcase.scan).
func TestReliabilitySecrets(t *testing.T) {
	t.Parallel()
	const canary = "msk_u_canary_7Q2xW9vK4pL8mN3bR6tY"
	endpoints := []string{"list", "schema", "validate", "create", "list_builds", "create_build", "get_build"}
	type run struct {
		name   string
		env    map[string]string
		inputs map[string]string
		rules  []emulator.Rule
		auto   bool
	}
	var runs []run
	for _, ep := range endpoints {
		for _, status := range []int{400, 401, 503} {
			runs = append(runs, run{
				name:   fmt.Sprintf("%s echoes the key with %d", ep, status),
				inputs: map[string]string{"wait": "true", "poll-interval": "1s", "timeout": "15s"},
				rules:  []emulator.Rule{{Endpoint: ep, Kind: emulator.FaultEchoAuth, Status: status, Count: 2}},
			})
		}
	}
	runs = append(runs,
		run{name: "pull request with echoes", env: map[string]string{"GITHUB_EVENT_NAME": "pull_request"},
			rules: []emulator.Rule{{Endpoint: "*", Kind: emulator.FaultEchoAuth, Rate: 0.5}}},
		run{name: "redirect", rules: []emulator.Rule{{Endpoint: "list", Kind: emulator.FaultRedirect}}},
		run{name: "timeout while echoing", inputs: map[string]string{"timeout": "3s"},
			rules: []emulator.Rule{{Endpoint: "*", Kind: emulator.FaultEchoAuth, Status: 503}, {Endpoint: "*", Kind: emulator.FaultLatency, Latency: 300 * time.Millisecond}}},
		run{name: "connection refused", inputs: map[string]string{"api-url": "http://127.0.0.1:1/api/v1", "timeout": "5s"}},
		run{name: "malformed and huge bodies", auto: true, inputs: map[string]string{"wait": "true", "poll-interval": "1s", "timeout": "15s"},
			rules: []emulator.Rule{{Endpoint: "*", Kind: emulator.FaultMalformedJSON, Rate: 0.3}, {Endpoint: "*", Kind: emulator.FaultHugeBody, Rate: 0.1}}},
	)
	for _, r := range runs {
		for _, seed := range seeds(t) {
			t.Run(fmt.Sprintf("%s/seed=%d", r.name, seed), func(t *testing.T) {
				t.Parallel()
				c := newCase(t, "secrets", seed)
				c.key = canary
				e := c.emulator(func(o *emulator.Options) {
					o.AutoBuild = r.auto
					o.Faults.Rules = r.rules
				})
				s := c.run(newWorkspace(t, fiveTemplates), r.env, c.inputs(e, r.inputs))
				if !strings.HasPrefix(s.Stdout, "::add-mask::"+canary+"\n") {
					t.Errorf("the key is not masked first thing:\n%.300s", s.Stdout)
				}
				if s.Outputs["status"] == "" {
					t.Errorf("no status output\n%s", s.log())
				}
			})
		}
	}
}

// TestReliabilityOffline: without a key the action makes no connection at
// all, whatever the api-url, the event and the mode: an address that counts
// connections sees none, and a host that cannot be resolved or an address
// that cannot be reached (either would fail the run if dialled) change
// nothing.
func TestReliabilityOffline(t *testing.T) {
	t.Parallel()
	counting, dials := countingListener(t)
	urls := []string{counting, "http://offline-canary.invalid/api/v1", "http://[100::1]:9/api/v1", "http://192.0.2.1:9/api/v1"}
	for _, u := range urls {
		for _, ev := range []string{"push", "pull_request", "workflow_dispatch"} {
			for _, mode := range []string{"auto", "validate"} {
				t.Run(fmt.Sprintf("%s/%s/%s", u, ev, mode), func(t *testing.T) {
					t.Parallel()
					c := newCase(t, "offline", 1)
					w := newWorkspace(t, fiveTemplates)
					env := map[string]string{"GITHUB_EVENT_NAME": ev}
					if mode == "auto" && ev != "pull_request" {
						// Where a secret could exist, no key fails at once.
						if s := c.run(w, env, map[string]string{"api-url": u, "mode": mode, "timeout": "20s"}); s.Code != 2 {
							t.Fatalf("auto without a key on %s: exit %d\n%s", ev, s.Code, s.log())
						}
						env["GITHUB_ACTOR"] = "dependabot[bot]" // a run that gets no secrets
					}
					start := time.Now()
					s := c.run(w, env, map[string]string{"api-url": u, "mode": mode, "timeout": "20s"})
					if s.Code != 0 || s.Outputs["status"] != "success" {
						t.Fatalf("exit %d status %q\n%s", s.Code, s.Outputs["status"], s.log())
					}
					if d := time.Since(start); d > 10*time.Second {
						t.Errorf("an offline run took %s: did it try to connect?", d)
					}
					if strings.Contains(s.log(), "dial") || strings.Contains(s.log(), "no such host") {
						t.Errorf("the log mentions a connection:\n%s", s.log())
					}
					// An invalid file still fails offline, positioned.
					w.write(t, "sandbox-templates/bad.yaml", "build_spec:\n  size: huge\n")
					s = c.run(w, env, map[string]string{"api-url": u, "mode": mode, "timeout": "20s"})
					if s.Code != 1 || !annotated(s.Stdout, "sandbox-templates/bad.yaml", "2") {
						t.Errorf("invalid file offline: exit %d\n%s", s.Code, s.Stdout)
					}
				})
			}
		}
	}
	t.Cleanup(func() {
		if n := dials.Load(); n != 0 {
			t.Errorf("offline runs opened %d connection(s)", n)
		}
	})
}
