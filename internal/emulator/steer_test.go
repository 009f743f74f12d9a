package emulator_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
)

// steer sends a request to a steering endpoint, without a key.
func (e *env) steer(method, path string, body any) resp {
	e.t.Helper()
	return e.req(method, "/__emulator/"+path, body, "Authorization", "")
}

// counted reports the counters that steering must leave alone.
func counted(c emulator.Counters) []int {
	return []int{c.Writes, c.TemplatesCreated, c.TemplatesUpserted, c.TemplatesDeleted, c.BuildsCreated, c.AutoBuilds, len(c.BuildsByTemplate)}
}

// TestSeedTemplate: POST /__emulator/templates makes a template with its
// own name and slug and a ready build, which the API then shows like any
// other; nothing is counted.
func TestSeedTemplate(t *testing.T) {
	t.Parallel()
	e := setup(t, defaults())
	st := e.steer("POST", "templates", map[string]any{"name": "api", "slug": "api-playground",
		"build_spec": map[string]any{"from": "node:22", "steps": []any{map[string]any{"run": "npm ci"}}}}).must(t, http.StatusCreated).obj(t)
	id := st["id"].(string)
	if st["name"] != "api" || st["slug"] != "api-playground" || st["status"] != "ready" || st["current_build_id"] == "" {
		t.Errorf("seeded %v", st)
	}
	got := e.req("GET", "/api/v1/sandbox-templates/api-playground", nil).must(t, http.StatusOK).obj(t)
	builds := e.builds(id)
	if got["id"] != id || got["status"] != "ready" || got["image_id"] == nil || len(builds) != 1 ||
		got["current_build_id"] != builds[0]["id"] || builds[0]["state"] != "ready" || builds[0]["image_id"] != got["image_id"] {
		t.Errorf("get %v, builds %v", got, builds)
	}
	if diff := cmp.Diff(normalized("from", "node:22", "steps", []any{map[string]any{"run": "npm ci"}}), got["build_spec"]); diff != "" {
		t.Errorf("build_spec is not normalized (-want +got):\n%s", diff)
	}
	// The name is not a slug of it: GET by name finds nothing, and a create
	// of that name makes another template (slug api): identity is the slug.
	e.req("GET", "/api/v1/sandbox-templates/api", nil).must(t, http.StatusNotFound)
	if diff := cmp.Diff(make([]int, 7), counted(e.emu.Counters())); diff != "" {
		t.Errorf("steering was counted (-want +got):\n%s", diff)
	}
	r := e.req("POST", "/api/v1/sandbox-templates", map[string]any{"name": "api", "build_spec": spec("node:22")}).must(t, http.StatusCreated)
	if body := string(r.body); strings.Contains(body, `"id":"`+id+`"`) || !strings.Contains(body, `"slug":"api"`) {
		t.Errorf("create of a seeded template's display name: %s", r.body)
	}
	r = e.req("POST", "/api/v1/sandbox-templates", map[string]any{"name": "api-playground", "build_spec": spec("node:22")}).must(t, http.StatusUnprocessableEntity)
	if r.errCode(t) != "VALIDATION_FAILED" {
		t.Errorf("create of a seeded ready slug: %s", r.body)
	}
	// In process, with Go values.
	ts, err := e.emu.SeedTemplate(emulator.TemplateSeed{Name: "worker", BuildSpec: map[string]any{"from": "python:3.12", "vcpu": 4}})
	if err != nil || ts.Slug != "worker" || ts.Status != "ready" || ts.BuildSpec["vcpu"] != int64(4) {
		t.Errorf("SeedTemplate = %+v, %v", ts, err)
	}
}

func TestSeedTemplateRefusals(t *testing.T) {
	t.Parallel()
	valid := map[string]any{"from": "node:22"}
	tests := []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"no name", map[string]any{"build_spec": valid}, http.StatusBadRequest, "BAD_REQUEST"},
		{"no spec", map[string]any{"name": "x"}, http.StatusBadRequest, "BAD_REQUEST"},
		{"a slug without letters", map[string]any{"name": "x", "slug": "--", "build_spec": valid}, http.StatusBadRequest, "BAD_REQUEST"},
		{"an unknown member", map[string]any{"name": "x", "build_spec": valid, "state": "ready"}, http.StatusBadRequest, "BAD_REQUEST"},
		{"not JSON", "{", http.StatusBadRequest, "BAD_REQUEST"},
		{"an invalid spec", map[string]any{"name": "x", "build_spec": map[string]any{"form": "node"}}, http.StatusUnprocessableEntity, "INVALID_BUILDSPEC"},
		{"the slug of another", map[string]any{"name": "other", "slug": "api-playground", "build_spec": valid}, http.StatusConflict, "TEMPLATE_EXISTS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, defaults())
			if _, err := e.emu.SeedTemplate(emulator.TemplateSeed{Name: "api", Slug: "api-playground", BuildSpec: valid}); err != nil {
				t.Fatal(err)
			}
			r := e.steer("POST", "templates", tt.body).must(t, tt.status)
			if r.errCode(t) != tt.code {
				t.Errorf("code %q, want %q: %s", r.errCode(t), tt.code, r.body)
			}
			if tt.code == "INVALID_BUILDSPEC" && !strings.Contains(string(r.body), `"field":"form"`) {
				t.Errorf("no field errors: %s", r.body)
			}
			if n := len(e.emu.State().Templates); n != 1 {
				t.Errorf("%d templates after a refusal", n)
			}
		})
	}
}

// TestSeedBuild: POST /__emulator/templates/{id}/builds adds a build made
// outside the tool, in the given state and with the given spec, and the
// template follows as it follows a build of the API.
func TestSeedBuild(t *testing.T) {
	t.Parallel()
	drift := map[string]any{"from": "node:24", "steps": []any{map[string]any{"run": "npm ci"}, map[string]any{"run": "npm run build"}}}
	tests := []struct {
		name       string
		body       map[string]any
		state      string // the build's state at once
		status     string // the template's status at once
		errorCode  string
		errorMsg   string
		current    bool   // current_build_id names the new build at once
		later      string // the build's state a minute later
		laterTmpl  string // the template's status a minute later
		driftsSpec bool
	}{
		{name: "ready with another spec", body: map[string]any{"build_spec": drift}, state: "ready", status: "ready", current: true,
			later: "ready", laterTmpl: "ready", driftsSpec: true},
		{name: "failed", body: map[string]any{"build_spec": drift, "state": "failed"}, state: "failed", status: "failed", current: true,
			errorCode: "BUILD_STEP_FAILED", errorMsg: "step 2 `npm run build` exited 1: ENOENT package-lock.json",
			later: "failed", laterTmpl: "failed", driftsSpec: true},
		{name: "failed with a code", body: map[string]any{"state": "failed", "error_code": "REGISTRY_TIMEOUT"}, state: "failed", status: "failed",
			current: true, errorCode: "REGISTRY_TIMEOUT", errorMsg: "build failed with REGISTRY_TIMEOUT (emulated failure)", later: "failed", laterTmpl: "failed"},
		{name: "building, then ready", body: map[string]any{"build_spec": drift, "state": "building"}, state: "building", status: "ready",
			later: "ready", laterTmpl: "ready", driftsSpec: true},
		{name: "queued, failing later", body: map[string]any{"state": "queued", "error_code": "BUILD_STEP_FAILED"}, state: "queued", status: "ready",
			later: "failed", laterTmpl: "failed"},
		{name: "building for an hour", body: map[string]any{"state": "certifying", "duration": "1h"}, state: "certifying", status: "ready",
			later: "certifying", laterTmpl: "ready"},
		{name: "cancelled", body: map[string]any{"state": "cancelled"}, state: "cancelled", status: "ready", later: "cancelled", laterTmpl: "ready"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, defaults())
			seeded, err := e.emu.SeedTemplate(emulator.TemplateSeed{Name: "web", BuildSpec: spec("node:22")})
			if err != nil {
				t.Fatal(err)
			}
			before := e.emu.Counters()
			b := e.steer("POST", "templates/web/builds", tt.body).must(t, http.StatusCreated).obj(t)
			if b["state"] != tt.state || b["template_id"] != seeded.ID || b["source_type"] != "api" || b["error_code"] != tt.errorCode {
				t.Errorf("seeded build %v", b)
			}
			tmpl := e.req("GET", "/api/v1/sandbox-templates/"+seeded.ID, nil).must(t, http.StatusOK).obj(t)
			builds := e.builds(seeded.ID)
			if len(builds) != 2 || builds[0]["id"] != b["id"] || builds[0]["state"] != tt.state || tmpl["status"] != tt.status ||
				(tmpl["current_build_id"] == b["id"]) != tt.current {
				t.Errorf("template %v current %v, builds %v", tmpl["status"], tmpl["current_build_id"], builds)
			}
			if tt.errorMsg != "" && builds[0]["error_message"] != tt.errorMsg {
				t.Errorf("error_message %v, want %q", builds[0]["error_message"], tt.errorMsg)
			}
			wantFrom := map[bool]string{true: "node:24", false: "node:22"}[tt.driftsSpec]
			if tmpl["build_spec"].(map[string]any)["from"] != wantFrom || builds[0]["build_spec"].(map[string]any)["from"] != wantFrom {
				t.Errorf("from: template %v, build %v, want %s", tmpl["build_spec"], builds[0]["build_spec"], wantFrom)
			}
			e.clock.Advance(time.Minute)
			tmpl = e.req("GET", "/api/v1/sandbox-templates/"+seeded.ID, nil).must(t, http.StatusOK).obj(t)
			if got := e.builds(seeded.ID)[0]["state"]; got != tt.later || tmpl["status"] != tt.laterTmpl {
				t.Errorf("a minute later: build %v, template %v; want %s, %s", got, tmpl["status"], tt.later, tt.laterTmpl)
			}
			if diff := cmp.Diff(counted(before), counted(e.emu.Counters())); diff != "" {
				t.Errorf("steering was counted (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSeedBuildRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		template string
		body     any
		status   int
		code     string
	}{
		{"an unknown template", "nope", map[string]any{}, http.StatusNotFound, "TEMPLATE_NOT_FOUND"},
		{"a built-in", "nextjs", map[string]any{}, http.StatusForbidden, "FORBIDDEN"},
		{"an unknown state", "web", map[string]any{"state": "teleporting"}, http.StatusBadRequest, "BAD_REQUEST"},
		{"an error code on a ready build", "web", map[string]any{"state": "ready", "error_code": "X"}, http.StatusBadRequest, "BAD_REQUEST"},
		{"an invalid spec", "web", map[string]any{"build_spec": map[string]any{"from": 1}}, http.StatusUnprocessableEntity, "INVALID_BUILDSPEC"},
		{"a bad duration", "web", map[string]any{"duration": "soon"}, http.StatusBadRequest, "BAD_REQUEST"},
		{"a negative duration", "web", map[string]any{"state": "building", "duration": "-1s"}, http.StatusBadRequest, "BAD_REQUEST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, defaults())
			if _, err := e.emu.SeedTemplate(emulator.TemplateSeed{Name: "web", BuildSpec: spec("node:22")}); err != nil {
				t.Fatal(err)
			}
			r := e.steer("POST", "templates/"+tt.template+"/builds", tt.body).must(t, tt.status)
			if r.errCode(t) != tt.code {
				t.Errorf("code %q, want %q: %s", r.errCode(t), tt.code, r.body)
			}
			st := e.emu.State()
			if len(st.Builds) != 1 || st.Templates[0].BuildSpec["from"] != "node:22" {
				t.Errorf("a refusal changed the state: %+v", st)
			}
		})
	}
	e := setup(t, defaults())
	_, err := e.emu.SeedBuild("nope", emulator.BuildSeed{})
	var se *emulator.SteeringError
	if !errors.As(err, &se) || se.Status != http.StatusNotFound || se.Code != "TEMPLATE_NOT_FOUND" {
		t.Errorf("SeedBuild of an unknown template: %v", err)
	}
}

// TestTemplateInUse: DELETE answers 409 TEMPLATE_IN_USE, with counts,
// while the template has a build that is not terminal, and deletes nothing.
func TestTemplateInUse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		opts   func(*emulator.Options)
		setup  func(e *env, id string)
		builds int // non-terminal builds; 0 means the delete succeeds
	}{
		{name: "the build a create queued", builds: 1},
		{name: "two builds in progress", setup: func(e *env, id string) {
			e.clock.Advance(2 * time.Second)
			e.req("POST", "/api/v1/sandbox-templates/"+id+"/builds", map[string]any{}).must(e.t, http.StatusCreated)
		}, builds: 2},
		{name: "a queued build list_builds does not show yet", opts: func(o *emulator.Options) { o.AutoBuildLag = time.Hour }, builds: 1},
		{name: "a build made outside the tool", setup: func(e *env, id string) {
			e.clock.Advance(time.Minute)
			e.steer("POST", "templates/"+id+"/builds", map[string]any{"state": "snapshotting"}).must(e.t, http.StatusCreated)
		}, builds: 1},
		{name: "a ready build", setup: func(e *env, _ string) { e.clock.Advance(time.Minute) }},
		{name: "a failed build", opts: func(o *emulator.Options) { o.Outcomes = map[string]emulator.Outcome{"web": {ErrorCode: "X"}} },
			setup: func(e *env, _ string) { e.clock.Advance(time.Minute) }},
		{name: "a build that failed at once", opts: func(o *emulator.Options) {
			o.Outcomes = map[string]emulator.Outcome{"web": {ErrorCode: "BUILDS_TEMPORARILY_UNAVAILABLE"}}
		}},
		{name: "no build", opts: func(o *emulator.Options) { o.AutoBuild = false }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := defaults()
			if tt.opts != nil {
				tt.opts(&o)
			}
			e := setup(t, o)
			id := e.create("web", spec("node:22"))["id"].(string)
			if tt.setup != nil {
				tt.setup(e, id)
			}
			before := e.emu.Counters()
			if tt.builds == 0 {
				e.req("DELETE", "/api/v1/sandbox-templates/"+id, nil).must(t, http.StatusNoContent)
				if c := e.emu.Counters(); c.TemplatesDeleted != 1 || c.Writes != before.Writes+1 {
					t.Errorf("counters %+v", c)
				}
				return
			}
			r := e.req("DELETE", "/api/v1/sandbox-templates/"+id, nil).must(t, http.StatusConflict)
			var got struct {
				Error struct {
					Code    string
					Message string
					Details map[string]int
				}
			}
			if err := json.Unmarshal(r.body, &got); err != nil {
				t.Fatal(err)
			}
			want := map[string]int{"sandboxes": 0, "builds": tt.builds}
			if got.Error.Code != "TEMPLATE_IN_USE" || !cmp.Equal(want, got.Error.Details) || !strings.Contains(got.Error.Message, "in use") {
				t.Errorf("409 body %s, want details %v", r.body, want)
			}
			e.req("GET", "/api/v1/sandbox-templates/"+id, nil).must(t, http.StatusOK)
			if c := e.emu.Counters(); c.TemplatesDeleted != 0 || c.Writes != before.Writes {
				t.Errorf("a refused delete was counted: %+v", c)
			}
		})
	}
}

// TestDeletedTemplateIsGone: after a DELETE (of the API, or by steering
// while a build runs) the template and its builds are gone everywhere, and
// a create repeated with the same Idempotency-Key replays the first answer
// (the deleted template's id), while a new key creates a new template.
func TestDeletedTemplateIsGone(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"api", "steering", "go"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			e := setup(t, defaults())
			body := map[string]any{"name": "web", "build_spec": spec("node:22")}
			first := e.req("POST", "/api/v1/sandbox-templates", body, "Idempotency-Key", "k1").must(t, http.StatusCreated)
			id := first.data(t)["id"].(string)
			buildID := e.builds(id)[0]["id"].(string)
			switch how {
			case "api":
				e.clock.Advance(time.Minute)
				e.req("DELETE", "/api/v1/sandbox-templates/"+id, nil).must(t, http.StatusNoContent)
			case "steering": // the build is still queued: steering deletes anyway
				e.steer("DELETE", "templates/"+id, nil).must(t, http.StatusNoContent)
			case "go":
				if err := e.emu.DeleteTemplate("web"); err != nil {
					t.Fatal(err)
				}
			}
			for _, path := range []string{"sandbox-templates/" + id, "sandbox-templates/web", "sandbox-templates/" + id + "/builds"} {
				if r := e.req("GET", "/api/v1/"+path, nil).must(t, http.StatusNotFound); r.errCode(t) != "TEMPLATE_NOT_FOUND" {
					t.Errorf("GET %s: %s", path, r.body)
				}
			}
			e.req("POST", "/api/v1/sandbox-templates/"+id+"/builds", map[string]any{}).must(t, http.StatusNotFound)
			e.req("GET", "/api/v1/sandbox-template-builds/"+buildID, nil).must(t, http.StatusNotFound)
			for _, row := range e.req("GET", "/api/v1/sandbox-templates?page_size=100", nil).must(t, http.StatusOK).list(t) {
				if row["id"] == id {
					t.Errorf("the list still has %s", id)
				}
			}
			if st := e.emu.State(); len(st.Templates) != 0 || len(st.Builds) != 0 {
				t.Errorf("state %+v", st)
			}
			replay := e.req("POST", "/api/v1/sandbox-templates", body, "Idempotency-Key", "k1").must(t, http.StatusCreated)
			if replay.header.Get("Idempotent-Replayed") != "true" || string(replay.body) != string(first.body) {
				t.Errorf("same key: replayed %q, body %s", replay.header.Get("Idempotent-Replayed"), replay.body)
			}
			if n := len(e.emu.State().Templates); n != 0 {
				t.Errorf("a replay made %d templates", n)
			}
			fresh := e.req("POST", "/api/v1/sandbox-templates", body, "Idempotency-Key", "k2").must(t, http.StatusCreated).data(t)
			if fresh["id"] == id {
				t.Errorf("a new key got the deleted id %s", id)
			}
			wantDeleted := map[string]int{"api": 1, "steering": 0, "go": 0}[how]
			if c := e.emu.Counters(); c.TemplatesDeleted != wantDeleted || c.TemplatesCreated != 2 || c.Replays != 1 {
				t.Errorf("counters %+v", c)
			}
		})
	}
}

func TestSteeringDeleteRefusals(t *testing.T) {
	t.Parallel()
	e := setup(t, defaults())
	for path, want := range map[string]int{
		"templates/nope":   http.StatusNotFound,
		"templates/nextjs": http.StatusForbidden,
		"templates/":       http.StatusNotFound,
		"templates/a/b":    http.StatusNotFound,
	} {
		e.steer("DELETE", path, nil).must(t, want)
	}
	e.steer("GET", "templates", nil).must(t, http.StatusNotFound)
	var se *emulator.SteeringError
	if err := e.emu.DeleteTemplate("nextjs"); !errors.As(err, &se) || se.Code != "FORBIDDEN" {
		t.Errorf("DeleteTemplate of a built-in: %v", err)
	}
}
