package emulator_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
)

func TestOnHandled(t *testing.T) {
	var mu sync.Mutex
	type seen struct {
		Seq       int
		Endpoint  string
		Status    int
		Templates int // templates created when the hook ran
	}
	var got []seen
	var e *env
	opts := defaults()
	opts.Faults.Rules = []emulator.Rule{{Endpoint: "get", Kind: emulator.FaultStatus, Status: 503, Count: 1}}
	opts.OnHandled = func(r emulator.RequestRecord) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, seen{r.Seq, r.Endpoint, r.Status, e.emu.Counters().TemplatesCreated})
	}
	e = setup(t, opts)
	e.req("GET", "/api/v1/sandbox-templates/nope", nil).must(t, http.StatusServiceUnavailable) // answered by a fault: no call
	tpl := e.create("hooked", spec("node:22"), "Idempotency-Key", "k1")
	e.req("GET", "/api/v1/sandbox-templates/"+tpl["id"].(string), nil).must(t, http.StatusOK)

	mu.Lock()
	defer mu.Unlock()
	want := []seen{
		{2, "create", http.StatusCreated, 1}, // the mutation is committed before the hook runs
		{3, "get", http.StatusOK, 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("OnHandled calls (-want +got):\n%s", diff)
	}
}

func TestAutoBuildLag(t *testing.T) {
	o := defaults()
	o.AutoBuildLag = 3 * time.Second
	e := setup(t, o)
	d := e.create("lagging", spec("node:22"))
	if n := len(e.builds(d["id"].(string))); n != 0 {
		t.Fatalf("list_builds right after create shows %d builds, want none yet", n)
	}
	if c := e.emu.Counters(); c.BuildsCreated != 1 || c.AutoBuilds != 1 {
		t.Errorf("the hidden build is not counted: %+v", c)
	}
	e.clock.Advance(3 * time.Second)
	if n := len(e.builds(d["id"].(string))); n != 1 {
		t.Errorf("list_builds after the lag shows %d builds, want 1", n)
	}
}
