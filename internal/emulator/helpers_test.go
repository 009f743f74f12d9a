package emulator_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
)

const testKey = "msk_test_0123456789abcdef"

// fakeClock is a settable clock for Options.Clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is an emulator behind a real HTTP server.
type env struct {
	t      *testing.T
	emu    *emulator.Server
	srv    *httptest.Server
	clock  *fakeClock
	client *http.Client
}

// setup starts an emulator; opts.Clock defaults to a fake clock.
func setup(t *testing.T, opts emulator.Options) *env {
	t.Helper()
	clock := newClock()
	if opts.Clock == nil {
		opts.Clock = clock.Now
	}
	emu := emulator.New(opts)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	return &env{
		t: t, emu: emu, srv: srv, clock: clock,
		client: &http.Client{
			// No keep-alives: the transport never silently resends a request
			// after a dropped connection, so counts are exact.
			Transport:     &http.Transport{DisableKeepAlives: true},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			Timeout:       20 * time.Second,
		},
	}
}

// defaults returns NewOptions with a 10s build.
func defaults() emulator.Options {
	o := emulator.NewOptions()
	o.BuildDuration = 10 * time.Second
	return o
}

// resp is a read response.
type resp struct {
	status int
	header http.Header
	body   []byte
	err    error // transport error (dropped connection)
}

// obj decodes the body as a JSON object.
func (r resp) obj(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %.300s", err, r.body)
	}
	return m
}

// data returns the "data" member of the body.
func (r resp) data(t *testing.T) map[string]any {
	t.Helper()
	d, ok := r.obj(t)["data"].(map[string]any)
	if !ok {
		t.Fatalf("no data object in %.300s", r.body)
	}
	return d
}

// list decodes a body that is a JSON array, {"data": [...]} or
// {"templates": [...]}.
func (r resp) list(t *testing.T) []map[string]any {
	t.Helper()
	var rows []map[string]any
	if err := json.Unmarshal(r.body, &rows); err == nil {
		return rows
	}
	var env struct {
		Data      []map[string]any `json:"data"`
		Templates []map[string]any `json:"templates"`
	}
	if err := json.Unmarshal(r.body, &env); err != nil {
		t.Fatalf("body is not a list: %v: %.300s", err, r.body)
	}
	return append(env.Data, env.Templates...)
}

// errCode returns error.code of a structured error body.
func (r resp) errCode(t *testing.T) string {
	t.Helper()
	e, _ := r.obj(t)["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

// req is one request; headers are name, value pairs. Authorization is set
// to testKey unless given.
func (e *env) req(method, path string, body any, headers ...string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	r, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	r.Header.Set("Authorization", "Bearer "+testKey)
	if rd != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			r.Header.Del(headers[i])
			continue
		}
		r.Header.Set(headers[i], headers[i+1])
	}
	res, err := e.client.Do(r)
	if err != nil {
		return resp{err: err}
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return resp{status: res.StatusCode, header: res.Header, err: err}
	}
	return resp{status: res.StatusCode, header: res.Header, body: data}
}

// must fails the test unless the response has the status.
func (r resp) must(t *testing.T, status int) resp {
	t.Helper()
	if r.err != nil {
		t.Fatalf("request failed: %v", r.err)
	}
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %.500s", r.status, status, r.body)
	}
	return r
}

func spec(from string, extra ...any) map[string]any {
	s := map[string]any{"from": from, "steps": []any{map[string]any{"run": "echo hi"}}}
	for i := 0; i+1 < len(extra); i += 2 {
		s[extra[i].(string)] = extra[i+1]
	}
	return s
}

// create creates a template and returns its data object.
func (e *env) create(name string, buildSpec map[string]any, headers ...string) map[string]any {
	e.t.Helper()
	return e.req("POST", "/api/v1/sandbox-templates", map[string]any{"name": name, "build_spec": buildSpec}, headers...).
		must(e.t, http.StatusCreated).data(e.t)
}

// builds lists a template's builds.
func (e *env) builds(id string) []map[string]any {
	e.t.Helper()
	return e.req("GET", "/api/v1/sandbox-templates/"+id+"/builds", nil).must(e.t, http.StatusOK).list(e.t)
}

// config posts a JSON config to the emulator.
func (e *env) config(cfg string) {
	e.t.Helper()
	r, err := e.client.Post(e.srv.URL+"/__emulator/config", "application/json", strings.NewReader(cfg))
	if err != nil {
		e.t.Fatal(err)
	}
	defer r.Body.Close()
	if r.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(r.Body)
		e.t.Fatalf("config: %d %s", r.StatusCode, b)
	}
}

// The exact keys of the server's renderings (API page, last section).
var (
	templateKeys = []string{"artifact_paths", "build_spec", "built_in", "category", "cpu_count", "current_build_id",
		"default", "description", "disk_mb", "id", "image_id", "inserted_at", "install_command", "memory_mb", "name",
		"preview_port", "public", "readiness_probe", "runtimes", "slug", "start_command", "status", "updated_at", "workdir"}
	catalogKeys = []string{"artifact_paths", "built_in", "categories", "default", "default_cpu", "default_memory_mb",
		"description", "disk_mb", "id", "image_id", "install_command", "name", "preview_port", "readiness_probe",
		"runtimes", "start_command", "status", "tags", "workdir"}
	buildKeys = []string{"build_spec", "certification", "duration_ms", "error_code", "error_message", "finished_at",
		"id", "image_id", "inserted_at", "log_url", "metadata", "rootfs_path", "sandbox_template_id",
		"snapshot_manifest", "source_type", "started_at", "state", "updated_at"}
)

// keysOf returns the sorted keys of a JSON object.
func keysOf(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
