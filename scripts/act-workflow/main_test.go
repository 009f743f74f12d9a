package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const url = "http://127.0.0.1:8787/api/v1"

func TestLocalize(t *testing.T) {
	tests := []struct {
		name      string
		src, want string
		steps     int
		refs      []string
	}{{
		name: "published ref with a comment, with: present",
		src: `on: push
jobs:
  sync:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4 # keep
      - id: sync
        # pinned
        uses: miosa-dev/sandbox-templates-action@0123456789abcdef0123456789abcdef01234567 # v1.2.0
        with:
          # the secret
          api-key: ${{ secrets.MIOSA_API_KEY }}
      - run: echo done
`,
		want: `on: push
jobs:
  sync:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4 # keep
      - id: sync
        # pinned
        uses: miosa-dev/sandbox-templates-action@0123456789abcdef0123456789abcdef01234567 # v1.2.0
        with:
          # the secret
          api-url: http://127.0.0.1:8787/api/v1
          api-key: ${{ secrets.MIOSA_API_KEY }}
      - run: echo done
`,
		steps: 1,
		refs:  []string{"miosa-dev/sandbox-templates-action@0123456789abcdef0123456789abcdef01234567"},
	}, {
		name: "no with:, uses first in the step",
		src: `on: pull_request
jobs:
  a:
    steps:
      - uses: miosa-dev/sandbox-templates-action@v1
      - run: true
`,
		want: `on: pull_request
jobs:
  a:
    steps:
      - uses: miosa-dev/sandbox-templates-action@v1
        with:
          api-url: http://127.0.0.1:8787/api/v1
      - run: true
`,
		steps: 1,
		refs:  []string{"miosa-dev/sandbox-templates-action@v1"},
	}, {
		name: "api-url already set is replaced; two jobs; a local step",
		src: `on: push
jobs:
  a:
    steps:
      - uses: miosa-dev/sandbox-templates-action@v1
        with:
          api-url: https://api.miosa.example/api/v1 # prod
          mode: plan
  b:
    steps:
      - with:
          mode: apply
        uses: ./
`,
		want: `on: push
jobs:
  a:
    steps:
      - uses: miosa-dev/sandbox-templates-action@v1
        with:
          api-url: http://127.0.0.1:8787/api/v1
          mode: plan
  b:
    steps:
      - with:
          api-url: http://127.0.0.1:8787/api/v1
          mode: apply
        uses: ./
`,
		steps: 2,
		refs:  []string{"miosa-dev/sandbox-templates-action@v1"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, loc, err := Localize([]byte(tt.src), url)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
			if loc.Steps != tt.steps || !slices.Equal(loc.Refs, tt.refs) {
				t.Errorf("%d steps, references %q; want %d and %q", loc.Steps, loc.Refs, tt.steps, tt.refs)
			}
		})
	}
}

func TestLocalizeRefuses(t *testing.T) {
	tests := []struct {
		name, src, err string
	}{
		{"no step of the action", "on: push\njobs:\n  a:\n    steps:\n      - uses: actions/checkout@v4\n", "no step uses miosa-dev/sandbox-templates-action"},
		{"another owner's fork", "on: push\njobs:\n  a:\n    steps:\n      - uses: someone/sandbox-templates-action@v1\n", "no step uses"},
		{"flow with:", "on: push\njobs:\n  a:\n    steps:\n      - uses: miosa-dev/sandbox-templates-action@v1\n        with: {mode: plan}\n", "with is not a block mapping"},
		{"block api-url", "on: push\njobs:\n  a:\n    steps:\n      - uses: miosa-dev/sandbox-templates-action@v1\n        with:\n          api-url: |\n            x\n", "api-url is not a one-line scalar"},
		{"no jobs", "on: push\n", "no jobs mapping"},
		{"not yaml", "jobs: [\n", "parse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Localize([]byte(tt.src), url)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error %v, want one saying %q", err, tt.err)
			}
		})
	}
}

// The workflows scripts/e2e-act.sh runs under act (the examples and the
// docs' preview workflow) must keep converting: a rewrite this program
// cannot make fails here first. Each keeps every line, its published
// reference included, and gains api-url.
func TestLocalizeUserWorkflows(t *testing.T) {
	files, err := filepath.Glob("../../examples/workflows/*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example workflows (%v)", err)
	}
	files = append(files, "../../testdata/workflows/e2e/preview.yml")
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got, loc, err := Localize(src, url)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if loc.Steps == 0 || len(loc.Refs) == 0 || strings.Count(string(got), "api-url: "+url+"\n") != loc.Steps {
			t.Errorf("%s: %d steps, references %q:\n%s", f, loc.Steps, loc.Refs, got)
		}
		for _, r := range loc.Refs {
			if !bytes.Contains(got, []byte("uses: "+r)) {
				t.Errorf("%s: the reference %s is not the one the workflow uses", f, r)
			}
		}
		// Every line of the workflow is still there.
		kept := map[string]bool{}
		for _, l := range strings.Split(string(got), "\n") {
			kept[l] = true
		}
		for _, l := range strings.Split(string(src), "\n") {
			if !kept[l] {
				t.Errorf("%s: line %q is gone", f, l)
			}
		}
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.yml")
	out := filepath.Join(dir, "out.yml")
	if err := os.WriteFile(in, []byte("on: push\njobs:\n  a:\n    steps:\n      - uses: miosa-dev/sandbox-templates-action@v1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-api-url", url, "-o", out, in}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	got, _ := os.ReadFile(out)
	if !strings.Contains(string(got), "uses: miosa-dev/sandbox-templates-action@v1\n        with:\n          api-url: "+url+"\n") {
		t.Errorf("wrote:\n%s", got)
	}
	if stdout.String() != "miosa-dev/sandbox-templates-action@v1\n" {
		t.Errorf("printed %q, want the reference the workflow uses", stdout.String())
	}
	if code := run([]string{in}, &stdout, &stderr); code != 2 {
		t.Errorf("without -api-url: exit %d, want 2", code)
	}
	if code := run([]string{"-api-url", url, filepath.Join(dir, "missing.yml")}, &stdout, &stderr); code != 1 {
		t.Errorf("a missing file: exit %d, want 1", code)
	}
}
