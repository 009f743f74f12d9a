package emulator_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestConfigSteersFaults(t *testing.T) {
	t.Parallel()
	e := setup(t, defaults())
	id := e.create("web", spec("x"))["id"].(string)
	e.config(`{"faults":{"rules":[{"endpoint":"create_build","kind":"status","statuses":[503,429],"retry_after":"3s"},{"endpoint":"get","kind":"latency","latency":"1ms"}]}}`)
	path := "/api/v1/sandbox-templates/" + id + "/builds"
	e.req("POST", path, map[string]any{}).must(t, http.StatusServiceUnavailable)
	if r := e.req("POST", path, map[string]any{}).must(t, http.StatusTooManyRequests); r.header.Get("Retry-After") != "3" {
		t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
	}
	e.req("POST", path, map[string]any{}).must(t, http.StatusCreated)
	e.req("GET", "/api/v1/sandbox-templates/"+id, nil).must(t, http.StatusOK)
	c := e.emu.Counters()
	if c.FaultsByKind["status"] != 2 || c.FaultsByKind["latency"] != 1 || c.BuildsByTemplate["web"] != 2 || c.RateLimited != 1 {
		t.Errorf("counters %+v", c)
	}
}

func TestConfigRejects(t *testing.T) {
	t.Parallel()
	e := setup(t, defaults())
	for _, body := range []string{
		`{"faults":{"rules":[{"kind":"nope"}]}}`,
		`{"variant":{"list":"wrapped"}}`,
		`{"build_duration":"soon"}`,
		`{"unknown_member":1}`,
		`not json`,
	} {
		res, err := e.client.Post(e.srv.URL+"/__emulator/config", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d", body, res.StatusCode)
		}
	}
}
