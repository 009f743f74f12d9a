package emulator_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
	"github.com/miosa-dev/sandbox-templates-action/internal/schema"
)

// normalized returns the normalized form of a typed spec with the default
// size (small) and nothing else set, changed by the key, value pairs (a
// nil value with key "-" followed by a name deletes that key).
func normalized(kv ...any) map[string]any {
	m := map[string]any{
		"size": "small", "vcpu": float64(2), "memoryMib": float64(4096), "diskMib": float64(10240),
		"steps": []any{}, "env": map[string]any{}, "workdir": "/workspace", "user": "root",
		"startCmd": nil, "readyCmd": nil, "previewPort": nil, "artifactPaths": []any{},
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i] == "-" {
			delete(m, kv[i+1].(string))
			continue
		}
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

// TestNormalizedForm: validate's answer, the created template's and its
// build's build_spec, and a later build's, all carry the server's
// normalized form (the API page's example for the typed vocabulary), and
// that form validates against the schema the emulator serves and comes
// back unchanged when sent again.
func TestNormalizedForm(t *testing.T) {
	t.Parallel()
	step := []any{map[string]any{"run": "npm ci"}}
	tests := []struct {
		name string
		opts func(*emulator.Options)
		spec map[string]any
		want map[string]any
		// embedded: the form must also validate against the embedded schema
		// (the SDK vocabulary gets no nulls).
		embedded bool
	}{
		{
			name: "the API page's example: from, size small, one step",
			spec: map[string]any{"from": "node:22", "size": "small", "steps": step},
			want: normalized("from", "node:22", "steps", step),
		},
		{
			name: "no size and no resources: the default size small",
			spec: map[string]any{"from": "node:22"},
			want: normalized("from", "node:22"),
		},
		{
			name: "vcpu alone: no default size",
			spec: map[string]any{"from": "node:22", "vcpu": 4},
			want: normalized("from", "node:22", "vcpu", float64(4), "-", "size", "-", "memoryMib", "-", "diskMib"),
		},
		{
			name: "a size fills what the spec does not set",
			spec: map[string]any{"from": "node:22", "size": "medium", "vcpu": 6},
			want: normalized("from", "node:22", "size", "medium", "vcpu", float64(6), "memoryMib", float64(8192), "diskMib", float64(20480)),
		},
		{
			name: "set values are kept",
			spec: map[string]any{"from": "node:22", "steps": step, "env": map[string]any{"A": "1"}, "workdir": "/app", "user": "node",
				"startCmd": "npm start", "readyCmd": "curl -fsS localhost:3000", "previewPort": 3000, "artifactPaths": []any{"dist"}},
			want: normalized("from", "node:22", "steps", step, "env", map[string]any{"A": "1"}, "workdir", "/app", "user", "node",
				"startCmd", "npm start", "readyCmd", "curl -fsS localhost:3000", "previewPort", float64(3000), "artifactPaths", []any{"dist"}),
		},
		{
			name: "empty and null values are kept",
			spec: map[string]any{"from": "node:22", "env": map[string]any{}, "steps": []any{}, "startCmd": nil, "previewPort": nil},
			want: normalized("from", "node:22"),
		},
		{
			name: "the SDK vocabulary gets the defaults but no nulls",
			spec: map[string]any{"runtime": "node", "version": "20", "packages": []any{"curl"}},
			want: normalized("runtime", "node", "version", "20", "packages", []any{"curl"},
				"-", "startCmd", "-", "readyCmd", "-", "previewPort"),
			embedded: true,
		},
		{
			name: "Options.Sizes moves small, also for the default size",
			opts: func(o *emulator.Options) { o.Sizes = map[string][3]int{"small": {3, 6144, 12288}} },
			spec: map[string]any{"from": "node:22"},
			want: normalized("from", "node:22", "vcpu", float64(3), "memoryMib", float64(6144), "diskMib", float64(12288)),
		},
		{
			name: "Options.Sizes naming another size leaves small alone",
			opts: func(o *emulator.Options) { o.Sizes = map[string][3]int{"medium": {8, 16384, 20480}} },
			spec: map[string]any{"from": "node:22", "steps": step},
			want: normalized("from", "node:22", "steps", step),
		},
		{
			name: "Options.Sizes for the spec's size",
			opts: func(o *emulator.Options) { o.Sizes = map[string][3]int{"medium": {8, 16384, 20480}} },
			spec: map[string]any{"from": "node:22", "size": "medium"},
			want: normalized("from", "node:22", "size", "medium", "vcpu", float64(8), "memoryMib", float64(16384), "diskMib", float64(20480)),
		},
		{
			name: "Options.CanonicalImages qualifies from",
			opts: func(o *emulator.Options) { o.CanonicalImages = true },
			spec: map[string]any{"from": "node:22"},
			want: normalized("from", "docker.io/library/node:22"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := defaults()
			if tt.opts != nil {
				tt.opts(&o)
			}
			e := setup(t, o)
			v := e.req("POST", "/api/v1/sandbox-templates/validate", map[string]any{"build_spec": tt.spec}).must(t, http.StatusOK).obj(t)
			if diff := cmp.Diff(tt.want, v["build_spec"]); v["valid"] != true || diff != "" {
				t.Errorf("validate: valid %v, build_spec (-want +got):\n%s", v["valid"], diff)
			}
			created := e.create("web", tt.spec)
			id := created["id"].(string)
			rebuilt := e.req("POST", "/api/v1/sandbox-templates/"+id+"/builds", map[string]any{"build_spec": tt.spec}).must(t, http.StatusCreated).data(t)
			builds := e.builds(id)
			for what, got := range map[string]any{
				"create":       created["build_spec"],
				"get":          e.req("GET", "/api/v1/sandbox-templates/"+id, nil).must(t, http.StatusOK).obj(t)["build_spec"],
				"auto build":   builds[1]["build_spec"],
				"create_build": rebuilt["build_spec"],
			} {
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("%s: build_spec (-want +got):\n%s", what, diff)
				}
			}
			// The normalized form goes back as it is, and is valid.
			again := e.req("POST", "/api/v1/sandbox-templates/validate", map[string]any{"build_spec": tt.want}).must(t, http.StatusOK).obj(t)
			if diff := cmp.Diff(tt.want, again["build_spec"]); again["valid"] != true || diff != "" {
				t.Errorf("validate of the normalized form: valid %v, (-want +got):\n%s", again["valid"], diff)
			}
			e.req("POST", "/api/v1/sandbox-templates/"+id+"/builds", map[string]any{"build_spec": tt.want}).must(t, http.StatusCreated)
			served, err := schema.Compile(e.req("GET", "/api/v1/sandbox-templates/build-spec", nil).must(t, http.StatusOK).body)
			if err != nil {
				t.Fatalf("served schema: %v", err)
			}
			if d := served.Check("", noLines{}, tt.want); len(d) > 0 {
				t.Errorf("the normalized form does not validate against the served schema: %v", d)
			}
			if d := schema.Default().Check("", noLines{}, tt.want); tt.embedded && len(d) > 0 {
				t.Errorf("the normalized form does not validate against the embedded schema: %v", d)
			}
		})
	}
}

// noLines is a schema.Locator without positions.
type noLines struct{}

func (noLines) Locate(string) (int, int) { return 0, 0 }

// TestServedSchema: the schema the emulator serves is the embedded one
// with startCmd, readyCmd and previewPort also allowing null; it keeps
// refusing what the embedded schema refuses, with the same messages.
func TestServedSchema(t *testing.T) {
	t.Parallel()
	e := setup(t, defaults())
	served, err := schema.Compile(e.req("GET", "/api/v1/sandbox-templates/build-spec", nil).must(t, http.StatusOK).body)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		spec      string
		nullsOnly bool // only the embedded schema refuses it (a null the server renders)
	}{
		{"nulls the server renders", `{"from":"x","startCmd":null,"readyCmd":null,"previewPort":null}`, true},
		{"a null size", `{"from":"x","size":null}`, false},
		{"a number for startCmd", `{"from":"x","startCmd":5}`, false},
		{"a port out of range", `{"from":"x","previewPort":70000}`, false},
		{"a string port", `{"from":"x","previewPort":"80"}`, false},
		{"an unknown key", `{"from":"x","stratCmd":"a"}`, false},
		{"neither from nor runtime", `{"steps":[]}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var spec any
			if err := json.Unmarshal([]byte(tt.spec), &spec); err != nil {
				t.Fatal(err)
			}
			got, embedded := served.Check("", noLines{}, spec), schema.Default().Check("", noLines{}, spec)
			switch {
			case tt.nullsOnly && (len(got) > 0 || len(embedded) == 0):
				t.Errorf("served %v, embedded %v; want only the embedded schema to refuse it", got, embedded)
			case !tt.nullsOnly && (len(got) == 0 || got.Text() != embedded.Text()):
				t.Errorf("served %v, embedded %v; want the same refusal", got, embedded)
			}
		})
	}
}

// TestCanonicalImages: with Options.CanonicalImages (or canonical_images
// by config) from is fully qualified in validate's answer and in the stored
// specs; without it from is kept as sent.
func TestCanonicalImages(t *testing.T) {
	t.Parallel()
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct{ from, want string }{
		{"node:22", "docker.io/library/node:22"},
		{"node:22-bookworm", "docker.io/library/node:22-bookworm"},
		{"node", "docker.io/library/node:latest"},
		{"user/img:1", "docker.io/user/img:1"},
		{"user/img", "docker.io/user/img:latest"},
		{"docker.io/node:22", "docker.io/library/node:22"},
		{"index.docker.io/user/img:1", "docker.io/user/img:1"},
		{"docker.io/library/node:22", "docker.io/library/node:22"},
		{"ghcr.io/x/y:1", "ghcr.io/x/y:1"},
		{"ghcr.io/x/y", "ghcr.io/x/y:latest"},
		{"localhost:5000/app", "localhost:5000/app:latest"},
		{"localhost/app:2", "localhost/app:2"},
		{"registry.example.com:5000/team/app:3", "registry.example.com:5000/team/app:3"},
		{"node@" + digest, "docker.io/library/node@" + digest},
		{"node:22@" + digest, "docker.io/library/node:22@" + digest},
	}
	e := setup(t, defaults())
	validate := func(from string) any {
		t.Helper()
		v := e.req("POST", "/api/v1/sandbox-templates/validate", map[string]any{"build_spec": map[string]any{"from": from}}).must(t, http.StatusOK).obj(t)
		return v["build_spec"].(map[string]any)["from"]
	}
	if got := validate("node:22"); got != "node:22" {
		t.Errorf("off: from = %v, want node:22 as sent", got)
	}
	e.config(`{"canonical_images":true}`)
	for _, tt := range tests {
		if got := validate(tt.from); got != tt.want {
			t.Errorf("from %q = %v, want %q", tt.from, got, tt.want)
		}
	}
	d := e.create("web", spec("node:22"))
	e.req("POST", "/api/v1/sandbox-templates/"+d["id"].(string)+"/builds", map[string]any{"build_spec": spec("user/img")}).must(t, http.StatusCreated)
	st := e.emu.State()
	got := []any{d["build_spec"].(map[string]any)["from"], st.Templates[0].BuildSpec["from"], st.Builds[0].BuildSpec["from"], st.Builds[1].BuildSpec["from"]}
	want := []any{"docker.io/library/node:22", "docker.io/user/img:latest", "docker.io/library/node:22", "docker.io/user/img:latest"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stored from (-want +got):\n%s", diff)
	}
}
