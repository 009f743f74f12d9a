package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	goldenfile "github.com/miosa-dev/sandbox-templates-action/internal/golden"
	"github.com/miosa-dev/sandbox-templates-action/internal/schema"
)

// run calls Main with a fake environment.
func runCLI(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, &out, &errb, func(k string) string { return env[k] })
	return code, out.String(), errb.String()
}

// cliGolden holds the CLI's golden files, shared with the e2e tests.
var cliGolden = goldenfile.Dir(filepath.Join("..", "..", "testdata", "cli"))

// tree writes files (slash paths) under a new temporary directory.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const (
	goodNode = "name: node-22-base\nbuild_spec:\n  from: node:22-bookworm\n  steps:\n    - run: a\n    - run: b\n    - run: c\n"
	goodPy   = "build_spec:\n  runtime: python\n  version: \"3.12\"\n  packages: [curl]\n"
	badSize  = "name: big\nbuild_spec:\n  from: node:22\n  size: huge\n  vcpu: two\n"
	badYAML  = "name: broken\nbuild_spec:\n\tfrom: x\n"
)

func TestValidateGoodOnly(t *testing.T) {
	root := tree(t, map[string]string{
		"sandbox-templates/node.yaml":       goodNode,
		"sandbox-templates/python-3-12.yml": goodPy,
	})
	code, out, errOut := runCLI(t, nil, "validate", "--dir", root)
	if code != ExitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	want := "ok  sandbox-templates/node.yaml        node-22-base  (from node:22-bookworm, 3 steps)\n" +
		"ok  sandbox-templates/python-3-12.yml  python-3-12   (runtime python 3.12, 1 package)\n" +
		"2 templates valid in 2 files\n"
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

func TestValidateProblems(t *testing.T) {
	root := tree(t, map[string]string{
		"sandbox-templates/node.yaml":   goodNode,
		"sandbox-templates/big.yaml":    badSize,
		"sandbox-templates/broken.yaml": badYAML,
	})
	code, out, _ := runCLI(t, map[string]string{"GITHUB_WORKSPACE": root}, "validate")
	if code != ExitProblems {
		t.Errorf("exit %d, want %d", code, ExitProblems)
	}
	want := `sandbox-templates/big.yaml:4:9: build_spec.size: "huge" is not one of "xs", "small", "medium", "large", "xl" [schema]
sandbox-templates/big.yaml:5:9: build_spec.vcpu: must be an integer, found a string "two" [schema]
sandbox-templates/broken.yaml:3:1: found character that cannot start any token (YAML cannot be indented with tabs) [yaml]
3 problems in 2 of 3 files
`
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

func TestValidateJSON(t *testing.T) {
	root := tree(t, map[string]string{
		"sandbox-templates/node.yaml": goodNode,
		"sandbox-templates/big.yaml":  badSize,
		"other/py.yaml":               goodPy,
	})
	code, out, _ := runCLI(t, nil, "validate", "--json", "--dir", root, "--path", "sandbox-templates/*.yaml", "--path", "other/*.yaml")
	if code != ExitProblems {
		t.Errorf("exit %d, want %d", code, ExitProblems)
	}
	var r struct {
		Files     int
		Templates []struct {
			Name, File, Digest string
			Valid              bool
		}
		Problems []struct {
			Path, Field, Rule string
			Line              int
		}
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if r.Files != 3 || len(r.Templates) != 3 || len(r.Problems) != 2 {
		t.Fatalf("files %d, templates %d, problems %d:\n%s", r.Files, len(r.Templates), len(r.Problems), out)
	}
	if r.Templates[0].Name != "big" || r.Templates[0].Valid || !r.Templates[1].Valid || len(r.Templates[1].Digest) != 64 {
		t.Errorf("templates: %+v", r.Templates)
	}
	if p := r.Problems[0]; p.Path != "sandbox-templates/big.yaml" || p.Line != 4 || p.Field != "build_spec.size" || p.Rule != "schema" {
		t.Errorf("problem: %+v", p)
	}
}

func TestValidateTemplatesFlag(t *testing.T) {
	root := tree(t, map[string]string{
		"sandbox-templates/node.yaml":        goodNode,
		"sandbox-templates/python-3-12.yaml": goodPy,
	})
	code, out, _ := runCLI(t, nil, "validate", "--dir", root, "--templates", "python-3-12")
	if code != ExitOK || strings.Count(out, "\nok") != 0 || !strings.HasPrefix(out, "ok  sandbox-templates/python-3-12.yaml") {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
	code, out, _ = runCLI(t, nil, "validate", "--dir", root, "--templates", "node-22-base,pyhton-3-12")
	want := `templates: no template named "pyhton-3-12" in this repository; did you mean "python-3-12"? [unknown-template]` + "\n1 problem; 2 files checked\n"
	if code != ExitProblems || out != want {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
}

func TestValidateGoldenFixtures(t *testing.T) {
	code, out, _ := runCLI(t, nil, "validate", "--dir", filepath.Join("..", "..", "testdata", "good"))
	if code != ExitOK {
		t.Errorf("exit %d", code)
	}
	cliGolden.Check(t, "validate-good.golden", out)
	code, out, _ = runCLI(t, nil, "validate", "--dir", filepath.Join("..", "..", "testdata", "bad", "many-problems"))
	if code != ExitProblems {
		t.Errorf("exit %d", code)
	}
	cliGolden.Check(t, "validate-many-problems.golden", out)
}

func TestSchemaCommand(t *testing.T) {
	code, out, _ := runCLI(t, nil, "schema")
	if code != ExitOK || out != string(schema.Embedded()) {
		t.Errorf("exit %d, output differs from the embedded schema", code)
	}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		golden string // of stdout
		stderr string // substring
	}{
		{"help", []string{"help"}, ExitOK, "help.golden", ""},
		{"--help", []string{"--help"}, ExitOK, "help.golden", ""},
		{"help validate", []string{"help", "validate"}, ExitOK, "help-validate.golden", ""},
		{"validate -h", []string{"validate", "-h"}, ExitOK, "help-validate.golden", ""},
		{"schema --help", []string{"schema", "--help"}, ExitOK, "help-schema.golden", ""},
		{"no command", nil, ExitUsage, "", "Usage:"},
		{"unknown command", []string{"frobnicate"}, ExitUsage, "", `unknown command "frobnicate"`},
		{"help unknown", []string{"help", "frobnicate"}, ExitUsage, "", `unknown command "frobnicate"`},
		{"bad flag", []string{"validate", "--nope"}, ExitUsage, "", "flag provided but not defined: -nope"},
		{"extra argument", []string{"validate", "x.yaml"}, ExitUsage, "", `unexpected argument "x.yaml"`},
		{"missing root", []string{"validate", "--dir", "/nonexistent/root"}, ExitProblems, "", "validate: open root:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, nil, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			if tt.golden != "" {
				cliGolden.Check(t, tt.golden, out)
			}
			if !strings.Contains(errOut, tt.stderr) {
				t.Errorf("stderr %q does not contain %q", errOut, tt.stderr)
			}
		})
	}
}

func TestSafe(t *testing.T) {
	for in, want := range map[string]string{
		"node:22":       "node:22",
		"a\n::error::b": `"a\n::error::b"`,
		"::warning::x":  `"::warning::x"`,
		"caf\u00e9":     "caf\u00e9",
		"a\u202eb":      `"a\u202eb"`,
	} {
		if got := safe(in); got != want {
			t.Errorf("safe(%q) = %s, want %s", in, got, want)
		}
	}
}
