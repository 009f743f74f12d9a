package schema_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
	"github.com/miosa-dev/sandbox-templates-action/internal/schema"
	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
)

// fileSchema compiles schema.File with the library alone, as an editor would
// read it: no loader, so a reference outside the document fails.
func fileSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema.File()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("mem:///template.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("mem:///template.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// instance reads a template file as an editor's YAML language server does:
// the YAML value as JSON. ok is false when JSON cannot hold it (several
// documents, keys that are not strings, anchors).
func instance(data []byte) (v any, ok bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var y any
	if err := dec.Decode(&y); err != nil {
		return nil, false
	}
	var more any
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, false
	}
	raw, err := json.Marshal(y)
	if err != nil {
		return nil, false
	}
	v, err = jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	return v, err == nil
}

// specVerdict is whether validate accepts a file alone: spec.Parse and the
// build_spec schema find no error.
func specVerdict(name string, data []byte) bool {
	tmpl, diags := spec.Parse(name, data)
	if tmpl != nil {
		diags = append(diags, schema.Default().Check(name, tmpl, tmpl.BuildSpec)...)
	}
	for _, d := range diags {
		if d.Severity != diag.Warning {
			return false
		}
	}
	return tmpl != nil
}

func TestFileSchema(t *testing.T) {
	t.Parallel()
	if _, err := schema.Compile(schema.File()); err != nil {
		t.Fatalf("the project's own compiler: %v", err)
	}
	var doc struct {
		Schema string `json:"$schema"`
		Defs   struct {
			BuildSpec map[string]any `json:"build_spec"`
		} `json:"$defs"`
		Properties map[string]struct {
			MaxLength int `json:"maxLength"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(schema.File(), &doc); err != nil {
		t.Fatal(err)
	}
	var embedded map[string]any
	if err := json.Unmarshal(schema.Embedded(), &embedded); err != nil {
		t.Fatal(err)
	}
	delete(embedded, "$schema")
	if diff := cmp.Diff(embedded, doc.Defs.BuildSpec); diff != "" {
		t.Errorf("$defs.build_spec is not the embedded schema (-embedded +file):\n%s", diff)
	}
	if doc.Schema != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema %q", doc.Schema)
	}
	if got := doc.Properties["name"].MaxLength; got != spec.MaxNameLen {
		t.Errorf("name maxLength %d, spec.MaxNameLen %d", got, spec.MaxNameLen)
	}
	f := schema.File()
	f[0] = 'x'
	if schema.File()[0] != '{' {
		t.Error("File returns the shared slice")
	}
}

// beyondSchema are the bad cases the file schema accepts, with what JSON
// Schema cannot see in them.
var beyondSchema = map[string]string{
	"alias":              "anchors and aliases are YAML: the editor sees the value they expand to",
	"merge-key":          "merge keys are YAML: the editor sees the keys they merge",
	"custom-tag":         "tags are YAML: the editor sees the tagged value",
	"file-name-not-slug": "the name comes from the file name",
}

// TestFileAgreesWithValidate checks every file under testdata/good and
// testdata/bad: a file validate accepts passes the file schema, and a file
// it rejects fails it, unless JSON Schema cannot state why (beyondSchema) or
// JSON cannot hold the file (YAML the schema never sees).
func TestFileAgreesWithValidate(t *testing.T) {
	t.Parallel()
	sch := fileSchema(t)
	root := filepath.Join("..", "..", "testdata")
	files, err := filepath.Glob(filepath.Join(root, "*", "*", "sandbox-templates", "*"))
	if err != nil {
		t.Fatal(err)
	}
	good, _ := filepath.Glob(filepath.Join(root, "good", "sandbox-templates", "*"))
	files = append(files, good...)
	checked := 0
	for _, file := range files {
		rel, _ := filepath.Rel(root, file)
		kase := strings.Split(filepath.ToSlash(rel), "/")[1]
		data, err := os.ReadFile(file)
		if err != nil {
			continue // directories, FIFOs and links of the hostile cases
		}
		v, ok := instance(data)
		if !ok {
			continue
		}
		checked++
		fileOK := sch.Validate(v) == nil
		specOK := specVerdict("sandbox-templates/"+filepath.Base(file), data)
		switch {
		case specOK && !fileOK:
			t.Errorf("%s: validate accepts it, the file schema does not: %v", rel, sch.Validate(v))
		case !specOK && fileOK && beyondSchema[kase] == "":
			t.Errorf("%s: validate rejects it, the file schema accepts it", rel)
		}
	}
	t.Logf("%d files checked", checked)
	if checked < 40 {
		t.Errorf("only %d files checked", checked)
	}
}

// TestTopLevelKeys checks the rules for the keys besides build_spec directly.
func TestTopLevelKeys(t *testing.T) {
	t.Parallel()
	sch := fileSchema(t)
	const spec = "\nbuild_spec:\n  from: node:22\n"
	for _, tt := range []struct {
		yaml string
		ok   bool
	}{
		{"build_spec:\n  from: node:22\n", true},
		{"name: node-22" + spec, true},
		{"name: a" + spec, true},
		{"name: " + strings.Repeat("a", 63) + spec, true},
		{"description:" + spec, true},
		{"description: Node 22 with pnpm" + spec, true},
		{"metadata:" + spec, true},
		{"metadata: {team: platform, tier: \"2\"}" + spec, true},
		{"metadata: {team:}" + spec, true},
		{"name: " + strings.Repeat("a", 64) + spec, false},
		{"name:" + spec, false},
		{"name: \"\"" + spec, false},
		{"name: Node" + spec, false},
		{"name: node-" + spec, false},
		{"name: 22" + spec, false},
		{"description: 5" + spec, false},
		{"description: {a: b}" + spec, false},
		{"metadata: [a]" + spec, false},
		{"metadata: {tier: 2}" + spec, false},
		{"metadata: {a: {b: c}}" + spec, false},
		{"owner: me" + spec, false},
		{"name: t\n", false},
		{"build_spec:\n", false},
		{"build_spec: {}\n", false},
		{"build_spec:\n  form: node:22\n", false},
		{"- build_spec: {from: a}\n", false},
	} {
		v, ok := instance([]byte(tt.yaml))
		if !ok {
			t.Fatalf("%q is not JSON", tt.yaml)
		}
		if got := sch.Validate(v) == nil; got != tt.ok {
			t.Errorf("%q: valid %v, want %v", tt.yaml, got, tt.ok)
		}
		if got := specVerdict("sandbox-templates/t.yaml", []byte(tt.yaml)); got != tt.ok {
			t.Errorf("%q: validate says %v, want %v (the table is wrong)", tt.yaml, got, tt.ok)
		}
	}
}

// FuzzNameAgreesWithSpec checks that the name pattern says what spec says.
func FuzzNameAgreesWithSpec(f *testing.F) {
	for _, s := range []string{"a", "a-b", "a--b", "-a", "a-", "A", "a_b", "a.b", "é", "0", "", " a", "a\u00a0",
		strings.Repeat("a", 63), strings.Repeat("a", 64), strings.Repeat("é", 40)} {
		f.Add(s)
	}
	sch := fileSchema(f)
	f.Fuzz(func(t *testing.T, name string) {
		if !utf8.ValidString(name) || strings.ContainsFunc(name, func(r rune) bool { return !unicode.IsPrint(r) || r == utf8.RuneError }) {
			return
		}
		quoted, _ := json.Marshal(name)
		file := "name: " + string(quoted) + "\nbuild_spec:\n  from: node:22\n"
		v, ok := instance([]byte(file))
		if !ok {
			return
		}
		if specOK, fileOK := specVerdict("sandbox-templates/t.yaml", []byte(file)), sch.Validate(v) == nil; specOK != fileOK {
			t.Errorf("name %s: validate says %v, the file schema %v", strconv.Quote(name), specOK, fileOK)
		}
	})
}
