package plan

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/miosa-dev/sandbox-templates-action/internal/golden"
)

// servedCanary marks every value a hostile server serves under env: none
// may be shown.
const servedCanary = "SERVEDxENV"

// diffCases are the diffs of testdata/diff.golden: what a person reads of
// each change, and the JSON of the plan output.
var diffCases = []struct {
	name           string
	served, wanted map[string]any
}{
	{
		name: "env: changed, added, removed; served values never shown",
		served: map[string]any{"from": "node:22", "env": map[string]any{
			"CI": servedCanary + "-1", "NPM_TOKEN": servedCanary + "-tok", "OLD": servedCanary + "-old",
			"SAME": "kept", "NESTED": map[string]any{"a": servedCanary + "-nested"}}},
		wanted: map[string]any{"from": "node:22", "env": map[string]any{
			"CI": "true", "NPM_TOKEN": "file-token-value", "NEW": "hello", "SAME": "kept",
			"NESTED": map[string]any{"a": "b"}}},
	},
	{
		name:   "env: the server serves no map",
		served: map[string]any{"from": "node:22", "env": servedCanary + "=1"},
		wanted: map[string]any{"from": "node:22", "env": map[string]any{"CI": "1", "DB_PASSWORD": "hunter2-file"}},
	},
	{
		name:   "env: the file drops it",
		served: map[string]any{"from": "node:22", "env": map[string]any{"A": servedCanary + "-a"}},
		wanted: map[string]any{"from": "node:22"},
	},
	{
		name: "credentials anywhere are masked",
		served: map[string]any{"from": "node:22", "steps": []any{
			map[string]any{"run": "git clone https://x-access-token:ghs_abcdefghij0123456789@github.com/o/r"},
			map[string]any{"run": "echo ok"}}},
		wanted: map[string]any{"from": "https://deploy:s3cretpw@registry.example/node:22", "steps": []any{
			map[string]any{"run": "npm config set //registry.npmjs.org/:_authToken=npm_abcdefgh12345678"},
			map[string]any{"run": "curl -H 'Authorization: Bearer eyJ0eXAi.abc123.sig' https://api.example"},
			map[string]any{"run": "echo ghp_0123456789abcdefghijABCDEFGHIJ012345 glpat-abcdefghij0123 xoxb-1234567890-abcdef AKIAIOSFODNN7EXAMPLE sk-proj-abcdefghij0123456789 msk_u_0123456789abcdef"},
			map[string]any{"run": strings.Repeat("x", 150) + " ghp_0123456789abcdefghijABCDEFGHIJ012345"}},
			"artifactPaths": []any{map[string]any{"url": "https://u:p4ssw0rd@h"}}},
	},
	{
		name:   "a create shows the file's values, secret env values masked",
		wanted: map[string]any{"from": "node:22", "env": map[string]any{"CI": "1", "GITHUB_TOKEN": "ghp_0123456789abcdefghijABCDEFGHIJ012345", "URL": "https://me:pw12345@h"}},
	},
}

// TestDiffGolden renders each case's changes and their JSON.
func TestDiffGolden(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for _, tc := range diffCases {
		changes := Diff(tc.served, tc.wanted)
		js, err := json.Marshal(changes)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("== " + tc.name + "\n")
		for _, c := range changes {
			b.WriteString(c.Render() + "\n")
		}
		b.WriteString(string(js) + "\n\n")
		for _, secret := range Secrets(tc.served, tc.wanted) {
			if strings.Contains(string(js), secret) || strings.Contains(b.String(), secret) {
				t.Errorf("%s: the diff shows %q", tc.name, secret)
			}
		}
	}
	got := b.String()
	if strings.Contains(got, servedCanary) {
		t.Errorf("a served env value is shown:\n%s", got)
	}
	for _, leak := range []string{"hunter2-file", "file-token-value", "s3cretpw", "p4ssw0rd", "pw12345"} {
		if strings.Contains(got, leak) {
			t.Errorf("%q is shown", leak)
		}
	}
	golden.Check(t, filepath.Join("testdata", "diff.golden"), got)
}

// TestDiffEnvForms pins the three forms of a served env entry.
func TestDiffEnvForms(t *testing.T) {
	t.Parallel()
	served := map[string]any{"env": map[string]any{"A": "served-a", "B": "served-b"}}
	wanted := map[string]any{"env": map[string]any{"A": "file-a", "C": "file-c"}}
	want := []Change{
		{Path: "build_spec.env.A", From: Hidden, To: "file-a"},
		{Path: "build_spec.env.B", From: Hidden},
		{Path: "build_spec.env.C", To: "file-c"},
	}
	got := Diff(served, wanted)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Diff (-want +got):\n%s", diff)
	}
	var lines []string
	for _, c := range got {
		lines = append(lines, c.Render())
	}
	wantLines := []string{
		`build_spec.env.A: changed to "file-a"`,
		`build_spec.env.B: removed`,
		`build_spec.env.C: added "file-c"`,
	}
	if diff := cmp.Diff(wantLines, lines); diff != "" {
		t.Errorf("Render (-want +got):\n%s", diff)
	}
}

func TestDiffSecrets(t *testing.T) {
	t.Parallel()
	served := map[string]any{"env": map[string]any{"API_KEY": "served-key-value", "CI": "1"}}
	wanted := map[string]any{
		"env": map[string]any{"NPM_TOKEN": "line-one-secret\nline-two-secret", "PASSWORD": "abc", "CI": "true",
			"JSON_SECRET": map[string]any{"k": "v"}},
		"steps": []any{map[string]any{"run": "git clone https://x:ghs_abcdefghij0123456789@github.com/o/r"}},
	}
	want := []string{
		`line-one-secret`, `line-two-secret`, `served-key-value`,
		`x:ghs_abcdefghij0123456789`, `ghs_abcdefghij0123456789`, `{"k":"v"}`,
	}
	got := Secrets(served, wanted)
	if diff := cmp.Diff(want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("Secrets (-want +got):\n%s", diff)
	}
}

// A create's diff shows what the file sets, not the empty maps it leaves.
func TestDiffCreate(t *testing.T) {
	t.Parallel()
	got := Diff(nil, map[string]any{"from": "alpine", "env": map[string]any{}})
	if diff := cmp.Diff([]Change{{Path: "build_spec.from", To: "alpine"}}, got); diff != "" {
		t.Errorf("Diff (-want +got):\n%s", diff)
	}
}
