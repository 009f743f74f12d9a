package e2e

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
)

// waitInputs make a run wait for its builds; the emulator's builds finish
// at once, so no poll sleeps.
var waitInputs = map[string]string{"wait": "true", "poll-interval": "1s", "timeout": "60s"}

// convergeAfter re-runs the job at the same commit with the faults gone and
// checks the remote state, the outputs against the emulator and, when ref is
// not nil, against a clean run's.
func (c *rcase) convergeAfter(e *emu, w *workspace, ref *step) {
	c.t.Helper()
	e.Configure(func(o *emulator.Options) { o.Faults = emulator.Faults{} })
	c.fig.ConvergeChecked = true
	again := c.run(w, attempt2(shaA), c.inputs(e, waitInputs))
	if again.Code != 0 || again.Outputs["status"] != "success" {
		c.t.Errorf("re-run without faults: exit %d status %q\n%s", again.Code, again.Outputs["status"], again.log())
		c.remote(e, fiveNames, 1)
		return
	}
	dupT, dupB := c.remote(e, fiveNames, 1)
	diffs := matchesState(c.t, e, again)
	if ref != nil {
		diffs = append(diffs, sameOutputs(c.t, *ref, again, false)...)
	}
	for _, d := range diffs {
		c.t.Errorf("re-run: %s", d)
	}
	c.fig.Converged = dupT == 0 && dupB == 0 && len(diffs) == 0
}

// reference runs fiveTemplates once without faults and returns the step.
func reference(t *testing.T, auto bool) step {
	t.Helper()
	c := newCase(t, "reference", 1)
	e := c.emulator(func(o *emulator.Options) { o.AutoBuild = auto })
	s := c.run(newWorkspace(t, fiveTemplates), withSHA(shaA), c.inputs(e, waitInputs))
	if s.Code != 0 {
		t.Fatalf("clean run: exit %d\n%s", s.Code, s.log())
	}
	return s
}

// TestReliabilityLostResponses drops the connection after the emulator
// committed a create or a build (the transport, keep-alives on, may send the
// request again on its own) and asserts that no template or build is made
// twice, over several seeds.
func TestReliabilityLostResponses(t *testing.T) {
	t.Parallel()
	refs := map[bool]step{true: reference(t, true), false: reference(t, false)}
	cases := []struct {
		name  string
		auto  bool
		rules []emulator.Rule
	}{
		{"every create's first response lost", true, []emulator.Rule{{Endpoint: "create", Kind: emulator.FaultDropAfter, Count: 5}}},
		{"every create_build's first response lost", false, []emulator.Rule{{Endpoint: "create_build", Kind: emulator.FaultDropAfter, Count: 5}}},
		{"creates and builds lost twice each", false, []emulator.Rule{
			{Endpoint: "create", Kind: emulator.FaultDropAfter, Count: 10},
			{Endpoint: "create_build", Kind: emulator.FaultDropAfter, Count: 10},
		}},
		{"half of all responses lost at random", false, []emulator.Rule{{Endpoint: "*", Kind: emulator.FaultDropAfter, Rate: 0.5, Count: 12}}},
		{"list_builds after create lost", true, []emulator.Rule{
			{Endpoint: "list_builds", Kind: emulator.FaultDropAfter, Count: 1},
			{Endpoint: "list_builds", Kind: emulator.FaultDropAfter, Rate: 0.5, Count: 6},
		}},
		{"requests dropped before handling", false, []emulator.Rule{{Endpoint: "*", Kind: emulator.FaultDropBefore, Rate: 0.3, Count: 10}}},
	}
	for _, tc := range cases {
		for _, seed := range seeds(t) {
			t.Run(fmt.Sprintf("%s/seed=%d", tc.name, seed), func(t *testing.T) {
				t.Parallel()
				c := newCase(t, "lost responses", seed)
				e := c.emulator(func(o *emulator.Options) {
					o.AutoBuild = tc.auto
					o.Faults.Rules = tc.rules
				})
				w := newWorkspace(t, fiveTemplates)
				s := c.run(w, withSHA(shaA), c.inputs(e, waitInputs))
				cnt := e.Counters()
				t.Logf("exit %d status %s; dropped %d, replays %d, requests %v", s.Code, s.Outputs["status"], cnt.Dropped, cnt.Replays, cnt.Requests)
				if cnt.Dropped == 0 {
					t.Fatalf("no response was dropped: the scenario tested nothing")
				}
				if s.Outputs["status"] == "" {
					t.Errorf("no status output\n%s", s.log())
				}
				if s.Code == 0 {
					// Retries with the same keys got the replays: the outputs
					// match a clean run's already.
					dupT, dupB := c.remote(e, fiveNames, 1)
					for _, d := range append(matchesState(t, e, s), sameOutputs(t, refs[tc.auto], s, false)...) {
						t.Errorf("first run: %s", d)
					}
					if dupT+dupB > 0 {
						return
					}
				}
				ref := refs[tc.auto]
				c.convergeAfter(e, w, &ref)
			})
		}
	}
}

// fakeClock is a settable clock for the emulator.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestReliabilityKeyExpiry re-runs the job at the same commit 3 "days"
// later, when the emulator has forgotten the idempotency keys, as a re-run
// (GITHUB_RUN_ATTEMPT 2) and as a new workflow run (attempt 1), and asserts
// that nothing new is made and the outputs are the first run's: the run
// finds the builds it made from their metadata (commit_sha) or the
// template's, and from the spec digests.
func TestReliabilityKeyExpiry(t *testing.T) {
	t.Parallel()
	for _, auto := range []bool{true, false} {
		for _, attempt := range []string{"2", "1"} {
			t.Run(fmt.Sprintf("auto-build=%v/run-attempt=%s", auto, attempt), func(t *testing.T) {
				t.Parallel()
				c := newCase(t, "key expiry", 1)
				clock := &fakeClock{t: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)}
				e := c.emulator(func(o *emulator.Options) { o.AutoBuild = auto; o.Clock = clock.now })
				w := newWorkspace(t, fiveTemplates)
				first := c.run(w, withSHA(shaA), c.inputs(e, waitInputs))
				if first.Code != 0 {
					t.Fatalf("first run: exit %d\n%s", first.Code, first.log())
				}
				before := e.Counters()

				clock.advance(72 * time.Hour)
				env := map[string]string{"GITHUB_SHA": shaA, "GITHUB_RUN_ATTEMPT": attempt}
				later := c.run(w, env, c.inputs(e, waitInputs))
				if later.Code != 0 || later.Outputs["status"] != "success" {
					t.Fatalf("re-run 3 days later: exit %d status %q\n%s", later.Code, later.Outputs["status"], later.log())
				}
				after := e.Counters()
				if after.Writes != before.Writes || after.Replays != before.Replays {
					t.Errorf("re-run 3 days later: writes %d -> %d, replays %d -> %d, want no write at all", before.Writes, after.Writes, before.Replays, after.Replays)
				}
				dupT, dupB := c.remote(e, fiveNames, 1)
				diffs := append(matchesState(t, e, later), sameOutputs(t, first, later, true)...)
				c.fig.ConvergeChecked = true
				for _, d := range diffs {
					t.Errorf("re-run 3 days later: %s", d)
				}
				c.fig.Converged = dupT == 0 && dupB == 0 && len(diffs) == 0
			})
		}
	}
}

// TestReliabilityCreateQueuesBuild: the server queues a build when a
// template is created; the action must adopt it and never trigger a second
// one, also when the reads after the create fail for a while.
func TestReliabilityCreateQueuesBuild(t *testing.T) {
	t.Parallel()
	ref := reference(t, true)
	cases := []struct {
		name  string
		rules []emulator.Rule
		lag   time.Duration
	}{
		{"no faults", nil, 0},
		{"the queued build shows in list_builds 1s late", nil, time.Second},
		{"the queued build shows in list_builds 3.5s late", nil, 3500 * time.Millisecond},
		{"list_builds fails twice", []emulator.Rule{{Endpoint: "list_builds", Kind: emulator.FaultStatus, Statuses: []int{503, 502}}}, 0},
		{"list_builds answers garbage once", []emulator.Rule{{Endpoint: "list_builds", Kind: emulator.FaultMalformedJSON, Count: 1}}, 0},
		{"create answered 503 after nothing was committed", []emulator.Rule{{Endpoint: "create", Kind: emulator.FaultStatus, Status: 503, Count: 3}}, 0},
		{"create's response lost", []emulator.Rule{{Endpoint: "create", Kind: emulator.FaultDropAfter, Count: 2}}, 0},
		{"list_builds always fails", []emulator.Rule{{Endpoint: "list_builds", Kind: emulator.FaultStatus, Status: 503}}, 0},
	}
	for _, tc := range cases {
		for _, seed := range seeds(t) {
			t.Run(fmt.Sprintf("%s/seed=%d", tc.name, seed), func(t *testing.T) {
				t.Parallel()
				c := newCase(t, "create queues a build", seed)
				e := c.emulator(func(o *emulator.Options) { o.Faults.Rules = tc.rules; o.AutoBuildLag = tc.lag })
				w := newWorkspace(t, fiveTemplates)
				s := c.run(w, withSHA(shaA), c.inputs(e, map[string]string{"wait": "true", "poll-interval": "1s", "timeout": "20s"}))
				if n := e.Counters().Requests["create_build"]; n != 0 {
					t.Errorf("create_build called %d times although every create queued a build", n)
				}
				if tc.rules == nil && s.Code != 0 {
					t.Fatalf("exit %d\n%s", s.Code, s.log())
				}
				c.convergeAfter(e, w, &ref)
				if n := e.Counters().Requests["create_build"]; n != 0 {
					t.Errorf("after the re-run create_build was called %d times", n)
				}
			})
		}
	}
}

// TestReliabilityDeadline: 5xx bursts, 429 with Retry-After of 1 s and of a
// day, and requests that hang past the deadline. Each run ends within its
// timeout plus 5 s with a clear status and message.
func TestReliabilityDeadline(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		wait bool
		// timeout is the run's deadline; 0 means 5s.
		timeout time.Duration
		// rules are the faults; statuses the acceptable status outputs;
		// message what the log's errors must say.
		rules    []emulator.Rule
		statuses []string
		message  []string
	}{
		// Four failures in a row may hit one request: its backoffs can
		// add up to 7.5s, so this run gets a longer deadline.
		{name: "5xx burst on every endpoint", timeout: 15 * time.Second, rules: []emulator.Rule{{Endpoint: "*", Kind: emulator.FaultStatus, Statuses: []int{503, 502, 504, 503, 0}}},
			statuses: []string{"success"}},
		{name: "5xx on creates until the deadline", rules: []emulator.Rule{{Endpoint: "create", Kind: emulator.FaultStatus, Status: 503}},
			statuses: []string{"failed", "timeout"}, message: []string{"503"}},
		{name: "500 not retryable", rules: []emulator.Rule{{Endpoint: "create", Kind: emulator.FaultStatus, Status: 500}},
			statuses: []string{"failed"}, message: []string{"500"}},
		{name: "429 Retry-After 1s", rules: []emulator.Rule{{Endpoint: "create", Kind: emulator.FaultStatus, Status: 429, RetryAfter: time.Second, Count: 2}},
			statuses: []string{"success"}},
		{name: "429 Retry-After 1 day", rules: []emulator.Rule{{Endpoint: "create", Kind: emulator.FaultStatus, Status: 429, RetryAfter: 24 * time.Hour, Count: 50}},
			statuses: []string{"failed"}, message: []string{"429", "retry after"}},
		{name: "429 Retry-After 1 day in the body only", rules: []emulator.Rule{{Endpoint: "list", Kind: emulator.FaultStatus, Status: 429, RetryAfter: 24 * time.Hour, RetryAfterIn: "body"}},
			statuses: []string{"failed"}, message: []string{"429", "retry after"}},
		{name: "list hangs past the deadline", rules: []emulator.Rule{{Endpoint: "list", Kind: emulator.FaultLatency, Latency: time.Minute}},
			statuses: []string{"timeout"}, message: []string{"timeout"}},
		{name: "create hangs past the deadline", rules: []emulator.Rule{{Endpoint: "create", Kind: emulator.FaultLatency, Latency: time.Minute}},
			statuses: []string{"timeout"}, message: []string{"timeout"}},
		{name: "build status hangs while waiting", wait: true, rules: []emulator.Rule{{Endpoint: "get_build", Kind: emulator.FaultLatency, Latency: time.Minute}},
			statuses: []string{"timeout"}, message: []string{"timeout"}},
		{name: "builds never finish", wait: true, rules: []emulator.Rule{{Endpoint: "*", Kind: emulator.FaultUnknownState}},
			statuses: []string{"timeout"}, message: []string{"timeout"}},
		{name: "everything slow and flaky", rules: []emulator.Rule{
			{Endpoint: "*", Kind: emulator.FaultLatency, Latency: 700 * time.Millisecond, Rate: 0.5},
			{Endpoint: "*", Kind: emulator.FaultStatus, Status: 503, Rate: 0.3},
		}, statuses: []string{"success", "failed", "timeout"}},
	}
	for _, tc := range cases {
		for _, seed := range seeds(t) {
			t.Run(fmt.Sprintf("%s/seed=%d", tc.name, seed), func(t *testing.T) {
				t.Parallel()
				c := newCase(t, "deadline", seed)
				e := c.emulator(func(o *emulator.Options) {
					o.AutoBuild = true
					o.Faults.Rules = tc.rules
					if tc.wait {
						o.BuildDuration = 2 * time.Second
					}
				})
				w := newWorkspace(t, fiveTemplates)
				timeout := cmp.Or(tc.timeout, 5*time.Second)
				in := map[string]string{"timeout": timeout.String(), "wait": fmt.Sprint(tc.wait), "poll-interval": "1s"}
				p := startAction(t.Context(), t, w, withSHA(shaA), c.inputs(e, in))
				start := time.Now()
				s := p.wait(t)
				elapsed := time.Since(start)
				c.scan(s)
				c.endedWithin(timeout, elapsed)
				status := s.Outputs["status"]
				if !slices.Contains(tc.statuses, status) {
					t.Errorf("status %q (exit %d), want one of %v\n%s", status, s.Code, tc.statuses, s.log())
				}
				if (status == "success") != (s.Code == 0) {
					t.Errorf("status %q with exit code %d", status, s.Code)
				}
				errs := errorLines(s)
				if status != "success" && errs == "" {
					t.Errorf("status %q without an ::error:: line saying why\n%s", status, s.log())
				}
				for _, m := range tc.message {
					if !strings.Contains(strings.ToLower(errs), m) {
						t.Errorf("the errors do not say %q:\n%s", m, errs)
					}
				}
				t.Logf("status %s in %s: %s", status, elapsed.Round(time.Millisecond), errs)
				if d := e.Counters().DuplicateBuilds(); len(d) > 0 {
					c.fig.DupBuilds += len(d)
					t.Errorf("duplicate builds: %v", d)
				}
			})
		}
	}
}

// TestReliabilityPayloadMismatch: the same commit re-run after an edit.
// Keys derive from the spec digest, so an edited spec gets a new key and a
// new build of that template only (no 409). A 409 IDEMPOTENCY_PAYLOAD_MISMATCH
// happens when the body changes but the key does not: here the template was
// deleted on the server and its description edited, so the create is sent
// again with the first create's key. The message must explain it.
func TestReliabilityPayloadMismatch(t *testing.T) {
	t.Parallel()
	t.Run("spec edited, same commit", func(t *testing.T) {
		t.Parallel()
		c := newCase(t, "payload mismatch", 1)
		e := c.emulator(nil)
		w := newWorkspace(t, fiveTemplates)
		if s := c.run(w, withSHA(shaA), c.inputs(e, waitInputs)); s.Code != 0 {
			t.Fatalf("first run: exit %d\n%s", s.Code, s.log())
		}
		w.write(t, "sandbox-templates/alpha.yaml", strings.Replace(fiveTemplates["sandbox-templates/alpha.yaml"], "npm ci", "npm ci --omit=dev", 1))
		s := c.run(w, attempt2(shaA), c.inputs(e, waitInputs))
		var builds []buildOut
		s.json(t, "builds", &builds)
		if s.Code != 0 || len(builds) != 5 || builds[0].Name != "alpha" || builds[0].Action != "build" || builds[0].Replayed {
			t.Errorf("re-run after a spec edit: exit %d builds %+v, want a new build of alpha\n%s", s.Code, builds, s.log())
		}
		cnt := e.Counters()
		if cnt.Mismatches != 0 || cnt.BuildsByTemplate["alpha"] != 2 || cnt.BuildsCreated != 6 || cnt.TemplatesCreated != 5 {
			t.Errorf("after the edit: mismatches %d, alpha builds %d, builds %d, templates %d; want 0, 2, 6, 5",
				cnt.Mismatches, cnt.BuildsByTemplate["alpha"], cnt.BuildsCreated, cnt.TemplatesCreated)
		}
		// The same edit re-run once more makes nothing new.
		again := c.run(w, attempt2(shaA), c.inputs(e, waitInputs))
		if again.Code != 0 || e.Counters().Writes != cnt.Writes {
			t.Errorf("second re-run: exit %d, writes %d -> %d", again.Code, cnt.Writes, e.Counters().Writes)
		}
	})
	t.Run("spec rewritten to the same normalized form, same commit", func(t *testing.T) {
		t.Parallel()
		c := newCase(t, "payload mismatch", 1)
		e := c.emulator(nil)
		w := newWorkspace(t, fiveTemplates)
		first := c.run(w, withSHA(shaA), c.inputs(e, waitInputs))
		if first.Code != 0 {
			t.Fatalf("first run: exit %d\n%s", first.Code, first.log())
		}
		writes := e.Counters().Writes
		// workdir /workspace is the default: the digest, and so the key,
		// stay the same while the request body would change.
		w.write(t, "sandbox-templates/alpha.yaml", fiveTemplates["sandbox-templates/alpha.yaml"]+"  workdir: /workspace\n")
		s := c.run(w, attempt2(shaA), c.inputs(e, waitInputs))
		cnt := e.Counters()
		if s.Code != 0 || cnt.Writes != writes || cnt.Mismatches != 0 {
			t.Errorf("re-run: exit %d, writes %d -> %d, mismatches %d; want the builds adopted\n%s", s.Code, writes, cnt.Writes, cnt.Mismatches, s.log())
		}
		for _, d := range sameOutputs(t, first, s, true) {
			t.Errorf("re-run: %s", d)
		}
	})
	t.Run("description edited after the template was deleted", func(t *testing.T) {
		t.Parallel()
		c := newCase(t, "payload mismatch", 1)
		e := c.emulator(nil)
		w := newWorkspace(t, fiveTemplates)
		first := c.run(w, withSHA(shaA), c.inputs(e, waitInputs))
		if first.Code != 0 {
			t.Fatalf("first run: exit %d\n%s", first.Code, first.log())
		}
		var tids map[string]string
		first.json(t, "template-ids", &tids)
		req, _ := http.NewRequest(http.MethodDelete, e.URL+"/sandbox-templates/"+tids["bravo"], nil)
		req.Header.Set("Authorization", "Bearer "+c.key)
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != http.StatusNoContent {
			t.Fatalf("delete bravo: %v %v", res, err)
		}
		res.Body.Close()
		w.write(t, "sandbox-templates/bravo.yaml", strings.Replace(fiveTemplates["sandbox-templates/bravo.yaml"], "Python", "Python 3.12", 1))
		s := c.run(w, attempt2(shaA), c.inputs(e, waitInputs))
		if e.Counters().Mismatches == 0 {
			t.Fatalf("the emulator answered no 409 mismatch: the scenario tested nothing\n%s", s.log())
		}
		errs := errorLines(s)
		t.Logf("exit %d status %s:\n%s", s.Code, s.Outputs["status"], errs)
		if s.Code != 1 || s.Outputs["status"] != "failed" {
			t.Errorf("exit %d status %q, want 1 and failed", s.Code, s.Outputs["status"])
		}
		for _, want := range []string{"bravo", "IDEMPOTENCY_PAYLOAD_MISMATCH", "different request body", "new commit"} {
			if !strings.Contains(errs, want) {
				t.Errorf("the error does not say %q:\n%s", want, errs)
			}
		}
		if d := e.Counters().DuplicateBuilds(); len(d) > 0 {
			t.Errorf("duplicate builds: %v", d)
		}
	})
}
