package emulator_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
)

func withRules(rules ...emulator.Rule) emulator.Options {
	o := defaults()
	o.Faults.Rules = rules
	return o
}

func TestScriptedStatuses(t *testing.T) {
	t.Parallel()
	e := setup(t, withRules(emulator.Rule{Endpoint: "create_build", Kind: emulator.FaultStatus, Statuses: []int{503, 0, 502}}))
	id := e.create("web", spec("x"))["id"].(string)
	var got []int
	for range 5 {
		got = append(got, e.req("POST", "/api/v1/sandbox-templates/"+id+"/builds", map[string]any{}).status)
	}
	if diff := cmp.Diff([]int{503, 201, 502, 201, 201}, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	c := e.emu.Counters()
	if c.FaultsInjected != 2 || c.FaultsByKind["status"] != 2 || c.BuildsByTemplate["web"] != 1+3 {
		t.Errorf("counters %+v", c)
	}
}

func TestStatusRuleFilters(t *testing.T) {
	t.Parallel()
	e := setup(t, withRules(emulator.Rule{Endpoint: "get", Template: "b", Kind: emulator.FaultStatus, Status: 500, Skip: 1, Count: 2}))
	e.create("a", spec("x"))
	e.create("b", spec("x"))
	var got []int
	for _, name := range []string{"a", "b", "b", "a", "b", "b"} {
		got = append(got, e.req("GET", "/api/v1/sandbox-templates/"+name, nil).status)
	}
	if diff := cmp.Diff([]int{200, 200, 500, 200, 500, 200}, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	r := e.req("GET", "/api/v1/sandbox-templates/a", nil)
	if r.status != 200 {
		t.Errorf("unrelated template faulted")
	}
}

func TestScripted429(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in         string
		header     string
		bodyRetry  any
		retryAfter time.Duration
	}{
		{"", "7", float64(7), 7 * time.Second},
		{"header", "7", nil, 7 * time.Second},
		{"body", "", float64(7), 7 * time.Second},
		{"", "1", float64(1), 0},
	}
	for _, tt := range tests {
		t.Run(tt.in+tt.header, func(t *testing.T) {
			t.Parallel()
			e := setup(t, withRules(emulator.Rule{Endpoint: "list", Kind: emulator.FaultStatus, Status: 429, Count: 1, RetryAfter: tt.retryAfter, RetryAfterIn: tt.in}))
			r := e.req("GET", "/api/v1/sandbox-templates", nil).must(t, http.StatusTooManyRequests)
			if got := r.header.Get("Retry-After"); got != tt.header {
				t.Errorf("Retry-After %q, want %q", got, tt.header)
			}
			errObj := r.obj(t)["error"].(map[string]any)
			if errObj["code"] != "RATE_LIMITED" || errObj["retry_after"] != tt.bodyRetry {
				t.Errorf("error %v", errObj)
			}
			e.req("GET", "/api/v1/sandbox-templates", nil).must(t, http.StatusOK)
			if c := e.emu.Counters(); c.RateLimited != 1 {
				t.Errorf("rate limited %d", c.RateLimited)
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	o := defaults()
	o.RateLimit = 0.5
	o.RateBurst = 2
	e := setup(t, o)
	var got []int
	for range 3 {
		got = append(got, e.req("GET", "/api/v1/sandbox-templates", nil).status)
	}
	r := e.req("GET", "/api/v1/sandbox-templates", nil)
	if diff := cmp.Diff([]int{200, 200, 429}, got); diff != "" || r.status != 429 {
		t.Fatalf("statuses (-want +got):\n%s (4th %d)", diff, r.status)
	}
	if ra := r.header.Get("Retry-After"); ra != "2" {
		t.Errorf("Retry-After %q, want 2", ra)
	}
	if ra := r.obj(t)["error"].(map[string]any)["retry_after"]; ra != float64(2) {
		t.Errorf("retry_after %v", ra)
	}
	e.clock.Advance(2 * time.Second)
	e.req("GET", "/api/v1/sandbox-templates", nil).must(t, http.StatusOK)
	e.req("GET", "/api/v1/sandbox-templates", nil).must(t, http.StatusTooManyRequests)
	if c := e.emu.Counters(); c.RateLimited != 3 || c.Requests["list"] != 6 {
		t.Errorf("counters %+v", c)
	}
}

func TestDropBeforeDoesNotCommit(t *testing.T) {
	t.Parallel()
	e := setup(t, withRules(emulator.Rule{Endpoint: "create", Kind: emulator.FaultDropBefore, Count: 1}))
	body := map[string]any{"name": "web", "build_spec": spec("x")}
	if r := e.req("POST", "/api/v1/sandbox-templates", body, "Idempotency-Key", "k"); r.err == nil {
		t.Fatalf("want a dropped connection, got %d", r.status)
	}
	if c := e.emu.Counters(); c.TemplatesCreated != 0 || c.BuildsCreated != 0 || c.Dropped != 1 || c.FaultsByKind["drop_before"] != 1 {
		t.Errorf("counters after drop %+v", c)
	}
	r := e.req("POST", "/api/v1/sandbox-templates", body, "Idempotency-Key", "k").must(t, http.StatusCreated)
	if r.header.Get("Idempotent-Replayed") != "" {
		t.Errorf("retry was replayed, but nothing was committed")
	}
	if c := e.emu.Counters(); c.TemplatesCreated != 1 || c.BuildsCreated != 1 || c.Replays != 0 {
		t.Errorf("counters after retry %+v", c)
	}
}

func TestDropAfterCommits(t *testing.T) {
	t.Parallel()
	e := setup(t, withRules(emulator.Rule{Endpoint: "create_build", Kind: emulator.FaultDropAfter, Count: 1}))
	id := e.create("web", spec("x"))["id"].(string)
	path := "/api/v1/sandbox-templates/" + id + "/builds"
	if r := e.req("POST", path, map[string]any{}, "Idempotency-Key", "k"); r.err == nil {
		t.Fatalf("want a dropped connection, got %d", r.status)
	}
	if c := e.emu.Counters(); c.BuildsByTemplate["web"] != 2 || c.Dropped != 1 {
		t.Errorf("the dropped build was not committed: %+v", c)
	}
	r := e.req("POST", path, map[string]any{}, "Idempotency-Key", "k").must(t, http.StatusCreated)
	if r.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry with the same key was not replayed")
	}
	if c := e.emu.Counters(); c.BuildsByTemplate["web"] != 2 || c.Replays != 1 {
		t.Errorf("retry made a duplicate build: %+v", c)
	}
	log := e.emu.Requests()
	if !log[len(log)-2].Dropped {
		t.Errorf("request log does not mark the drop: %+v", log[len(log)-2])
	}
}

func TestEchoAuth(t *testing.T) {
	t.Parallel()
	e := setup(t, withRules(emulator.Rule{Kind: emulator.FaultEchoAuth}))
	r := e.req("GET", "/api/v1/sandbox-templates", nil).must(t, http.StatusBadRequest)
	if !strings.Contains(string(r.body), testKey) {
		t.Errorf("body does not echo the key: %s", r.body)
	}
	if c := e.emu.Counters(); c.FaultsByKind["echo_auth"] != 1 {
		t.Errorf("counters %+v", c)
	}
}

func TestResponseFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		rule  emulator.Rule
		check func(t *testing.T, r resp)
	}{
		{"huge body", emulator.Rule{Endpoint: "list", Kind: emulator.FaultHugeBody}, func(t *testing.T, r resp) {
			if r.status != 200 || len(r.body) < 4<<20 {
				t.Errorf("status %d, %d bytes", r.status, len(r.body))
			}
		}},
		{"malformed json", emulator.Rule{Endpoint: "list", Kind: emulator.FaultMalformedJSON}, func(t *testing.T, r resp) {
			var v any
			if r.status != 200 || json.Unmarshal(r.body, &v) == nil {
				t.Errorf("status %d, body parses: %.100s", r.status, r.body)
			}
		}},
		{"redirect", emulator.Rule{Endpoint: "list", Kind: emulator.FaultRedirect, Location: "http://127.0.0.1:1/steal"}, func(t *testing.T, r resp) {
			if r.status != http.StatusTemporaryRedirect || r.header.Get("Location") != "http://127.0.0.1:1/steal" {
				t.Errorf("status %d Location %q", r.status, r.header.Get("Location"))
			}
		}},
		{"redirect default", emulator.Rule{Endpoint: "list", Kind: emulator.FaultRedirect}, func(t *testing.T, r resp) {
			if r.status != http.StatusTemporaryRedirect || r.header.Get("Location") != "http://127.0.0.1:1/api/v1/sandbox-templates" {
				t.Errorf("status %d Location %q", r.status, r.header.Get("Location"))
			}
		}},
		{"latency", emulator.Rule{Endpoint: "list", Kind: emulator.FaultLatency, Latency: time.Millisecond}, func(t *testing.T, r resp) {
			if r.status != 200 {
				t.Errorf("status %d", r.status)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, withRules(tt.rule))
			tt.check(t, e.req("GET", "/api/v1/sandbox-templates", nil))
			if c := e.emu.Counters(); c.FaultsByKind[tt.rule.Kind] != 1 || c.FaultsInjected != 1 {
				t.Errorf("counters %+v", c)
			}
		})
	}
}

func TestMalformedAfterCommit(t *testing.T) {
	t.Parallel()
	e := setup(t, withRules(emulator.Rule{Endpoint: "create", Kind: emulator.FaultMalformedJSON, Count: 1}))
	body := map[string]any{"name": "web", "build_spec": spec("x")}
	r := e.req("POST", "/api/v1/sandbox-templates", body, "Idempotency-Key", "k")
	if r.status != http.StatusCreated || json.Valid(r.body) {
		t.Fatalf("status %d body %s", r.status, r.body)
	}
	e.req("POST", "/api/v1/sandbox-templates", body, "Idempotency-Key", "k").must(t, http.StatusCreated).data(t)
	if c := e.emu.Counters(); c.TemplatesCreated != 1 || c.Replays != 1 {
		t.Errorf("counters %+v", c)
	}
}

func TestUnknownBuildState(t *testing.T) {
	t.Parallel()
	e := setup(t, withRules(emulator.Rule{Endpoint: "get_build", Kind: emulator.FaultUnknownState, State: "defrosting", Count: 2}))
	e.create("web", spec("x"))
	id := e.emu.State().Builds[0].ID
	var got []any
	for range 3 {
		got = append(got, e.req("GET", "/api/v1/sandbox-template-builds/"+id, nil).must(t, 200).data(t)["state"])
	}
	if diff := cmp.Diff([]any{"defrosting", "defrosting", "queued"}, got); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
}

func TestHostileIDs(t *testing.T) {
	t.Parallel()
	e := setup(t, withRules(emulator.Rule{Kind: emulator.FaultHostileIDs, Endpoint: "create"}))
	d := e.create("web", spec("x"))
	id := d["id"].(string)
	if !strings.Contains(id, "\n") || !strings.Contains(id, "::") {
		t.Fatalf("id %q is not hostile", id)
	}
	build := e.emu.State().Builds[0].ID
	if !strings.Contains(build, "\n") {
		t.Errorf("auto build id %q is not hostile", build)
	}
	got := e.req("GET", "/api/v1/sandbox-templates/"+url.PathEscape(id), nil).must(t, http.StatusOK).obj(t)
	if got["id"] != id {
		t.Errorf("get by escaped hostile id: %v", got["id"])
	}
	b := e.req("GET", "/api/v1/sandbox-template-builds/"+url.PathEscape(build), nil).must(t, http.StatusOK).data(t)
	if b["id"] != build {
		t.Errorf("get build by escaped hostile id: %v", b["id"])
	}
	if len(e.builds(url.PathEscape(id))) != 1 {
		t.Errorf("list builds by hostile id")
	}
}

func TestErrorRate(t *testing.T) {
	t.Parallel()
	o := defaults()
	o.Faults.ErrorRate = 1
	e := setup(t, o)
	r := e.req("POST", "/api/v1/sandbox-templates", map[string]any{"name": "web", "build_spec": spec("x")}).must(t, http.StatusServiceUnavailable)
	if r.errCode(t) != "SERVICE_UNAVAILABLE" || r.obj(t)["error"].(map[string]any)["retryable"] != true {
		t.Errorf("body %s", r.body)
	}
	if c := e.emu.Counters(); c.TemplatesCreated != 0 || c.FaultsByKind["error_rate"] != 1 {
		t.Errorf("counters %+v", c)
	}
}

func TestSeedDeterminism(t *testing.T) {
	t.Parallel()
	run := func(seed int64) []int {
		o := withRules(emulator.Rule{Kind: emulator.FaultStatus, Status: 503, Rate: 0.5})
		o.Seed = seed
		o.Faults.ErrorRate = 0.2
		e := setup(t, o)
		var got []int
		for range 40 {
			got = append(got, e.req("GET", "/api/v1/sandbox-templates", nil).status)
		}
		return got
	}
	a, b, other := run(42), run(42), run(43)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different faults (-a +b):\n%s", diff)
	}
	if cmp.Equal(a, other) {
		t.Errorf("seeds 42 and 43 gave the same 40 outcomes")
	}
	faults := 0
	for _, s := range a {
		if s == 503 {
			faults++
		}
	}
	if faults == 0 || faults == len(a) {
		t.Errorf("%d of %d requests faulted", faults, len(a))
	}
}
