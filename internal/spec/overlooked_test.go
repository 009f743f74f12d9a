package spec_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/miosa-dev/sandbox-templates-action/internal/schema"
	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
)

// tree writes files (slash paths relative to a new root).
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, body := range files {
		write(t, filepath.Join(root, filepath.FromSlash(name)), body)
	}
	return root
}

func TestFindOverlooked(t *testing.T) {
	t.Parallel()
	root := tree(t, map[string]string{
		"sandbox-templates/web.yaml":           okTemplate, // matched
		"sandbox-templates/api.yml":            okTemplate, // matched
		"sandbox-templates/Worker.YAML":        okTemplate, // extension case
		"sandbox-templates/db.Yml":             okTemplate, // extension case
		"sandbox-templates/team/cache.yaml":    okTemplate, // nested
		"sandbox-templates/team/deep/q.yml":    okTemplate, // nested, two levels
		"sandbox-templates/team/Upper.YAML":    okTemplate, // nested, and case
		"sandbox-templates/README.md":          "not YAML",
		"sandbox-templates/.hidden/x.yaml":     okTemplate, // hidden directory: not entered
		"sandbox-templates/notes.txt":          "x",
		"other/outside.yaml":                   okTemplate, // under no pattern's directory
		"sandbox-templates/team/values.json":   "{}",
		"sandbox-templates/nested/x.yaml/keep": "a directory named like a template", // its file is not YAML
	})
	got := spec.FindOverlooked(spec.Options{Root: root})
	want := []spec.Overlooked{
		{File: "sandbox-templates/Worker.YAML", Pattern: "sandbox-templates/*.yaml"},
		{File: "sandbox-templates/db.Yml", Pattern: "sandbox-templates/*.yml"},
		{File: "sandbox-templates/team/Upper.YAML", Pattern: "sandbox-templates/*.yaml", Nested: true},
		{File: "sandbox-templates/team/cache.yaml", Pattern: "sandbox-templates/*.yaml", Nested: true},
		{File: "sandbox-templates/team/deep/q.yml", Pattern: "sandbox-templates/*.yml", Nested: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FindOverlooked (-want +got):\n%s", diff)
	}
	// A "**" pattern reads every level: only letter case is left.
	got = spec.FindOverlooked(spec.Options{Root: root, Patterns: []string{"sandbox-templates/**/*.yaml", "sandbox-templates/**/*.yml"}})
	var files []string
	for _, o := range got {
		files = append(files, o.File)
		if o.Nested {
			t.Errorf("%s is reported in a subdirectory under a ** pattern", o.File)
		}
	}
	if want := []string{"sandbox-templates/Worker.YAML", "sandbox-templates/db.Yml", "sandbox-templates/team/Upper.YAML"}; !slices.Equal(files, want) {
		t.Errorf("under **: %q, want %q", files, want)
	}
	// Nothing to say when every file is read.
	if got := spec.FindOverlooked(spec.Options{Root: tree(t, map[string]string{"sandbox-templates/a.yaml": okTemplate})}); len(got) != 0 {
		t.Errorf("FindOverlooked = %v, want none", got)
	}
	// Nor for a missing directory or a bad pattern.
	if got := spec.FindOverlooked(spec.Options{Root: root, Patterns: []string{"missing/*.yaml", "../*.yaml", "["}}); len(got) != 0 {
		t.Errorf("FindOverlooked = %v, want none", got)
	}
}

func TestOverlookedNotice(t *testing.T) {
	t.Parallel()
	if got := spec.OverlookedNotice(nil); got != "" {
		t.Errorf("no file: %q, want no notice", got)
	}
	list := []spec.Overlooked{
		{File: "sandbox-templates/Worker.YAML", Pattern: "sandbox-templates/*.yaml"},
		{File: "sandbox-templates/team/cache.yaml", Pattern: "sandbox-templates/*.yaml", Nested: true},
	}
	want := "2 files look like a template but no path pattern matches: sandbox-templates/Worker.YAML (letter case), " +
		"sandbox-templates/team/cache.yaml (in a subdirectory). Patterns match letter case exactly: rename the file to match " +
		"sandbox-templates/*.yaml. * does not enter directories: sandbox-templates/**/*.yaml reads every level below sandbox-templates."
	if got := spec.OverlookedNotice(list); got != want {
		t.Errorf("notice:\n got %q\nwant %q", got, want)
	}
	// At most 10 names, then a count.
	list = nil
	for i := range 13 {
		list = append(list, spec.Overlooked{File: fmt.Sprintf("t/%02d.YAML", i), Pattern: "t/*.yaml"})
	}
	want = "13 files look like a template but no path pattern matches: t/00.YAML (letter case), t/01.YAML (letter case), " +
		"t/02.YAML (letter case), t/03.YAML (letter case), t/04.YAML (letter case), t/05.YAML (letter case), t/06.YAML (letter case), " +
		"t/07.YAML (letter case), t/08.YAML (letter case), t/09.YAML (letter case) and 3 more. Patterns match letter case exactly: " +
		"rename the file to match t/*.yaml."
	if got := spec.OverlookedNotice(list); got != want {
		t.Errorf("capped notice:\n got %q\nwant %q", got, want)
	}
}

// A pattern's directory that is a symlink out of the root (a fork's
// sandbox-templates -> /) is not walked: no name of a file outside the
// checkout reaches the notice. One that stays inside the root is walked,
// as Load reads it.
func TestFindOverlookedSymlinkOut(t *testing.T) {
	t.Parallel()
	outside := tree(t, map[string]string{"Secret.YAML": okTemplate, "etc/passwd.yaml": okTemplate})
	root := tree(t, map[string]string{"real/Inside.YAML": okTemplate})
	if err := os.Symlink(outside, filepath.Join(root, "sandbox-templates")); err != nil {
		t.Skip("no symlinks here:", err)
	}
	if err := os.Symlink("real", filepath.Join(root, "linked")); err != nil {
		t.Fatal(err)
	}
	// The symlink is the walk's base, or a directory above it.
	for _, p := range []string{"sandbox-templates/*.yaml", "sandbox-templates/etc/*.yaml"} {
		if got := spec.FindOverlooked(spec.Options{Root: root, Patterns: []string{p}}); len(got) != 0 {
			t.Errorf("%s: FindOverlooked = %v, want nothing outside the root", p, got)
		}
	}
	want := []spec.Overlooked{{File: "linked/Inside.YAML", Pattern: "linked/*.yaml"}}
	if diff := cmp.Diff(want, spec.FindOverlooked(spec.Options{Root: root, Patterns: []string{"linked/*.yaml"}})); diff != "" {
		t.Errorf("a link inside the root (-want +got):\n%s", diff)
	}
}

// The walk is bounded: a pattern at the root of a large tree looks at no
// more than its budget of entries (20,000; 250 here), and still finds what
// it reaches first. Not parallel: it changes the budget.
func TestFindOverlookedIsBounded(t *testing.T) {
	defer spec.SetOverlookedVisit(250)()
	root := t.TempDir()
	for i := range 3 {
		for j := range 100 {
			write(t, filepath.Join(root, fmt.Sprintf("d%d", i), fmt.Sprintf("f%03d.txt", j)), "")
		}
	}
	write(t, filepath.Join(root, "A.YAML"), okTemplate)             // first in the walk
	write(t, filepath.Join(root, "d2", "zz", "B.yaml"), okTemplate) // past the budget
	got := spec.FindOverlooked(spec.Options{Root: root, Patterns: []string{"*.yaml"}})
	if len(got) != 1 || got[0].File != "A.YAML" {
		t.Errorf("FindOverlooked = %v, want A.YAML alone", got)
	}
}

// SpecKeys, the fields that a file's top level names as misplaced, are the
// embedded schema's build_spec properties.
func TestSpecKeysAreTheSchemas(t *testing.T) {
	t.Parallel()
	var doc struct {
		Properties map[string]any `json:"properties"`
	}
	if err := json.Unmarshal(schema.Embedded(), &doc); err != nil {
		t.Fatal(err)
	}
	var props []string
	for k := range doc.Properties {
		props = append(props, k)
	}
	slices.Sort(props)
	keys := slices.Sorted(slices.Values(spec.SpecKeys))
	if diff := cmp.Diff(props, keys); diff != "" {
		t.Errorf("SpecKeys (-schema +SpecKeys):\n%s", diff)
	}
}

func TestTrailingDocumentSeparator(t *testing.T) {
	t.Parallel()
	const tpl = "name: t\nbuild_spec:\n  from: node:22\n"
	for _, tail := range []string{"---\n", "---", "---\n\n", "---\n# the end\n", "--- # the end\n", "---\n...\n", "---\n---\n", "...\n", "---\r\n"} {
		tm, diags := spec.Parse("sandbox-templates/t.yaml", []byte(tpl+tail))
		if tm == nil || len(diags) != 0 {
			t.Errorf("%q after the template: %v", tail, diags)
		}
	}
	// A second document with content stays an error, at its "---".
	for tail, line := range map[string]int{"---\nname: u\n": 4, "---\n~\n": 4, "---\n---\nname: u\n": 5, "---\n- a\n": 4, "---\n[\n": 4} {
		_, diags := spec.Parse("sandbox-templates/t.yaml", []byte(tpl+tail))
		if len(diags) != 1 || diags[0].Rule != "multi-document" || diags[0].Line != line {
			t.Errorf("%q after the template: %v, want one multi-document error on line %d", tail, diags, line)
		}
	}
}
