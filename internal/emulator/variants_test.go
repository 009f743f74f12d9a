package emulator_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
)

func TestVariants(t *testing.T) {
	t.Parallel()
	invalid := map[string]any{"build_spec": map[string]any{"steps": "nope"}}
	tests := []struct {
		name    string
		variant emulator.Variant
		method  string
		path    string // "{id}" and "{build}" are replaced
		body    any
		status  int
		check   func(t *testing.T, v any)
	}{
		{"list paged", emulator.Variant{}, "GET", "/sandbox-templates", nil, 200, func(t *testing.T, v any) {
			equal(t, len(isArray(t, member(t, v, "data"))), 20)
			equal(t, member(t, v, "page"), map[string]any{"page": 1, "page_size": 20, "total": 24})
		}},
		{"list bare", emulator.Variant{List: "bare"}, "GET", "/sandbox-templates", nil, 200, func(t *testing.T, v any) {
			equal(t, len(isArray(t, v)), 24)
		}},
		{"list templates", emulator.Variant{List: "templates"}, "GET", "/sandbox-templates", nil, 200, func(t *testing.T, v any) {
			equal(t, len(isArray(t, member(t, v, "templates"))), 24)
		}},
		{"list data", emulator.Variant{List: "data"}, "GET", "/sandbox-templates", nil, 200, func(t *testing.T, v any) {
			isArray(t, member(t, v, "data"))
		}},
		{"list default", emulator.Variant{List: "default"}, "GET", "/sandbox-templates", nil, 200, func(t *testing.T, v any) {
			isArray(t, member(t, v, "data"))
			equal(t, member(t, v, "default_template_id"), "base")
		}},
		{"aliases array", emulator.Variant{List: "bare"}, "GET", "/sandbox-templates?include_aliases=true", nil, 200, func(t *testing.T, v any) {
			rows := isArray(t, v)
			equal(t, len(rows), 22+2)
			equal(t, member(t, rows[1], "aliases"), []any{"next"})
			equal(t, member(t, rows[22], "aliases"), []any{})
		}},
		{"aliases rows", emulator.Variant{List: "bare", Aliases: "rows"}, "GET", "/sandbox-templates?include_aliases=true", nil, 200, func(t *testing.T, v any) {
			rows := isArray(t, v)
			equal(t, len(rows), 22+2+10)
			equal(t, member(t, rows[1], "id"), "default")
			equal(t, member(t, rows[1], "alias_of"), "base")
		}},
		{"get bare", emulator.Variant{}, "GET", "/sandbox-templates/{id}", nil, 200, func(t *testing.T, v any) {
			equal(t, member(t, v, "name"), "web")
		}},
		{"get data", emulator.Variant{Get: "data"}, "GET", "/sandbox-templates/{id}", nil, 200, func(t *testing.T, v any) {
			equal(t, member(t, member(t, v, "data"), "name"), "web")
		}},
		{"schema bare", emulator.Variant{}, "GET", "/sandbox-templates/build-spec", nil, 200, func(t *testing.T, v any) {
			equal(t, member(t, v, "type"), "object")
		}},
		{"schema data", emulator.Variant{Schema: "data"}, "GET", "/sandbox-templates/build-spec", nil, 200, func(t *testing.T, v any) {
			equal(t, member(t, member(t, v, "data"), "type"), "object")
		}},
		{"validate valid", emulator.Variant{}, "POST", "/sandbox-templates/validate", map[string]any{"build_spec": map[string]any{"from": "x"}}, 200, func(t *testing.T, v any) {
			equal(t, member(t, v, "valid"), true)
			equal(t, member(t, v, "build_spec"), map[string]any{"from": "x", "size": "small", "vcpu": float64(2), "memoryMib": float64(4096),
				"diskMib": float64(10240), "steps": []any{}, "env": map[string]any{}, "workdir": "/workspace", "user": "root",
				"startCmd": nil, "readyCmd": nil, "previewPort": nil, "artifactPaths": []any{}})
		}},
		{"validate valid data", emulator.Variant{ValidateData: true}, "POST", "/sandbox-templates/validate", map[string]any{"build_spec": map[string]any{"from": "x"}}, 200, func(t *testing.T, v any) {
			equal(t, member(t, member(t, v, "data"), "valid"), true)
		}},
		{"validate invalid 200", emulator.Variant{}, "POST", "/sandbox-templates/validate", invalid, 200, func(t *testing.T, v any) {
			equal(t, member(t, v, "valid"), false)
			errs := isArray(t, member(t, v, "errors"))
			equal(t, errs[0], map[string]any{"code": "REQUIRED", "field": "from", "message": "is required"})
			equal(t, member(t, errs[1], "code"), "INVALID")
			equal(t, member(t, errs[1], "field"), "steps")
			if msg, _ := member(t, errs[1], "message").(string); msg == "" {
				t.Errorf("empty message")
			}
		}},
		{"validate invalid 422", emulator.Variant{Validate: "422"}, "POST", "/sandbox-templates/validate", invalid, 422, func(t *testing.T, v any) {
			equal(t, member(t, member(t, v, "error"), "code"), "INVALID_BUILDSPEC")
			equal(t, len(isArray(t, member(t, v, "errors"))), 2)
		}},
		{"validate invalid strings", emulator.Variant{Validate: "strings"}, "POST", "/sandbox-templates/validate", invalid, 200, func(t *testing.T, v any) {
			errs := isArray(t, member(t, v, "errors"))
			if s, _ := errs[1].(string); !strings.HasPrefix(s, "steps: must be a list") {
				t.Errorf("errors[1] = %v", errs[1])
			}
		}},
		{"list builds paged", emulator.Variant{}, "GET", "/sandbox-templates/{id}/builds", nil, 200, func(t *testing.T, v any) {
			equal(t, len(isArray(t, member(t, v, "data"))), 1)
			equal(t, member(t, v, "page"), map[string]any{"page": 1, "page_size": 20, "total": 1})
		}},
		{"list builds data", emulator.Variant{ListBuilds: "data"}, "GET", "/sandbox-templates/{id}/builds", nil, 200, func(t *testing.T, v any) {
			equal(t, v, map[string]any{"data": member(t, v, "data")})
		}},
		{"list builds bare", emulator.Variant{ListBuilds: "bare"}, "GET", "/sandbox-templates/{id}/builds", nil, 200, func(t *testing.T, v any) {
			equal(t, len(isArray(t, v)), 1)
		}},
		{"legacy states", emulator.Variant{States: "legacy"}, "GET", "/sandbox-template-builds/{build}", nil, 200, func(t *testing.T, v any) {
			equal(t, member(t, member(t, v, "data"), "state"), "success")
		}},
		{"legacy complete", emulator.Variant{States: "legacy-complete"}, "GET", "/sandbox-template-builds/{build}", nil, 200, func(t *testing.T, v any) {
			equal(t, member(t, member(t, v, "data"), "state"), "complete")
		}},
		{"legacy failed", emulator.Variant{States: "legacy"}, "GET", "/sandbox-template-builds/{failed}", nil, 200, func(t *testing.T, v any) {
			equal(t, member(t, member(t, v, "data"), "state"), "error")
		}},
		{"legacy pending", emulator.Variant{States: "legacy"}, "POST", "/sandbox-templates/{id}/builds", map[string]any{}, 201, func(t *testing.T, v any) {
			equal(t, member(t, member(t, v, "data"), "state"), "pending")
		}},
		{"errors structured", emulator.Variant{}, "GET", "/sandbox-templates/missing", nil, 404, func(t *testing.T, v any) {
			equal(t, member(t, member(t, v, "error"), "code"), "TEMPLATE_NOT_FOUND")
		}},
		{"errors flat", emulator.Variant{Errors: "flat"}, "GET", "/sandbox-templates/missing", nil, 404, func(t *testing.T, v any) {
			equal(t, v, map[string]any{"error": "template not found"})
		}},
		{"errors message", emulator.Variant{Errors: "message"}, "GET", "/sandbox-templates/missing", nil, 404, func(t *testing.T, v any) {
			equal(t, v, map[string]any{"message": "template not found"})
		}},
		{"errors detail", emulator.Variant{Errors: "detail"}, "GET", "/sandbox-templates/missing", nil, 404, func(t *testing.T, v any) {
			equal(t, v, map[string]any{"detail": "template not found"})
		}},
		{"errors strings", emulator.Variant{Errors: "strings"}, "GET", "/sandbox-templates/missing", nil, 404, func(t *testing.T, v any) {
			equal(t, v, map[string]any{"errors": []any{"template not found"}})
		}},
		{"errors flat keeps field errors", emulator.Variant{Errors: "flat"}, "POST", "/sandbox-templates", map[string]any{"name": "web", "build_spec": map[string]any{"from": "y"}}, 422, func(t *testing.T, v any) {
			equal(t, v, map[string]any{"error": "validation failed", "errors": map[string]any{"slug": []any{"a template with this name already exists"}}})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := defaults()
			o.Variant = tt.variant
			e := setup(t, o)
			id := e.create("web", spec("node:22"))["id"].(string)
			e.create("bad", spec("node:22", "env", map[string]any{"EMULATOR_FAIL": "X"}))
			e.clock.Advance(time.Minute)
			buildID := e.emu.State().Builds[0].ID
			failedBuild := e.emu.State().Builds[1].ID
			path := strings.NewReplacer("{id}", id, "{build}", buildID, "{failed}", failedBuild).Replace(tt.path)
			r := e.req(tt.method, "/api/v1"+path, tt.body).must(t, tt.status)
			var v any
			if err := json.Unmarshal(r.body, &v); err != nil {
				t.Fatalf("not JSON: %v: %s", err, r.body)
			}
			tt.check(t, v)
		})
	}
}

func TestConfigVariant(t *testing.T) {
	t.Parallel()
	e := setup(t, defaults())
	e.config(`{"variant":{"list":"data","errors":"detail"}}`)
	r := e.req("GET", "/api/v1/sandbox-templates", nil).must(t, http.StatusOK)
	if _, ok := r.obj(t)["data"]; !ok {
		t.Errorf("list not wrapped after config: %.100s", r.body)
	}
	r = e.req("GET", "/api/v1/sandbox-templates/x", nil).must(t, http.StatusNotFound)
	if _, ok := r.obj(t)["detail"]; !ok {
		t.Errorf("error not in detail form: %s", r.body)
	}
}

func member(t *testing.T, v any, key string) any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("not an object: %v", v)
	}
	got, ok := m[key]
	if !ok {
		t.Fatalf("no %q in %v", key, m)
	}
	return got
}

func isArray(t *testing.T, v any) []any {
	t.Helper()
	a, ok := v.([]any)
	if !ok {
		t.Fatalf("not an array: %v", v)
	}
	return a
}

func equal(t *testing.T, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("got %s, want %s", g, w)
	}
}
