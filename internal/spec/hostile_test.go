package spec_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
)

const okTemplate = "build_spec:\n  from: node:22-bookworm\n"

// repo makes a temporary repository with the given template files (paths
// relative to sandbox-templates/).
func repo(t testing.TB, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "sandbox-templates")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// wantDiag asserts that diags hold exactly one error for path with rule and a
// message containing msg.
func wantDiag(t *testing.T, diags diag.List, path, rule, msg string) {
	t.Helper()
	for _, d := range diags {
		if d.Path == path && d.Rule == rule && strings.Contains(d.Message, msg) {
			if strings.ContainsAny(d.String(), "\r\n") || strings.HasPrefix(d.String(), "::") {
				t.Errorf("diagnostic can break the log: %q", d.String())
			}
			return
		}
	}
	t.Errorf("no [%s] diagnostic for %s containing %q; got:\n%s", rule, path, msg, diags.Text())
}

// measure runs f and returns the bytes it allocated.
func measure(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestHostileFiles(t *testing.T) {
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.yaml"), []byte(okTemplate), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		setup      func(t *testing.T, dir string) // dir is root/sandbox-templates
		path, rule string
		msg        string
	}{
		{"symlink out of the root", func(t *testing.T, dir string) {
			symlink(t, filepath.Join(outside, "secret.yaml"), filepath.Join(dir, "secret.yaml"))
		}, "sandbox-templates/secret.yaml", "symlink", "outside the repository"},
		{"relative symlink out of the root", func(t *testing.T, dir string) {
			rel, _ := filepath.Rel(dir, filepath.Join(outside, "secret.yaml"))
			symlink(t, rel, filepath.Join(dir, "rel.yaml"))
		}, "sandbox-templates/rel.yaml", "symlink", "outside the repository"},
		{"symlink to /dev/zero", func(t *testing.T, dir string) {
			symlink(t, "/dev/zero", filepath.Join(dir, "zero.yaml"))
		}, "sandbox-templates/zero.yaml", "symlink", "outside the repository"},
		{"broken symlink", func(t *testing.T, dir string) {
			symlink(t, filepath.Join(dir, "missing"), filepath.Join(dir, "broken.yaml"))
		}, "sandbox-templates/broken.yaml", "symlink", "does not exist"},
		{"symlink loop", func(t *testing.T, dir string) {
			symlink(t, "loop.yaml", filepath.Join(dir, "loop.yaml"))
		}, "sandbox-templates/loop.yaml", "symlink", "cannot be resolved"},
		{"directory named like a template", func(t *testing.T, dir string) {
			mkdir(t, filepath.Join(dir, "dir.yaml"))
		}, "sandbox-templates/dir.yaml", "file-type", "directory"},
		{"file name with a newline", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "a\n::error::b.yaml"), okTemplate)
		}, `"sandbox-templates/a\n::error::b.yaml"`, "file-name", "control"},
		{"file name with ::", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "::warning::x.yaml"), okTemplate)
		}, `"sandbox-templates/::warning::x.yaml"`, "file-name", `"::"`},
		{"file name with an escape character", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "a\x1b[31m.yaml"), okTemplate)
		}, `"sandbox-templates/a\x1b[31m.yaml"`, "file-name", "control"},
		{"file name with a bidi override", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "a\u202egpj.yaml"), okTemplate)
		}, `"sandbox-templates/a\u202egpj.yaml"`, "file-name", "invisible"},
		{"file name not UTF-8", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "a\xff.yaml"), okTemplate)
		}, `"sandbox-templates/a\xff.yaml"`, "file-name", "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := repo(t, map[string]string{"good.yaml": okTemplate})
			tt.setup(t, filepath.Join(root, "sandbox-templates"))
			ts, diags, err := spec.Load(spec.Options{Root: root})
			if err != nil {
				t.Fatal(err)
			}
			wantDiag(t, diags, tt.path, tt.rule, tt.msg)
			if len(ts) != 1 || ts[0].Name != "good" {
				t.Errorf("templates = %v, want only good", ts)
			}
			if n := diags.Errors(); n != 1 {
				t.Errorf("%d errors, want 1:\n%s", n, diags.Text())
			}
		})
	}
}

func TestDirectorySymlinkOutOfRoot(t *testing.T) {
	outside := t.TempDir()
	write(t, filepath.Join(outside, "x.yaml"), okTemplate)
	root := t.TempDir()
	symlink(t, outside, filepath.Join(root, "sandbox-templates"))
	ts, diags, err := spec.Load(spec.Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	wantDiag(t, diags, "sandbox-templates/x.yaml", "symlink", "outside the repository")
	if len(ts) != 0 {
		t.Errorf("read %d templates through a symlink out of the root", len(ts))
	}
}

func TestSymlinkInsideRoot(t *testing.T) {
	root := repo(t, map[string]string{})
	write(t, filepath.Join(root, "shared", "base.yaml"), "name: base\n"+okTemplate)
	symlink(t, filepath.Join("..", "shared", "base.yaml"), filepath.Join(root, "sandbox-templates", "base.yaml"))
	ts, diags, err := spec.Load(spec.Options{Root: root})
	if err != nil || len(diags) != 0 || len(ts) != 1 {
		t.Fatalf("Load = %v, %v, %v", ts, diags, err)
	}
	if ts[0].File != "sandbox-templates/base.yaml" {
		t.Errorf("File = %q, want the symlink's path", ts[0].File)
	}
}

func TestPatterns(t *testing.T) {
	root := repo(t, map[string]string{"a.yaml": okTemplate})
	write(t, filepath.Join(root, "other", "b.yaml"), okTemplate)
	ts, diags, err := spec.Load(spec.Options{Root: root, Patterns: []string{
		"../*.yaml", "/etc/*.yaml", "[", "./sandbox-templates/*.yaml", "sandbox-templates/a.yaml", "other/*.yaml",
	}})
	if err != nil {
		t.Fatal(err)
	}
	wantDiag(t, diags, "../*.yaml", "pattern", "inside")
	wantDiag(t, diags, "/etc/*.yaml", "pattern", "inside")
	wantDiag(t, diags, "[", "pattern", "invalid glob")
	if len(ts) != 2 || ts[0].File != "sandbox-templates/a.yaml" || ts[1].File != "other/b.yaml" {
		t.Errorf("templates = %+v, want a.yaml (once) and other/b.yaml", ts)
	}
}

func TestNoFiles(t *testing.T) {
	empty := t.TempDir()
	emptyDir := repo(t, nil) // sandbox-templates/ exists, and holds nothing
	tests := []struct {
		name, root, ifNoFiles string
		want                  string // the diagnostic; "" for none
		severity              diag.Severity
	}{
		{"default", empty, "", "no template files match: there is no directory sandbox-templates; if that is expected, set if-no-files-found to warn or ignore", diag.Error},
		{"error", emptyDir, spec.NoFilesError, "no template files match; if that is expected, set if-no-files-found to warn or ignore", diag.Error},
		{"warn", emptyDir, spec.NoFilesWarn, "no template files match", diag.Warning},
		{"warn, no directory", empty, spec.NoFilesWarn, "no template files match: there is no directory sandbox-templates", diag.Warning},
		{"ignore", empty, spec.NoFilesIgnore, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, diags, err := spec.Load(spec.Options{Root: tt.root, IfNoFiles: tt.ifNoFiles})
			if err != nil || len(ts) != 0 {
				t.Fatalf("Load = %v, %v", ts, err)
			}
			if tt.want == "" {
				if len(diags) != 0 {
					t.Errorf("want no diagnostic, got:\n%s", diags.Text())
				}
				return
			}
			if len(diags) != 1 || diags[0].Rule != "no-files" || diags[0].Message != tt.want || diags[0].Severity != tt.severity {
				t.Errorf("want one no-files %s %q, got:\n%s", tt.severity, tt.want, diags.Text())
			}
			if diags[0].Path != "sandbox-templates/*.yaml, sandbox-templates/*.yml" {
				t.Errorf("Path = %q, want the patterns", diags[0].Path)
			}
		})
	}
	// A pattern's problem is reported, not "no files" on top of it.
	_, diags, _ := spec.Load(spec.Options{Root: empty, Patterns: []string{"../*.yaml"}})
	if len(diags) != 1 || diags[0].Rule != "pattern" {
		t.Errorf("want the pattern problem alone, got:\n%s", diags.Text())
	}
}

func TestRootErrors(t *testing.T) {
	root := t.TempDir()
	file := filepath.Join(root, "f")
	write(t, file, "x")
	for _, r := range []string{filepath.Join(root, "missing"), file} {
		if _, _, err := spec.Load(spec.Options{Root: r}); err == nil {
			t.Errorf("Load(%s): no error", r)
		}
	}
}

// TestTooManyFiles: more files than the cap are one clear error, and
// nothing is read. The default cap is 10,000 files (the test uses a
// smaller one to stay quick).
func TestTooManyFiles(t *testing.T) {
	if spec.DefaultMaxFiles < 10_000 {
		t.Errorf("DefaultMaxFiles = %d, want no cap below 10,000", spec.DefaultMaxFiles)
	}
	const limit = 50
	files := map[string]string{}
	for i := range limit + 1 {
		files[fmt.Sprintf("t%05d.yaml", i)] = okTemplate
	}
	root := repo(t, files)
	ts, diags, err := spec.Load(spec.Options{Root: root, MaxFiles: limit})
	if err != nil {
		t.Fatal(err)
	}
	wantDiag(t, diags, "sandbox-templates/*.yaml, sandbox-templates/*.yml", "too-many-files", "51 files match; at most 50")
	if len(ts) != 0 || len(diags) != 1 {
		t.Errorf("got %d templates and %d diagnostics, want none and 1", len(ts), len(diags))
	}
}

// TestBigInputs feeds the three large hostile inputs and checks that each is
// rejected with a clear message without using much memory.
func TestBigInputs(t *testing.T) {
	laughs := "build_spec:\n  from: node\n  a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
	prev := "a"
	for _, c := range "bcdefghi" {
		laughs += fmt.Sprintf("  %c: &%c [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n", c, c, prev, prev, prev, prev, prev, prev, prev, prev, prev)
		prev = string(c)
	}
	tests := []struct {
		name, content, rule, msg string
		line                     int
	}{
		{"2 MiB file", "build_spec:\n  from: node\n#" + strings.Repeat("x", 2<<20) + "\n", "file-size", "file is 2.0 MiB; the limit is 1 MiB", 0},
		{"100,000 nested lists", "build_spec:\n  env: " + strings.Repeat("[", 100_000) + "\n", "depth", "deeper than 64 levels", 2},
		{"billion laughs", laughs, "alias", "alias *a is not allowed", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := repo(t, map[string]string{"big.yaml": tt.content})
			var diags diag.List
			start := time.Now()
			alloc := measure(func() {
				var err error
				_, diags, err = spec.Load(spec.Options{Root: root})
				if err != nil {
					t.Fatal(err)
				}
			})
			wantDiag(t, diags, "sandbox-templates/big.yaml", tt.rule, tt.msg)
			if len(diags) != 1 || diags[0].Line != tt.line {
				t.Errorf("diagnostics:\n%s\nwant one at line %d", diags.Text(), tt.line)
			}
			t.Logf("%s: allocated %.1f MiB in %v: %s", tt.name, float64(alloc)/(1<<20), time.Since(start), diags.Text())
			if alloc > 100<<20 {
				t.Errorf("allocated %d MiB, want < 100 MiB", alloc>>20)
			}
		})
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("symlinks not available: %v", err)
	}
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, file, content string) {
	t.Helper()
	mkdir(t, filepath.Dir(file))
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Skipf("cannot create %q here: %v", file, err)
	}
}
