package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/miosa-dev/sandbox-templates-action/internal/schema"
	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
)

// loadBench writes n generated template files and loads them once.
func loadBench(b *testing.B, n int) (string, []*spec.Template) {
	b.Helper()
	dir := b.TempDir()
	if err := writeWorkspace(dir, "b", n); err != nil {
		b.Fatal(err)
	}
	ts, diags, err := spec.Load(spec.Options{Root: dir})
	if err != nil || len(diags) > 0 || len(ts) != n {
		b.Fatalf("load: %d templates, %v, %v", len(ts), diags, err)
	}
	return dir, ts
}

// BenchmarkLoad reads and parses the template files: the part of validate
// and apply that runs before the first request.
func BenchmarkLoad(b *testing.B) {
	for _, n := range []int{200, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			dir, _ := loadBench(b, n)
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := spec.Load(spec.Options{Root: dir}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCheck validates loaded build specs against the embedded schema.
func BenchmarkCheck(b *testing.B) {
	_, ts := loadBench(b, 1000)
	sch := schema.Default()
	b.ReportAllocs()
	for b.Loop() {
		for _, t := range ts {
			if ds := sch.Check(t.File, t, t.BuildSpec); len(ds) > 0 {
				b.Fatal(ds)
			}
		}
	}
}

// BenchmarkDigest computes the spec digests that idempotency keys and the
// plan use.
func BenchmarkDigest(b *testing.B) {
	_, ts := loadBench(b, 1000)
	b.ReportAllocs()
	for b.Loop() {
		for _, t := range ts {
			_ = t.Digest()
		}
	}
}

// TestGeneratedTemplatesAreValid: every generated file loads and passes the
// embedded schema, and the JSON bodies of the shell loop carry the same spec.
func TestGeneratedTemplatesAreValid(t *testing.T) {
	dir := t.TempDir()
	if err := writeWorkspace(dir, "g", 20); err != nil {
		t.Fatal(err)
	}
	ts, diags, err := spec.Load(spec.Options{Root: dir})
	if err != nil || len(diags) > 0 || len(ts) != 20 {
		t.Fatalf("load: %d templates, %v, %v", len(ts), diags, err)
	}
	for i, tpl := range ts {
		if ds := schema.Default().Check(tpl.File, tpl, tpl.BuildSpec); len(ds) > 0 {
			t.Errorf("%s: %v", tpl.File, ds)
		}
		if got, want := tpl.Digest(), spec.Digest(templateSpec(i)); got != want {
			t.Errorf("%s: digest of the YAML %s, of the shell loop's JSON %s", tpl.File, got, want)
		}
	}
}

// TestReadOutputs reads a GITHUB_OUTPUT file as the runner's toolkit
// writes it: sizes by name, and the JSON outputs that do not parse.
func TestReadOutputs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "output")
	raw := "status=success\n" +
		"plan<<ghadelimiter_1\n[{\"name\":\"a\"},\n{\"name\":\"b\"}]\nghadelimiter_1\n" +
		"builds<<ghadelimiter_2\n{\"a\":\nghadelimiter_2\n"
	if err := os.WriteFile(path, []byte(raw), 0o644); err != nil {
		t.Fatal(err)
	}
	r := scaleRun{outputs: map[string]int{}}
	if err := r.readOutputs(path); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"status": 7, "plan": len("[{\"name\":\"a\"},\n{\"name\":\"b\"}]"), "builds": len("{\"a\":")}
	if diff := cmp.Diff(want, r.outputs); diff != "" {
		t.Errorf("sizes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"builds"}, r.badJSON); diff != "" {
		t.Errorf("invalid JSON outputs (-want +got):\n%s", diff)
	}
	if got := r.largestOutput(); got != "plan 28 B" {
		t.Errorf("largest output = %q", got)
	}
}
