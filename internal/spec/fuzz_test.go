package spec_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miosa-dev/sandbox-templates-action/internal/schema"
	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
)

// FuzzLoad runs the loader and the validator on arbitrary file contents: it
// must never panic, and every diagnostic must be positioned (Line >= 0), say
// something, and fit on one line.
func FuzzLoad(f *testing.F) {
	err := filepath.WalkDir(filepath.Join("..", "..", "testdata"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f.Add(data)
		return nil
	})
	if err != nil {
		f.Fatal(err)
	}
	// Trailing documents, and the hints' inputs: quoted numbers, string
	// steps (multi-line too), fields outside build_spec.
	for _, s := range []string{
		"build_spec:\n  from: x\n---\n# end\n", "build_spec:\n  from: x\n---\n---\n~\n",
		"build_spec:\n  from: x\n  previewPort: \" 8080 \"\n  vcpu: \"1e3\"\n",
		"build_spec:\n  from: x\n  steps:\n    - |\n      run: a\n      b\n    - \"run:\"\n",
		"from: x\nbuild_spec:\nsteps: []\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tm, diags := spec.Parse("sandbox-templates/fuzz.yaml", data)
		if tm != nil {
			diags = append(diags, schema.Default().Check(tm.File, tm, tm.BuildSpec)...)
			if len(tm.Digest()) != 64 {
				t.Errorf("bad digest %q", tm.Digest())
			}
			for _, p := range []string{"", "/from", "/steps/0/run", "/env/x", "/a~1b/0"} {
				if l, _ := tm.Locate(p); l < 1 {
					t.Errorf("Locate(%q) line %d", p, l)
				}
			}
		}
		for _, d := range diags {
			if d.Line < 0 || d.Col < 0 || d.Message == "" || d.Rule == "" {
				t.Errorf("bad diagnostic %#v", d)
			}
			if strings.ContainsAny(d.String(), "\r\n") {
				t.Errorf("diagnostic spans lines: %q", d.String())
			}
		}
	})
}
