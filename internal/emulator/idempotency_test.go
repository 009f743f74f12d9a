package emulator_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
)

func TestIdempotentCreateReplay(t *testing.T) {
	t.Parallel()
	e := setup(t, defaults())
	body := `{"name":"web","build_spec":{"from":"node:22","vcpu":2}}`
	sameBodyOtherForm := "{ \"build_spec\": {\"vcpu\": 2, \"from\": \"node:22\"},\n \"name\": \"web\" }"
	first := e.req("POST", "/api/v1/sandbox-templates", body, "Idempotency-Key", "k1").must(t, http.StatusCreated)
	second := e.req("POST", "/api/v1/sandbox-templates", sameBodyOtherForm, "Idempotency-Key", "k1").must(t, http.StatusCreated)
	if first.header.Get("Idempotent-Replayed") != "" || second.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("Idempotent-Replayed: first %q second %q", first.header.Get("Idempotent-Replayed"), second.header.Get("Idempotent-Replayed"))
	}
	if string(first.body) != string(second.body) {
		t.Errorf("replayed body differs:\n%s\n%s", first.body, second.body)
	}
	if first.header.Get("X-Request-ID") == second.header.Get("X-Request-ID") {
		t.Errorf("replay reused the request id header")
	}
	c := e.emu.Counters()
	if c.Replays != 1 || c.TemplatesCreated != 1 || c.TemplatesUpserted != 0 || c.BuildsCreated != 1 || c.Writes != 1 || c.Requests["create"] != 2 {
		t.Errorf("counters %+v", c)
	}
}

func TestIdempotencyMismatch(t *testing.T) {
	t.Parallel()
	e := setup(t, defaults())
	id := e.create("web", spec("node:22"))["id"].(string)
	path := "/api/v1/sandbox-templates/" + id + "/builds"
	e.req("POST", path, map[string]any{"metadata": map[string]any{"commit": "a"}}, "Idempotency-Key", "k").must(t, http.StatusCreated)
	r := e.req("POST", path, map[string]any{"metadata": map[string]any{"commit": "b"}}, "Idempotency-Key", "k").must(t, http.StatusConflict)
	if r.errCode(t) != "IDEMPOTENCY_PAYLOAD_MISMATCH" {
		t.Errorf("code %q", r.errCode(t))
	}
	// The original still replays after a mismatch.
	e.req("POST", path, map[string]any{"metadata": map[string]any{"commit": "a"}}, "Idempotency-Key", "k").must(t, http.StatusCreated)
	c := e.emu.Counters()
	if c.Mismatches != 1 || c.Replays != 1 || c.BuildsByTemplate["web"] != 2 {
		t.Errorf("counters %+v", c)
	}
}

func TestIdempotencyScope(t *testing.T) {
	t.Parallel()
	e := setup(t, defaults())
	a := e.create("a", spec("x"))["id"].(string)
	b := e.create("b", spec("x"))["id"].(string)
	e.req("POST", "/api/v1/sandbox-templates/"+a+"/builds", map[string]any{}, "Idempotency-Key", "same").must(t, http.StatusCreated)
	// Another path, another API key, and a request without a key: none replays.
	e.req("POST", "/api/v1/sandbox-templates/"+b+"/builds", map[string]any{}, "Idempotency-Key", "same").must(t, http.StatusCreated)
	e.req("POST", "/api/v1/sandbox-templates/"+a+"/builds", map[string]any{}, "Idempotency-Key", "same", "Authorization", "Bearer msk_other").must(t, http.StatusCreated)
	e.req("POST", "/api/v1/sandbox-templates/"+a+"/builds", map[string]any{}).must(t, http.StatusCreated)
	e.req("POST", "/api/v1/sandbox-templates/"+a+"/builds", map[string]any{}).must(t, http.StatusCreated)
	c := e.emu.Counters()
	if c.Replays != 0 || c.BuildsByTemplate["a"] != 5 || c.BuildsByTemplate["b"] != 2 {
		t.Errorf("counters %+v", c)
	}
}

func TestIdempotencyWindow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		window  time.Duration
		advance time.Duration
		replay  bool
	}{
		{"default window, within", 0, 23 * time.Hour, true},
		{"default window, expired", 0, 24 * time.Hour, false},
		{"short window, expired", time.Minute, 2 * time.Minute, false},
		{"short window, within", time.Minute, 30 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := defaults()
			o.IdempotencyWindow = tt.window
			e := setup(t, o)
			id := e.create("web", spec("x"))["id"].(string)
			path := "/api/v1/sandbox-templates/" + id + "/builds"
			first := e.req("POST", path, map[string]any{}, "Idempotency-Key", "k").must(t, http.StatusCreated).data(t)
			e.clock.Advance(tt.advance)
			again := e.req("POST", path, map[string]any{}, "Idempotency-Key", "k").must(t, http.StatusCreated)
			replayed := again.header.Get("Idempotent-Replayed") == "true"
			if replayed != tt.replay || (again.data(t)["id"] == first["id"]) != tt.replay {
				t.Errorf("replayed = %v, want %v", replayed, tt.replay)
			}
			wantBuilds := 3
			if tt.replay {
				wantBuilds = 2
			}
			if got := e.emu.BuildsOf("web"); got != wantBuilds {
				t.Errorf("builds = %d, want %d", got, wantBuilds)
			}
		})
	}
}

func TestIdempotencyNotStoredForServerErrors(t *testing.T) {
	t.Parallel()
	o := defaults()
	o.Faults.Rules = []emulator.Rule{{Endpoint: "create", Kind: "status", Statuses: []int{503}}}
	e := setup(t, o)
	body := map[string]any{"name": "web", "build_spec": spec("x")}
	e.req("POST", "/api/v1/sandbox-templates", body, "Idempotency-Key", "k").must(t, http.StatusServiceUnavailable)
	r := e.req("POST", "/api/v1/sandbox-templates", body, "Idempotency-Key", "k").must(t, http.StatusCreated)
	if r.header.Get("Idempotent-Replayed") != "" {
		t.Errorf("a 503 was replayed")
	}
	if c := e.emu.Counters(); c.TemplatesCreated != 1 || c.FaultsInjected != 1 {
		t.Errorf("counters %+v", c)
	}
}

func TestConcurrentKeyedCreates(t *testing.T) {
	t.Parallel()
	e := setup(t, defaults())
	const n = 20
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// All share one key for "same"; each also creates its own template.
			r := e.req("POST", "/api/v1/sandbox-templates", map[string]any{"name": "same", "build_spec": spec("x")}, "Idempotency-Key", "shared")
			statuses <- r.status
			e.req("POST", "/api/v1/sandbox-templates", map[string]any{"name": fmt.Sprintf("t%02d", i), "build_spec": spec("x")}, "Idempotency-Key", fmt.Sprint(i))
		})
	}
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != http.StatusCreated {
			t.Errorf("status %d", s)
		}
	}
	c := e.emu.Counters()
	if c.TemplatesCreated != n+1 || c.Replays != n-1 || c.BuildsCreated != n+1 || len(c.DuplicateBuilds()) != 0 {
		t.Errorf("counters %+v", c)
	}
}
