package schema_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	_ "github.com/miosa-dev/sandbox-templates-action/internal/golden" // defines -update for go test ./... -update
	"github.com/miosa-dev/sandbox-templates-action/internal/schema"
)

// fakeLocator positions every pointer at a line derived from its length;
// keyLocator puts keys in column 1, so tests can see which was used.
type fakeLocator struct{}

func (fakeLocator) Locate(p string) (int, int) { return len(p) + 1, 5 }

type keyLocator struct{ fakeLocator }

func (keyLocator) LocateKey(p string) (int, int) { return len(p) + 1, 1 }

func TestEmbeddedCompiles(t *testing.T) {
	if !json.Valid(schema.Embedded()) {
		t.Fatal("embedded schema is not JSON")
	}
	if a, b := schema.Default(), schema.Default(); a != b {
		t.Error("Default compiles more than once")
	}
	e := schema.Embedded()
	e[0] = 'x'
	if schema.Embedded()[0] != '{' {
		t.Error("Embedded returns the shared slice")
	}
}

func TestCompileErrors(t *testing.T) {
	for name, doc := range map[string]string{
		"not JSON":         `{`,
		"remote reference": `{"$ref": "https://example.com/schema.json"}`,
		"file reference":   `{"$ref": "file:///etc/passwd"}`,
		"bad keyword":      `{"type": 5}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := schema.Compile([]byte(doc)); err == nil {
				t.Error("Compile succeeded")
			}
		})
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		spec string
		want string
	}{
		{"typed ok", `{"from":"node:22","size":"xs","vcpu":1,"steps":[{"run":"make"}],"env":{"A":"1"},"previewPort":65535,"artifactPaths":["/out"]}`, ""},
		{"runtime ok", `{"runtime":"node","version":"20","packages":["curl"]}`, ""},
		{"missing from", `{"steps":[]}`,
			`f:6:5: build_spec: missing "from" (an OCI image such as node:22-bookworm) or "runtime" [schema]`},
		{"enum", `{"from":"x","size":"huge"}`,
			`f:6:5: build_spec.size: "huge" is not one of "xs", "small", "medium", "large", "xl" [schema]`},
		{"unknown key with key locator", `{"from":"x","stpes":[]}`,
			`f:7:1: build_spec: unknown key "stpes"; did you mean "steps"? [unknown-key]`},
		{"integer", `{"from":"x","vcpu":1.5}`,
			`f:6:5: build_spec.vcpu: must be an integer, found a number 1.5 [schema]`},
		{"port range", `{"from":"x","previewPort":0}`,
			`f:13:5: build_spec.previewPort: 0 is less than the minimum 1 [schema]`},
		{"step run", `{"from":"x","steps":[{"run":""},{}]}`,
			"f:13:5: build_spec.steps[0].run: must not be empty [schema]\n" +
				`f:13:5: build_spec.steps[1]: missing "run" (the shell command to run) [schema]`},
		{"env value", `{"from":"x","env":{"a b":1}}`,
			`f:9:5: build_spec.env["a b"]: must be a string, found a number 1; quote it to make it a string [schema]`},
		{"not an object", `[]`,
			`f:1:5: build_spec: must be a mapping, found a list [schema]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := schema.Default().Check("f", keyLocator{}, decode(t, tt.spec))
			if diff := cmp.Diff(tt.want, strings.TrimSuffix(got.Text(), "\n")); diff != "" {
				t.Errorf("Check (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCheckServerSchema checks messages against a different schema, as the
// server may send.
func TestCheckServerSchema(t *testing.T) {
	s, err := schema.Compile([]byte(`{
		"$schema": "http://json-schema.org/draft-07/schema#",
		"type": "object",
		"required": ["from"],
		"properties": {"from": {"type": "string"}, "kind": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
		"additionalProperties": false
	}`))
	if err != nil {
		t.Fatal(err)
	}
	got := s.Check("f", fakeLocator{}, decode(t, `{"kind": true, "extra": 1}`)).Text()
	want := `f:6:5: build_spec: missing "from" (an OCI image such as node:22-bookworm) [schema]
f:6:5: build_spec.kind: must be a string, found a boolean true; quote it to make it a string [schema]
f:7:5: build_spec: unknown key "extra"; expected one of "from", "kind" [unknown-key]
`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Check (-want +got):\n%s", diff)
	}
}

func decode(t *testing.T, s string) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader([]byte(s)))
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}
