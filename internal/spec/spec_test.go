package spec_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	_ "github.com/miosa-dev/sandbox-templates-action/internal/golden" // defines -update for go test ./... -update
	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
)

const locateDoc = `name: t
build_spec:
  from: node:22
  steps:
    - run: make
    - {run: test}
  env:
    A: "1"
  "a/b": x
`

func TestLocate(t *testing.T) {
	tm, diags := spec.Parse("sandbox-templates/t.yaml", []byte(locateDoc))
	if tm == nil || len(diags) != 0 {
		t.Fatalf("Parse: %v", diags)
	}
	tests := []struct {
		pointer         string
		line, col       int
		keyLine, keyCol int
	}{
		{"", 3, 3, 2, 1},
		{"/from", 3, 9, 3, 3},
		{"/steps/0/run", 5, 12, 5, 7},
		{"/steps/1/run", 6, 13, 6, 8},
		{"/steps/1", 6, 7, 6, 7},
		{"/steps/9/run", 4, 3, 4, 3}, // missing item: the key of steps
		{"/steps/x", 4, 3, 4, 3},     // not an index
		{"/steps/01", 4, 3, 4, 3},    // not a canonical index
		{"/env/B", 7, 3, 7, 3},       // missing key: its parent's key
		{"/env/A", 8, 8, 8, 5},
		{"/a~1b", 9, 10, 9, 3},       // escaped "/"
		{"/from/deeper", 3, 3, 3, 3}, // below a scalar
		{"no-slash", 2, 1, 2, 1},
	}
	for _, tt := range tests {
		t.Run(tt.pointer, func(t *testing.T) {
			if l, c := tm.Locate(tt.pointer); l != tt.line || c != tt.col {
				t.Errorf("Locate(%q) = %d:%d, want %d:%d", tt.pointer, l, c, tt.line, tt.col)
			}
			if l, c := tm.LocateKey(tt.pointer); l != tt.keyLine || c != tt.keyCol {
				t.Errorf("LocateKey(%q) = %d:%d, want %d:%d", tt.pointer, l, c, tt.keyLine, tt.keyCol)
			}
		})
	}
}

func TestParseValues(t *testing.T) {
	doc := `build_spec:
  from: node:22
  i: 42
  hex: 0x1F
  f: 1.5
  b: true
  n: null
  d: 2024-01-01
  s: "42"
  l: [1, "a", {k: v}]
`
	tm, diags := spec.Parse("x/my-tpl.yaml", []byte(doc))
	if tm == nil || len(diags) != 0 {
		t.Fatalf("Parse: %v", diags)
	}
	want := map[string]any{
		"from": "node:22", "i": int64(42), "hex": int64(31), "f": 1.5, "b": true, "n": nil,
		"d": "2024-01-01", "s": "42", "l": []any{int64(1), "a", map[string]any{"k": "v"}},
	}
	if diff := cmp.Diff(want, tm.BuildSpec); diff != "" {
		t.Errorf("BuildSpec (-want +got):\n%s", diff)
	}
	if tm.Name != "my-tpl" {
		t.Errorf("Name = %q, want file name my-tpl", tm.Name)
	}
}

func TestNormalize(t *testing.T) {
	in := map[string]any{
		"from":  "node:22",
		"env":   map[string]any{"A": nil},
		"steps": []any{},
		"size":  nil,
		"user":  "node",
		"x":     map[string]any{"y": map[string]any{}, "z": []any{map[string]any{"k": nil}}},
	}
	before, _ := json.Marshal(in)
	got := spec.Normalize(in)
	want := map[string]any{
		"from":    "node:22",
		"user":    "node",
		"workdir": "/workspace",
		"x":       map[string]any{"z": []any{nil}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Normalize (-want +got):\n%s", diff)
	}
	if after, _ := json.Marshal(in); string(after) != string(before) {
		t.Errorf("Normalize mutated its input:\n%s\n%s", before, after)
	}
	if got := spec.Normalize(nil); !cmp.Equal(got, map[string]any{"workdir": "/workspace", "user": "root"}) {
		t.Errorf("Normalize(nil) = %v", got)
	}
}

func TestDigest(t *testing.T) {
	a := map[string]any{"from": "node:22", "vcpu": int64(2), "steps": []any{map[string]any{"run": "make"}}}
	same := []map[string]any{
		{"steps": []any{map[string]any{"run": "make"}}, "vcpu": 2.0, "from": "node:22"},
		{"from": "node:22", "vcpu": json.Number("2"), "steps": []any{map[string]any{"run": "make"}}, "workdir": "/workspace", "user": "root"},
		{"from": "node:22", "vcpu": int64(2), "steps": []any{map[string]any{"run": "make"}}, "env": map[string]any{}, "size": nil},
	}
	d := spec.Digest(a)
	if len(d) != 64 {
		t.Fatalf("Digest = %q, want 64 hex digits", d)
	}
	for i, s := range same {
		if got := spec.Digest(s); got != d {
			t.Errorf("case %d: Digest = %s, want %s", i, got, d)
		}
	}
	for i, s := range []map[string]any{
		{"from": "node:20", "vcpu": int64(2), "steps": []any{map[string]any{"run": "make"}}},
		{"from": "node:22", "vcpu": int64(3), "steps": []any{map[string]any{"run": "make"}}},
		{"from": "node:22", "vcpu": int64(2), "steps": []any{map[string]any{"run": "make"}}, "user": "node"},
	} {
		if spec.Digest(s) == d {
			t.Errorf("different spec %d has the same digest", i)
		}
	}
	tm := &spec.Template{BuildSpec: a}
	if tm.Digest() != d {
		t.Errorf("Template.Digest differs from Digest")
	}
}

func TestFilter(t *testing.T) {
	ts := []*spec.Template{{Name: "node-22-base"}, {Name: "python-3-12"}}
	got, diags := spec.Filter(ts, []string{" node-22-base ", "python-3-21", "", "node-22-base"})
	if len(got) != 1 || got[0].Name != "node-22-base" {
		t.Errorf("Filter kept %v", got)
	}
	want := `templates: no template named "python-3-21" in this repository; did you mean "python-3-12"? [unknown-template]` + "\n"
	if diff := cmp.Diff(want, diags.Text()); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
	if all, diags := spec.Filter(ts, nil); len(all) != 2 || len(diags) != 0 {
		t.Errorf("Filter(nil) = %v, %v", all, diags)
	}
}

func TestParseBOMAndCRLF(t *testing.T) {
	tm, diags := spec.Parse("sandbox-templates/w.yaml", []byte("\xef\xbb\xbfname: win\r\nbuild_spec:\r\n  from: node:22\r\n"))
	if tm == nil || len(diags) != 0 {
		t.Fatalf("Parse: %v", diags)
	}
	if l, c := tm.Locate("/from"); tm.Name != "win" || l != 3 || c != 9 {
		t.Errorf("name %q, from at %d:%d; want win, 3:9", tm.Name, l, c)
	}
}
