package run_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
	"github.com/miosa-dev/sandbox-templates-action/internal/golden"
	"github.com/miosa-dev/sandbox-templates-action/internal/run"
	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
)

// load reads and checks root through the one validation path that validate,
// the action and apply share.
func load(t testing.TB, opts spec.Options) ([]*spec.Template, diag.List) {
	t.Helper()
	r, err := run.CheckFiles(opts, nil, nil)
	if err != nil {
		t.Fatalf("CheckFiles: %v", err)
	}
	return r.Templates, r.Diagnostics
}

func TestBadGolden(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("..", "..", "testdata", "bad", "*"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, dir := range dirs {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			continue
		}
		n++
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			_, diags := load(t, spec.Options{Root: dir})
			if !diags.HasErrors() {
				t.Errorf("no errors reported for a bad case")
			}
			for _, d := range diags {
				if d.Message == "" || d.Rule == "" || strings.ContainsAny(d.String(), "\n\r") {
					t.Errorf("malformed diagnostic %q", d.String())
				}
			}
			golden.Check(t, dir+".golden", diags.Text())
		})
	}
	if n < 35 {
		t.Errorf("only %d bad cases, want at least 35", n)
	}
}

func TestGood(t *testing.T) {
	ts, diags := load(t, spec.Options{Root: filepath.Join("..", "..", "testdata", "good")})
	if len(diags) != 0 {
		t.Fatalf("unexpected problems:\n%s", diags.Text())
	}
	type row struct{ Name, File string }
	var got []row
	for _, tm := range ts {
		got = append(got, row{tm.Name, tm.File})
	}
	want := []row{
		{"node-20-runtime", "sandbox-templates/node-runtime.yaml"},
		{"node-22-base", "sandbox-templates/node-22-base.yaml"},
		{"python-3-12", "sandbox-templates/python-3-12.yml"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("templates (-want +got):\n%s", diff)
	}
	node := ts[1]
	if diff := cmp.Diff(map[string]string{"team": "platform", "owner": "@miosa-dev/platform"}, node.Metadata); diff != "" {
		t.Errorf("metadata (-want +got):\n%s", diff)
	}
	if got, want := node.BuildSpec["previewPort"], int64(3000); got != want {
		t.Errorf("previewPort = %#v, want %#v", got, want)
	}
	if line, col := node.Line, node.Col; line != 2 || col != 7 {
		t.Errorf("name position = %d:%d, want 2:7", line, col)
	}
	if py := ts[2]; py.Line != 1 || py.Col != 1 {
		t.Errorf("defaulted name position = %d:%d, want 1:1", py.Line, py.Col)
	}
}
