package emulator_test

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
	goldenfile "github.com/miosa-dev/sandbox-templates-action/internal/golden"
)

func TestAuth(t *testing.T) {
	t.Parallel()
	e := setup(t, defaults())
	tests := []struct {
		name   string
		header string
	}{
		{"missing", ""},
		{"not msk", "Bearer sk_live_abc"},
		{"basic scheme", "Basic msk_abc"},
		{"prefix only", "Bearer msk_"},
		{"no scheme", "msk_abc"},
		{"space in key", "Bearer msk_a bc"},
	}
	for _, tt := range tests {
		r := e.req("GET", "/api/v1/sandbox-templates", nil, "Authorization", tt.header).must(t, http.StatusUnauthorized)
		if got := r.errCode(t); got != "UNAUTHORIZED" {
			t.Errorf("%s: code = %q", tt.name, got)
		}
		if strings.Contains(string(r.body), "abc") {
			t.Errorf("%s: 401 body echoes the key: %s", tt.name, r.body)
		}
	}
	e.req("GET", "/api/v1/sandbox-templates", nil).must(t, http.StatusOK)
	c := e.emu.Counters()
	if c.Unauthorized != len(tests) || c.Requests["list"] != len(tests)+1 {
		t.Errorf("counters: unauthorized %d, list %d", c.Unauthorized, c.Requests["list"])
	}
	if len(c.RequestsByKey) != 1 {
		t.Errorf("requests by key = %v, want one key", c.RequestsByKey)
	}
	for k := range c.RequestsByKey {
		if strings.Contains(k, "msk_") {
			t.Errorf("key fingerprint %q reveals the key", k)
		}
	}
}

func TestListHasBuiltIns(t *testing.T) {
	t.Parallel()
	e := setup(t, defaults())
	rows := e.req("GET", "/api/v1/sandbox-templates?page_size=100", nil).must(t, http.StatusOK).list(t)
	var ids []string
	for _, r := range rows {
		ids = append(ids, r["id"].(string))
		if r["built_in"] != true || r["status"] != "active" {
			t.Errorf("built-in row %v: built_in %v status %v", r["id"], r["built_in"], r["status"])
		}
		if diff := cmp.Diff(catalogKeys, keysOf(r)); diff != "" {
			t.Errorf("list row %v keys (-want +got):\n%s", r["id"], diff)
		}
	}
	want := []string{"base", "nextjs", "node", "python", "react", "vue", "svelte", "astro", "remix", "nuxt", "angular",
		"express", "bun", "deno", "fastapi", "django", "flask", "go", "rust", "rails", "laravel", "java"}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("built-in ids (-want +got):\n%s", diff)
	}
	e.create("app-one", spec("node:22"))
	rows = e.req("GET", "/api/v1/sandbox-templates?page_size=100", nil).must(t, http.StatusOK).list(t)
	last := rows[len(rows)-1]
	if len(rows) != 23 || last["name"] != "app-one" || last["built_in"] != false || last["status"] != "draft" {
		t.Errorf("after create: %d rows, last %v", len(rows), last)
	}
	if got := e.emu.Counters().Requests["list"]; got != 2 {
		t.Errorf("list requests = %d", got)
	}
}

func TestGetByIDAndSlug(t *testing.T) {
	t.Parallel()
	e := setup(t, defaults())
	created := e.create("My App", spec("node:22"))
	if created["slug"] != "my-app" {
		t.Fatalf("slug = %v", created["slug"])
	}
	id := created["id"].(string)
	byID := e.req("GET", "/api/v1/sandbox-templates/"+id, nil).must(t, http.StatusOK).obj(t)
	bySlug := e.req("GET", "/api/v1/sandbox-templates/my-app", nil).must(t, http.StatusOK).obj(t)
	if diff := cmp.Diff(created, byID); diff != "" {
		t.Errorf("get by id differs from create (-create +get):\n%s", diff)
	}
	if diff := cmp.Diff(byID, bySlug); diff != "" {
		t.Errorf("get by slug differs (-id +slug):\n%s", diff)
	}
	for _, path := range []string{"nextjs", "next"} {
		got := e.req("GET", "/api/v1/sandbox-templates/"+path, nil).must(t, http.StatusOK).obj(t)
		if got["id"] != "nextjs" || got["built_in"] != true {
			t.Errorf("GET %s = %v", path, got["id"])
		}
	}
	r := e.req("GET", "/api/v1/sandbox-templates/nope", nil).must(t, http.StatusNotFound)
	if r.errCode(t) != "TEMPLATE_NOT_FOUND" {
		t.Errorf("code = %q", r.errCode(t))
	}
	if got := e.emu.Counters().Requests["get"]; got != 5 {
		t.Errorf("get requests = %d, want 5", got)
	}
}

func TestCreate(t *testing.T) {
	t.Parallel()
	for _, auto := range []bool{true, false} {
		t.Run(map[bool]string{true: "auto-build", false: "no auto-build"}[auto], func(t *testing.T) {
			t.Parallel()
			o := defaults()
			o.AutoBuild = auto
			e := setup(t, o)
			body := map[string]any{
				"name": "web", "description": "the web", "metadata": map[string]any{"team": "platform"},
				"build_spec": map[string]any{"from": "node:22", "vcpu": 4, "previewPort": 3000},
			}
			d := e.req("POST", "/api/v1/sandbox-templates", body).must(t, http.StatusCreated).data(t)
			if _, ok := d["metadata"]; ok {
				t.Errorf("create answer has metadata: %v", d["metadata"])
			}
			want := map[string]any{
				"name": "web", "slug": "web", "description": "the web", "status": "draft", "image_id": nil,
				"current_build_id": nil, "cpu_count": float64(4),
				"preview_port": float64(3000), "built_in": false, "workdir": "/workspace",
				// vcpu set: no default size, and no memoryMib or diskMib filled in.
				"build_spec": map[string]any{"from": "node:22", "vcpu": float64(4), "previewPort": float64(3000), "workdir": "/workspace", "user": "root",
					"steps": []any{}, "env": map[string]any{}, "startCmd": nil, "readyCmd": nil, "artifactPaths": []any{}},
			}
			for k, v := range want {
				if diff := cmp.Diff(v, d[k]); diff != "" {
					t.Errorf("%s (-want +got):\n%s", k, diff)
				}
			}
			builds := e.builds(d["id"].(string))
			wantBuilds := map[bool]int{true: 1, false: 0}[auto]
			if len(builds) != wantBuilds {
				t.Fatalf("builds = %d, want %d", len(builds), wantBuilds)
			}
			c := e.emu.Counters()
			if c.TemplatesCreated != 1 || c.BuildsCreated != wantBuilds || c.AutoBuilds != wantBuilds || c.Writes != 1 {
				t.Errorf("counters %+v", c)
			}
			if auto {
				b := builds[0]
				if b["source_type"] != "auto" || b["state"] != "queued" || b["sandbox_template_id"] != d["id"] {
					t.Errorf("auto build %v", b)
				}
				events := b["metadata"].(map[string]any)["events"].([]any)
				if len(events) != 1 || events[0].(map[string]any)["event"] != "queued" {
					t.Errorf("events %v", events)
				}
			}
		})
	}
}

func TestCreateRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"not json", "{", http.StatusBadRequest, "BAD_REQUEST"},
		{"no name", map[string]any{"build_spec": spec("x")}, http.StatusUnprocessableEntity, "VALIDATION_FAILED"},
		{"no spec", map[string]any{"name": "a"}, http.StatusUnprocessableEntity, "INVALID_BUILDSPEC"},
		{"bad spec", map[string]any{"name": "a", "build_spec": map[string]any{"from": 3, "bogus": true}}, http.StatusUnprocessableEntity, "INVALID_BUILDSPEC"},
		{"bad metadata", map[string]any{"name": "a", "build_spec": spec("x"), "metadata": "x"}, http.StatusUnprocessableEntity, "VALIDATION_FAILED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, defaults())
			r := e.req("POST", "/api/v1/sandbox-templates", tt.body).must(t, tt.status)
			if got := r.errCode(t); got != tt.code {
				t.Errorf("code = %q, want %q", got, tt.code)
			}
			c := e.emu.Counters()
			if c.TemplatesCreated != 0 || c.BuildsCreated != 0 || c.Writes != 0 {
				t.Errorf("rejected create changed state: %+v", c)
			}
		})
	}
	t.Run("errors list", func(t *testing.T) {
		t.Parallel()
		e := setup(t, defaults())
		r := e.req("POST", "/api/v1/sandbox-templates", map[string]any{"name": "a", "build_spec": map[string]any{"from": "x", "previewPort": 0, "bogus": 1}}).
			must(t, http.StatusUnprocessableEntity)
		var got struct {
			Errors []struct{ Code, Field, Message string } `json:"errors"`
		}
		if err := json.Unmarshal(r.body, &got); err != nil {
			t.Fatal(err)
		}
		var fields []string
		for _, fe := range got.Errors {
			fields = append(fields, fe.Code+" "+fe.Field)
			if fe.Message == "" {
				t.Errorf("no message for %s", fe.Field)
			}
		}
		// Miosa's form: codes in upper snake case, fields relative to build_spec.
		if diff := cmp.Diff([]string{"UNKNOWN_KEY bogus", "INVALID previewPort"}, fields); diff != "" {
			t.Errorf("errors (-want +got):\n%s", diff)
		}
	})
}

func TestUpsertInPlace(t *testing.T) {
	t.Parallel()
	t.Run("draft", func(t *testing.T) {
		t.Parallel()
		e := setup(t, defaults())
		first := e.create("web", spec("node:20"))
		second := e.create("web", spec("node:22"))
		if first["id"] != second["id"] {
			t.Errorf("upsert changed id: %v -> %v", first["id"], second["id"])
		}
		if got := second["build_spec"].(map[string]any)["from"]; got != "node:22" {
			t.Errorf("spec not replaced: from = %v", got)
		}
		c := e.emu.Counters()
		if c.TemplatesCreated != 1 || c.TemplatesUpserted != 1 || c.BuildsByTemplate["web"] != 2 {
			t.Errorf("counters %+v", c)
		}
		if diff := cmp.Diff([]string{"web"}, c.DuplicateBuilds()); diff != "" {
			t.Errorf("duplicates (-want +got):\n%s", diff)
		}
		if n := len(e.emu.State().Templates); n != 1 {
			t.Errorf("templates = %d", n)
		}
	})
	t.Run("failed", func(t *testing.T) {
		t.Parallel()
		e := setup(t, defaults())
		first := e.create("web", spec("node:20", "env", map[string]any{"EMULATOR_FAIL": "BUILD_STEP_FAILED"}))
		e.clock.Advance(time.Minute)
		id := first["id"].(string)
		got := e.req("GET", "/api/v1/sandbox-templates/"+id, nil).must(t, http.StatusOK).obj(t)
		if got["status"] != "failed" {
			t.Fatalf("status = %v, want failed", got["status"])
		}
		second := e.create("web", spec("node:22"))
		if second["id"] != id || second["status"] != "draft" {
			t.Errorf("upsert of failed: id %v status %v", second["id"], second["status"])
		}
		e.clock.Advance(time.Minute)
		got = e.req("GET", "/api/v1/sandbox-templates/"+id, nil).must(t, http.StatusOK).obj(t)
		builds := e.builds(id)
		if got["status"] != "ready" || got["current_build_id"] != builds[0]["id"] || len(builds) != 2 {
			t.Errorf("after rebuild: status %v current %v, %d builds", got["status"], got["current_build_id"], len(builds))
		}
	})
}

func TestCreateCollision(t *testing.T) {
	t.Parallel()
	e := setup(t, defaults())
	e.create("web", spec("node:22"))
	e.clock.Advance(time.Minute)
	r := e.req("POST", "/api/v1/sandbox-templates", map[string]any{"name": "web", "build_spec": spec("node:24")}).
		must(t, http.StatusUnprocessableEntity)
	var got struct {
		Error  struct{ Code string }
		Errors map[string][]string
	}
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"slug": {"a template with this name already exists"}}
	if got.Error.Code != "VALIDATION_FAILED" || !cmp.Equal(want, got.Errors) {
		t.Errorf("collision body %s", r.body)
	}
	c := e.emu.Counters()
	if c.TemplatesCreated != 1 || c.TemplatesUpserted != 0 || c.BuildsCreated != 1 {
		t.Errorf("counters %+v", c)
	}
}

func TestBuildProgression(t *testing.T) {
	t.Parallel()
	o := defaults()
	o.AutoBuild = false
	e := setup(t, o)
	id := e.create("web", spec("node:22"))["id"].(string)
	b := e.req("POST", "/api/v1/sandbox-templates/"+id+"/builds", map[string]any{}).must(t, http.StatusCreated).data(t)
	buildID := b["id"].(string)
	steps := []struct {
		after time.Duration
		state string
	}{
		{0, "queued"},
		{time.Second, "building"},
		{5 * time.Second, "certifying"},
		{2 * time.Second, "snapshotting"},
		{1999 * time.Millisecond, "snapshotting"},
		{time.Millisecond, "ready"},
		{time.Hour, "ready"},
	}
	for _, s := range steps {
		e.clock.Advance(s.after)
		got := e.req("GET", "/api/v1/sandbox-template-builds/"+buildID, nil).must(t, http.StatusOK).data(t)
		if got["state"] != s.state {
			t.Errorf("after +%v: state %v, want %s", s.after, got["state"], s.state)
		}
	}
	got := e.req("GET", "/api/v1/sandbox-template-builds/"+buildID, nil).must(t, http.StatusOK).data(t)
	tmpl := e.req("GET", "/api/v1/sandbox-templates/"+id, nil).must(t, http.StatusOK).obj(t)
	if tmpl["status"] != "ready" || tmpl["image_id"] == nil || tmpl["image_id"] != got["image_id"] || tmpl["current_build_id"] != buildID {
		t.Errorf("template after ready: %v %v %v", tmpl["status"], tmpl["image_id"], tmpl["current_build_id"])
	}
	if got["duration_ms"] != float64(9000) || got["started_at"] == nil || got["finished_at"] == nil || got["log_url"] != nil {
		t.Errorf("build timing: %v %v %v", got["duration_ms"], got["started_at"], got["finished_at"])
	}
	var events []string
	for _, ev := range got["metadata"].(map[string]any)["events"].([]any) {
		events = append(events, ev.(map[string]any)["event"].(string))
	}
	if diff := cmp.Diff([]string{"queued", "building", "certifying", "snapshotting", "ready"}, events); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if r := e.req("GET", "/api/v1/sandbox-template-builds/nope", nil).must(t, http.StatusNotFound); r.errCode(t) != "BUILD_NOT_FOUND" {
		t.Errorf("code %q", r.errCode(t))
	}
}

func TestBuildFailure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		opts     func(*emulator.Options)
		config   string
		spec     map[string]any
		metadata map[string]any
		code     string
	}{
		{name: "spec marker", spec: spec("node:22", "env", map[string]any{"EMULATOR_FAIL": "BUILD_STEP_FAILED"}), code: "BUILD_STEP_FAILED"},
		{name: "template metadata", spec: spec("node:22"), metadata: map[string]any{"EMULATOR_FAIL": "BUILDS_TEMPORARILY_UNAVAILABLE"}, code: "BUILDS_TEMPORARILY_UNAVAILABLE"},
		{name: "options outcome", spec: spec("node:22"), code: "OUT_OF_DISK", opts: func(o *emulator.Options) {
			o.Outcomes = map[string]emulator.Outcome{"web": {ErrorCode: "OUT_OF_DISK"}}
		}},
		{name: "config outcome", spec: spec("node:22"), code: "IMAGE_PULL_FAILED", config: `{"outcomes":{"web":{"error_code":"IMAGE_PULL_FAILED"}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := defaults()
			o.LogURLs = true
			if tt.opts != nil {
				tt.opts(&o)
			}
			e := setup(t, o)
			if tt.config != "" {
				e.config(tt.config)
			}
			body := map[string]any{"name": "web", "build_spec": tt.spec}
			if tt.metadata != nil {
				body["metadata"] = tt.metadata
			}
			id := e.req("POST", "/api/v1/sandbox-templates", body).must(t, http.StatusCreated).data(t)["id"].(string)
			e.clock.Advance(time.Minute)
			b := e.builds(id)[0]
			if b["state"] != "failed" || b["error_code"] != tt.code || b["error_message"] == nil || b["log_url"] == nil || b["image_id"] != nil {
				t.Errorf("build %v", b)
			}
			tmpl := e.req("GET", "/api/v1/sandbox-templates/"+id, nil).must(t, http.StatusOK).obj(t)
			wantStatus := "failed"
			if tt.code == "BUILDS_TEMPORARILY_UNAVAILABLE" {
				wantStatus = "draft"
			}
			if tmpl["status"] != wantStatus || tmpl["image_id"] != nil || tmpl["current_build_id"] != b["id"] {
				t.Errorf("template status %v image %v current %v, want %s, null, %v", tmpl["status"], tmpl["image_id"], tmpl["current_build_id"], wantStatus, b["id"])
			}
			res, err := e.client.Get(b["log_url"].(string))
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Errorf("log_url status %d", res.StatusCode)
			}
		})
	}
}

func TestSlowTemplate(t *testing.T) {
	t.Parallel()
	o := defaults()
	o.Outcomes = map[string]emulator.Outcome{"slow": {Duration: time.Hour}}
	e := setup(t, o)
	fast := e.create("fast", spec("node:22"))["id"].(string)
	slow := e.create("slow", spec("node:22"))["id"].(string)
	viaConfig := e.create("cfg", spec("node:22"))["id"].(string)
	e.config(`{"outcomes":{"slow":{"duration":"1h"},"cfg2":{"duration":3600}}}`)
	viaConfig2 := e.create("cfg2", spec("node:22"))["id"].(string)
	e.clock.Advance(time.Minute)
	for id, want := range map[string]string{fast: "ready", slow: "queued", viaConfig: "ready", viaConfig2: "queued"} {
		if got := e.builds(id)[0]["state"]; got != want {
			t.Errorf("%s: state %v, want %s", id, got, want)
		}
	}
}

func TestCreateBuild(t *testing.T) {
	t.Parallel()
	e := setup(t, defaults())
	id := e.create("web", spec("node:20"))["id"].(string)
	e.clock.Advance(time.Minute)

	newSpec := spec("node:22")
	b := e.req("POST", "/api/v1/sandbox-templates/"+id+"/builds",
		map[string]any{"build_spec": newSpec, "metadata": map[string]any{"commit": "abc", "events": "overwritten"}}).
		must(t, http.StatusCreated).data(t)
	if b["state"] != "queued" || b["source_type"] != "api" {
		t.Errorf("build %v", b)
	}
	md := b["metadata"].(map[string]any)
	if _, ok := md["commit"]; ok || len(md) != 1 {
		t.Errorf("client metadata kept by default: %v", md)
	}
	if _, ok := md["events"].([]any); !ok {
		t.Errorf("server events missing: %v", md)
	}
	if got := b["build_spec"].(map[string]any)["from"]; got != "node:22" {
		t.Errorf("build spec from = %v", got)
	}
	tmpl := e.req("GET", "/api/v1/sandbox-templates/"+id, nil).must(t, http.StatusOK).obj(t)
	if got := tmpl["build_spec"].(map[string]any)["from"]; got != "node:22" || tmpl["status"] != "ready" {
		t.Errorf("template build_spec.from = %v status %v", got, tmpl["status"])
	}
	// An empty body builds the template's current spec.
	b2 := e.req("POST", "/api/v1/sandbox-templates/"+id+"/builds", nil).must(t, http.StatusCreated).data(t)
	if got := b2["build_spec"].(map[string]any)["from"]; got != "node:22" {
		t.Errorf("empty-body build spec from = %v", got)
	}
	builds := e.builds(id)
	if len(builds) != 3 || builds[0]["id"] != b2["id"] || builds[2]["source_type"] != "auto" {
		t.Errorf("builds not newest first: %v", builds)
	}
	if r := e.req("POST", "/api/v1/sandbox-templates/"+id+"/builds", map[string]any{"build_spec": map[string]any{"vcpu": "x"}}).
		must(t, http.StatusUnprocessableEntity); r.errCode(t) != "INVALID_BUILDSPEC" {
		t.Errorf("code %q", r.errCode(t))
	}
	e.req("POST", "/api/v1/sandbox-templates/nextjs/builds", map[string]any{}).must(t, http.StatusForbidden)
	e.req("POST", "/api/v1/sandbox-templates/nope/builds", map[string]any{}).must(t, http.StatusNotFound)
	c := e.emu.Counters()
	if c.BuildsCreated != 3 || c.BuildsByTemplate["web"] != 3 || c.Requests["create_build"] != 5 {
		t.Errorf("counters %+v", c)
	}
}

func TestDelete(t *testing.T) {
	t.Parallel()
	e := setup(t, defaults())
	id := e.create("web", spec("node:22"))["id"].(string)
	e.clock.Advance(time.Minute) // the build is ready: nothing is in use
	r := e.req("DELETE", "/api/v1/sandbox-templates/"+id, nil).must(t, http.StatusNoContent)
	if len(r.body) != 0 {
		t.Errorf("204 body %q", r.body)
	}
	e.req("GET", "/api/v1/sandbox-templates/"+id, nil).must(t, http.StatusNotFound)
	e.req("DELETE", "/api/v1/sandbox-templates/nextjs", nil).must(t, http.StatusForbidden)
	if c := e.emu.Counters(); c.TemplatesDeleted != 1 || len(e.emu.State().Builds) != 0 {
		t.Errorf("deleted %d, builds left %d", c.TemplatesDeleted, len(e.emu.State().Builds))
	}
}

func TestRouting(t *testing.T) {
	t.Parallel()
	e := setup(t, defaults())
	tests := []struct {
		method, path string
		status       int
		endpoint     string
		allow        string
	}{
		{"PUT", "/api/v1/sandbox-templates", http.StatusMethodNotAllowed, "method_not_allowed", "GET, POST"},
		{"HEAD", "/api/v1/sandbox-templates", http.StatusMethodNotAllowed, "method_not_allowed", "GET, POST"},
		{"PATCH", "/api/v1/sandbox-templates/x", http.StatusMethodNotAllowed, "method_not_allowed", "GET, DELETE"},
		{"POST", "/api/v1/sandbox-templates/build-spec", http.StatusMethodNotAllowed, "method_not_allowed", "GET, DELETE"},
		{"PUT", "/api/v1/sandbox-templates/x/builds", http.StatusMethodNotAllowed, "method_not_allowed", "GET, POST"},
		{"POST", "/api/v1/sandbox-template-builds/x", http.StatusMethodNotAllowed, "method_not_allowed", "GET"},
		{"GET", "/api/v1/nothing", http.StatusNotFound, "unknown", ""},
		{"GET", "/elsewhere", http.StatusNotFound, "unknown", ""},
		{"GET", "/api/v1/sandbox-templates/", http.StatusNotFound, "unknown", ""},
		{"GET", "/api/v1/sandbox-templates//builds", http.StatusNotFound, "unknown", ""},
		{"GET", "/api/v1/sandbox-templates/x/builds/y", http.StatusNotFound, "unknown", ""},
		{"GET", "/api/v1/sandbox-templates/./x", http.StatusNotFound, "unknown", ""},
		{"GET", "/api/v1/sandbox-templates/build-spec", http.StatusOK, "schema", ""},
		{"POST", "/api/v1/sandbox-templates/validate", http.StatusBadRequest, "validate", ""},
		{"GET", "/api/v1/sandbox-templates/validate", http.StatusNotFound, "get", ""},
		{"GET", "/api/v1/sandbox-templates/a%2Fb", http.StatusNotFound, "get", ""},
		{"GET", "/api/v1/sandbox%2Dtemplates/a", http.StatusNotFound, "get", ""},
		{"DELETE", "/api/v1/sandbox-templates/build-spec", http.StatusNotFound, "delete", ""},
		{"GET", "/api/v1/sandbox-templates/a%2Fb/builds", http.StatusNotFound, "list_builds", ""},
		{"GET", "/api/v1/sandbox-template-builds/b", http.StatusNotFound, "get_build", ""},
	}
	want := map[string]int{}
	for _, tt := range tests {
		r := e.req(tt.method, tt.path, "{").must(t, tt.status)
		want[tt.endpoint]++
		if r.header.Get("X-Request-ID") == "" {
			t.Errorf("%s %s: no X-Request-ID", tt.method, tt.path)
		}
		if got := r.header.Get("Allow"); got != tt.allow {
			t.Errorf("%s %s: Allow %q, want %q", tt.method, tt.path, got, tt.allow)
		}
		log := e.emu.Requests()
		if got := log[len(log)-1].Endpoint; got != tt.endpoint {
			t.Errorf("%s %s: endpoint %q, want %q", tt.method, tt.path, got, tt.endpoint)
		}
	}
	if diff := cmp.Diff(want, e.emu.Counters().Requests); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestRequestIDs(t *testing.T) {
	t.Parallel()
	e := setup(t, defaults())
	seen := map[string]bool{}
	for range 3 {
		r := e.req("GET", "/api/v1/sandbox-templates/missing", nil).must(t, http.StatusNotFound)
		id := r.header.Get("X-Request-ID")
		if id == "" || seen[id] {
			t.Fatalf("request id %q (seen %v)", id, seen)
		}
		seen[id] = true
		if got := r.obj(t)["error"].(map[string]any)["request_id"]; got != id {
			t.Errorf("error.request_id %v, header %s", got, id)
		}
	}
}

func TestRequestLog(t *testing.T) {
	t.Parallel()
	o := defaults()
	o.RequestLogSize = 3
	e := setup(t, o)
	for i := range 5 {
		e.req("POST", "/api/v1/sandbox-templates/validate", map[string]any{"build_spec": spec("img", "env", map[string]any{"N": string(rune('a' + i))})},
			"Idempotency-Key", "k")
	}
	res, err := e.client.Get(e.srv.URL + "/__emulator/requests")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var log []emulator.RequestRecord
	if err := json.NewDecoder(res.Body).Decode(&log); err != nil {
		t.Fatal(err)
	}
	if len(log) != 3 || log[0].Seq != 3 || !strings.Contains(log[2].Body, `"N":"e"`) || log[2].Status != 200 || log[2].Endpoint != "validate" {
		t.Errorf("log %+v", log)
	}
	raw, _ := json.Marshal(log)
	if strings.Contains(string(raw), testKey) {
		t.Errorf("request log holds the API key")
	}
}

func TestInspection(t *testing.T) {
	t.Parallel()
	e := setup(t, defaults())
	e.create("web", spec("node:22"))
	get := func(path string, v any) {
		t.Helper()
		res, err := e.client.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if err := json.NewDecoder(res.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	var c emulator.Counters
	get("/__emulator/counters", &c)
	if c.TemplatesCreated != 1 || c.BuildsByTemplate["web"] != 1 || c.Requests["create"] != 1 {
		t.Errorf("counters %+v", c)
	}
	var st emulator.State
	get("/__emulator/state", &st)
	if len(st.Templates) != 1 || len(st.Builds) != 1 || st.Builds[0].TemplateName != "web" {
		t.Errorf("state %+v", st)
	}
	e.config(`{"auto_build":false,"build_duration":"3s","faults":{"rules":[{"endpoint":"get","kind":"status","statuses":[502]}]}}`)
	var cfg emulator.Config
	get("/__emulator/config", &cfg)
	if *cfg.AutoBuild || *cfg.BuildDuration != emulator.Duration(3*time.Second) || len(cfg.Faults.Rules) != 1 {
		t.Errorf("config %+v", cfg)
	}
	res, err := e.client.Post(e.srv.URL+"/__emulator/reset", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	c, st, cfg = emulator.Counters{}, emulator.State{}, emulator.Config{}
	get("/__emulator/counters", &c)
	get("/__emulator/state", &st)
	get("/__emulator/config", &cfg)
	if c.TemplatesCreated != 0 || len(c.Requests) != 0 || len(st.Templates) != 0 || !*cfg.AutoBuild {
		t.Errorf("after reset: counters %+v state %+v auto %v", c, st, *cfg.AutoBuild)
	}
}

// TestShapes pins the JSON of a template and its builds (golden file).
func TestShapes(t *testing.T) {
	t.Parallel()
	e := setup(t, defaults())
	created := e.req("POST", "/api/v1/sandbox-templates", map[string]any{
		"name": "node-22-base", "description": "Node 22", "metadata": map[string]any{"team": "platform"},
		"build_spec": map[string]any{"from": "node:22-bookworm", "size": "medium", "steps": []any{map[string]any{"run": "npm i -g pnpm"}}, "env": map[string]any{"CI": "1"}},
	}).must(t, http.StatusCreated).obj(t)
	id := created["data"].(map[string]any)["id"].(string)
	inUse := e.req("DELETE", "/api/v1/sandbox-templates/"+id, nil).must(t, http.StatusConflict).obj(t)
	e.clock.Advance(time.Minute)
	got := map[string]any{
		"create":        created,
		"delete_in_use": inUse,
		"get":           e.req("GET", "/api/v1/sandbox-templates/"+id, nil).must(t, http.StatusOK).obj(t),
		"list_builds":   e.req("GET", "/api/v1/sandbox-templates/"+id+"/builds", nil).must(t, http.StatusOK).obj(t),
		"list_rows":     pickRows(e.req("GET", "/api/v1/sandbox-templates?page_size=100", nil).must(t, http.StatusOK).list(t), "nextjs", id),
		"validate":      e.req("POST", "/api/v1/sandbox-templates/validate", map[string]any{"build_spec": map[string]any{"runtime": "node", "version": "20", "packages": []any{"curl"}}}).must(t, http.StatusOK).obj(t),
		// The API page's normalized example: from + size small + one step.
		"validate_typed": e.req("POST", "/api/v1/sandbox-templates/validate", map[string]any{"build_spec": map[string]any{"from": "node:22", "size": "small", "steps": []any{map[string]any{"run": "npm ci"}}}}).must(t, http.StatusOK).obj(t),
	}
	data, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	data = []byte(strings.ReplaceAll(string(data), e.srv.URL, "http://EMULATOR"))
	goldenfile.Check(t, filepath.Join("testdata", "shapes.golden.json"), string(data)+"\n")
}

// pickRows returns the list rows with the given ids, in that order.
func pickRows(rows []map[string]any, ids ...string) []map[string]any {
	var out []map[string]any
	for _, id := range ids {
		for _, r := range rows {
			if r["id"] == id {
				out = append(out, r)
			}
		}
	}
	return out
}
