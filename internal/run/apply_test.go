package run

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
	_ "github.com/miosa-dev/sandbox-templates-action/internal/golden" // defines -update for go test ./... -update
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
)

type quiet struct{}

func (quiet) Info(string)    {}
func (quiet) Warn(string)    {}
func (quiet) Notice(string)  {}
func (quiet) Plan(plan.Plan) {}
func (quiet) Mask(string)    {}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestIdempotencyKeyIsDeterministic(t *testing.T) {
	t.Parallel()
	k := IdempotencyKey("acme/platform", "node", "abc", "d1", "build", "none")
	if k != IdempotencyKey("acme/platform", "node", "abc", "d1", "build", "none") {
		t.Fatal("the same inputs gave different keys")
	}
	for _, other := range []string{
		IdempotencyKey("acme/other", "node", "abc", "d1", "build", "none"),
		IdempotencyKey("acme/platform", "node2", "abc", "d1", "build", "none"),
		IdempotencyKey("acme/platform", "node", "abd", "d1", "build", "none"),
		IdempotencyKey("acme/platform", "node", "abc", "d2", "build", "none"),
		IdempotencyKey("acme/platform", "node", "abc", "d1", "create", "none"),
	} {
		if other == k {
			t.Errorf("a different input gave the same key %s", k)
		}
	}
	if len(k) != 36 || k[14] != '5' {
		t.Errorf("key %q is not a UUIDv5", k)
	}
}

func TestFieldPointer(t *testing.T) {
	t.Parallel()
	tests := []struct{ field, ptr, name string }{
		{"/steps/0/run", "/steps/0/run", "build_spec.steps[0].run"},
		{"/build_spec/from", "/from", "build_spec.from"},
		{"steps.0.run", "/steps/0/run", "build_spec.steps[0].run"},
		{"build_spec.steps[1].run", "/steps/1/run", "build_spec.steps[1].run"},
		{"build_spec", "", "build_spec"},
		{"env.A/B", "/env/A~1B", "build_spec.env.A/B"},
		{"", "", "build_spec"},
	}
	for _, tt := range tests {
		ptr := fieldPointer(tt.field)
		if ptr != tt.ptr || fieldName(ptr) != tt.name {
			t.Errorf("fieldPointer(%q) = %q (%s), want %q (%s)", tt.field, ptr, fieldName(ptr), tt.ptr, tt.name)
		}
	}
}

// A run that writes needs a key and a commit; a mode outside the three is
// refused. These are usage errors, before any work. The values' bounds are
// the adapters' to check (internal/settings).
func TestConfigCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{Mode: ModeApply, Commit: "c1"}, "mode apply needs an API key"},
		{Config{Mode: ModePlan}, "mode plan needs an API key"},
		{Config{Mode: ModeApply, APIKey: "msk_x"}, "apply needs a commit"},
		{Config{Mode: "auto", APIKey: "msk_x"}, `mode "auto" is not one of validate, plan, apply`},
		{Config{Mode: ModeValidate}, ""},
	}
	for _, tt := range tests {
		_, err := tt.cfg.withDefaults()
		if (err == nil) != (tt.want == "") || (err != nil && (!strings.Contains(err.Error(), tt.want) || !IsUsage(err))) {
			t.Errorf("check(%+v) = %v, want %q", tt.cfg, err, tt.want)
		}
	}
}

// The server's validate endpoint can reject what the schema accepts; its
// errors are mapped back to YAML positions and stop the run before any
// write. The server here publishes a permissive schema, so only its
// validate endpoint finds the problem.
func TestServerValidationIsPositionedAndBlocksWrites(t *testing.T) {
	t.Parallel()
	emu := emulator.New(emulator.NewOptions())
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/sandbox-templates/build-spec", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object"}`))
	})
	mux.Handle("/", emu)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	root := writeFiles(t, map[string]string{
		"sandbox-templates/ok.yaml":  "build_spec:\n  from: node:22\n",
		"sandbox-templates/bad.yaml": "build_spec:\n  from: node:22\n  steps:\n    - run: echo\n      shell: bash\n",
	})
	res, err := Do(context.Background(), Config{Root: root, Mode: ModeApply, APIKey: "msk_test", APIURL: srv.URL + "/api/v1", Commit: "c1"}, quiet{})
	if err != nil {
		t.Fatal(err)
	}
	var server diag.List
	for _, d := range res.Diagnostics {
		if d.Rule == "server" {
			server = append(server, d)
		}
	}
	if len(server) == 0 || server[0].Path != "sandbox-templates/bad.yaml" || server[0].Line < 3 {
		t.Fatalf("server diagnostics = %v, want one positioned in bad.yaml", server)
	}
	if res.Status != StatusFailed {
		t.Errorf("status %q, want failed", res.Status)
	}
	if c := emu.Counters(); c.Writes != 0 {
		t.Errorf("%d writes after a validation failure", c.Writes)
	}
}

// A no-op run reads the schema and the list once and each template's builds
// once (2 + N), and writes nothing; it has no spec for the validate endpoint
// to judge.
func TestNoOpRunRequestCounts(t *testing.T) {
	t.Parallel()
	emu := emulator.New(emulator.NewOptions())
	srv := httptest.NewServer(emu)
	defer srv.Close()
	files := map[string]string{}
	for _, n := range []string{"a", "b", "c", "d"} {
		files["sandbox-templates/"+n+".yaml"] = "build_spec:\n  from: node:22\n  steps:\n    - run: echo " + n + "\n"
	}
	root := writeFiles(t, files)
	cfg := Config{Root: root, Mode: ModeApply, APIKey: "msk_test", APIURL: srv.URL + "/api/v1", Commit: "c1", Repository: "acme/x"}
	if res, _ := Do(context.Background(), cfg, quiet{}); res.Status != StatusSuccess {
		t.Fatalf("first run: %s %v", res.Status, res.Problems())
	}
	before := emu.Counters()
	cfg.Commit = "c2"
	res, _ := Do(context.Background(), cfg, quiet{})
	if res.Status != StatusSuccess || res.Plan.Changes() != 0 {
		t.Fatalf("no-op run: %s, %d changes", res.Status, res.Plan.Changes())
	}
	after := emu.Counters()
	delta := map[string]int{}
	for k, v := range after.Requests {
		if d := v - before.Requests[k]; d != 0 {
			delta[k] = d
		}
	}
	// One validate asks for the server's defaults (one distinct size).
	want := map[string]int{"schema": 1, "list": 1, "list_builds": 4, "validate": 1}
	if diff := cmp.Diff(want, delta); diff != "" {
		t.Errorf("requests of the no-op run (-want +got):\n%s", diff)
	}
	if after.Writes != before.Writes {
		t.Errorf("the no-op run wrote %d times", after.Writes-before.Writes)
	}
	if it := res.Plan.Items[0]; it.Action != plan.Unchanged || it.Serving == "" || !strings.Contains(it.Reason, "of this spec") {
		t.Errorf("reason %q", res.Plan.Items[0].Reason)
	}
}

// Going back to an earlier spec builds it again: only the newest live build
// says what the template serves.
func TestRevertedSpecIsRebuilt(t *testing.T) {
	t.Parallel()
	emu := emulator.New(emulator.NewOptions())
	srv := httptest.NewServer(emu)
	defer srv.Close()
	root := writeFiles(t, nil)
	cfg := Config{Root: root, Mode: ModeApply, APIKey: "msk_test", APIURL: srv.URL + "/api/v1", Repository: "acme/x"}
	for i, step := range []string{"pip install uv", "pip install ruff", "pip install uv"} {
		body := "build_spec:\n  from: python:3.12\n  steps:\n    - run: " + step + "\n"
		if err := os.MkdirAll(filepath.Join(root, "sandbox-templates"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "sandbox-templates", "py.yaml"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg.Commit = "c" + string(rune('1'+i))
		res, err := Do(context.Background(), cfg, quiet{})
		if err != nil || res.Status != StatusSuccess {
			t.Fatalf("commit %s: %v %s %v", cfg.Commit, err, res.Status, res.Problems())
		}
		if got := emu.Counters().BuildsCreated; got != i+1 {
			t.Fatalf("after commit %s: %d builds, want %d", cfg.Commit, got, i+1)
		}
	}
}
