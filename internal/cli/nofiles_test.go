package cli

import (
	"strings"
	"testing"
)

// A path that matches nothing fails unless --if-no-files-found says
// otherwise; files the patterns nearly matched are named in one notice.
func TestValidateNoFiles(t *testing.T) {
	t.Parallel()
	empty := tree(t, map[string]string{"sandbox-templates/README.md": "templates go here"})
	tests := []struct {
		args              []string
		code              int
		stdout, stderr    string
		stdoutNot, errNot string
	}{
		{nil, ExitProblems, "no template files match; if that is expected, set if-no-files-found to warn or ignore [no-files]", "", "", "notice"},
		{[]string{"--if-no-files-found", "warn"}, ExitOK, "sandbox-templates/*.yaml, sandbox-templates/*.yml: no template files match [no-files]\n0 templates valid in 0 files\n", "", "", "notice"},
		{[]string{"--if-no-files-found", "ignore"}, ExitOK, "0 templates valid in 0 files\n", "notice: no template files match path (sandbox-templates/*.yaml, sandbox-templates/*.yml); nothing to check (if-no-files-found: ignore)\n", "no-files", ""},
		{[]string{"--if-no-files-found", "skip"}, ExitUsage, "", `validate: --if-no-files-found: "skip" is not one of`, "", ""},
	}
	for _, tt := range tests {
		code, out, errOut := runCLI(t, nil, append([]string{"validate", "--dir", empty}, tt.args...)...)
		if code != tt.code || !strings.Contains(out, tt.stdout) || !strings.Contains(errOut, tt.stderr) ||
			tt.stdoutNot != "" && strings.Contains(out, tt.stdoutNot) || tt.errNot != "" && strings.Contains(errOut, tt.errNot) {
			t.Errorf("validate %v: exit %d (want %d)\nstdout:\n%s\nstderr:\n%s", tt.args, code, tt.code, out, errOut)
		}
	}

	root := tree(t, map[string]string{
		"sandbox-templates/node.yaml":       goodNode,
		"sandbox-templates/Python.YML":      goodPy,
		"sandbox-templates/team/cache.yaml": goodNode,
	})
	code, out, errOut := runCLI(t, nil, "validate", "--dir", root)
	want := "notice: 2 files look like a template but no path pattern matches: sandbox-templates/Python.YML (letter case), " +
		"sandbox-templates/team/cache.yaml (in a subdirectory). Patterns match letter case exactly: rename the file to match " +
		"sandbox-templates/*.yml. * does not enter directories: sandbox-templates/**/*.yaml reads every level below sandbox-templates.\n"
	if code != ExitOK || errOut != want || !strings.HasSuffix(out, "1 template valid in 1 file\n") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s\nwant stderr:\n%s", code, out, errOut, want)
	}
}
