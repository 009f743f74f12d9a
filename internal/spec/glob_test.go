package spec_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
)

// files returns the File of each template.
func files(ts []*spec.Template) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.File)
	}
	slices.Sort(out)
	return out
}

// "**" matches any number of directories, none included, and files only
// (dir.yaml is not reported); fs.Glob read it as "*" and skipped nested
// files.
func TestDoubleStarFindsNestedFiles(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	for _, f := range []string{"top.yaml", "a/one.yaml", "a/b/c/deep.yml", "a/b/notes.txt"} {
		write(t, filepath.Join(root, "sandbox-templates", f), fmt.Sprintf("name: %s\n%s", slug(f), okTemplate))
	}
	mkdir(t, filepath.Join(root, "sandbox-templates", "dir.yaml"))
	tests := []struct {
		patterns []string
		want     []string
	}{
		{[]string{"sandbox-templates/**/*.yaml", "sandbox-templates/**/*.yml"},
			[]string{"sandbox-templates/a/b/c/deep.yml", "sandbox-templates/a/one.yaml", "sandbox-templates/top.yaml"}},
		{[]string{"sandbox-templates/**/*.{yaml,yml}"},
			[]string{"sandbox-templates/a/b/c/deep.yml", "sandbox-templates/a/one.yaml", "sandbox-templates/top.yaml"}},
		{[]string{"**/deep.yml"}, []string{"sandbox-templates/a/b/c/deep.yml"}},
		{[]string{"sandbox-templates/*/*.yaml"}, []string{"sandbox-templates/a/one.yaml"}},
	}
	for _, tt := range tests {
		ts, diags, err := spec.Load(spec.Options{Root: root, Patterns: tt.patterns})
		if err != nil {
			t.Fatal(err)
		}
		if len(diags) > 0 {
			t.Errorf("%q: unexpected diagnostics:\n%s", tt.patterns, diags.Text())
		}
		if diff := cmp.Diff(tt.want, files(ts)); diff != "" {
			t.Errorf("%q: files (-want +got):\n%s", tt.patterns, diff)
		}
	}
}

func slug(file string) string {
	name := filepath.Base(file)
	return name[:len(name)-len(filepath.Ext(name))]
}

// "**" keeps the repository's confinement: it does not follow a symlinked
// directory (out of the root, or a loop back into it), a symlinked file
// that leaves the root is refused as before, ".." cannot climb out, and the
// file limit stops the walk.
func TestDoubleStarStaysInTheRepository(t *testing.T) {
	t.Parallel()
	outside := t.TempDir()
	write(t, filepath.Join(outside, "secret.yaml"), "name: secret\n"+okTemplate)
	root := t.TempDir()
	dir := filepath.Join(root, "sandbox-templates")
	write(t, filepath.Join(dir, "a", "ok.yaml"), "name: ok\n"+okTemplate)
	symlink(t, outside, filepath.Join(dir, "a", "out"))
	symlink(t, "..", filepath.Join(dir, "a", "loop"))
	symlink(t, root, filepath.Join(dir, "root"))
	symlink(t, filepath.Join(outside, "secret.yaml"), filepath.Join(dir, "a", "leak.yaml"))

	ts, diags, err := spec.Load(spec.Options{Root: root, Patterns: []string{"sandbox-templates/**/*.yaml", "**/../../**/*.yaml"}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"sandbox-templates/a/ok.yaml"}, files(ts)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	wantDiag(t, diags, "sandbox-templates/a/leak.yaml", "symlink", "outside the repository")
	wantDiag(t, diags, "**/../../**/*.yaml", "pattern", "stay inside it")
	if len(diags) != 2 {
		t.Errorf("want 2 diagnostics, got:\n%s", diags.Text())
	}
}

func TestDoubleStarFileLimit(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	for i := range 60 {
		write(t, filepath.Join(root, "sandbox-templates", fmt.Sprintf("d%d", i%3), fmt.Sprintf("t%02d.yaml", i)), okTemplate)
	}
	for _, tt := range []struct {
		max  int
		want string
	}{
		{5, "more than 50 files match; at most 5 template files are read"},
		{7, "60 files match; at most 7 template files are read"},
	} {
		ts, diags, err := spec.Load(spec.Options{Root: root, MaxFiles: tt.max, Patterns: []string{"**/*.yaml"}})
		if err != nil {
			t.Fatal(err)
		}
		wantDiag(t, diags, "**/*.yaml", "too-many-files", tt.want)
		if len(ts) != 0 {
			t.Errorf("read %d templates past the limit", len(ts))
		}
	}
}
