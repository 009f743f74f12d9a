package run

import (
	"context"
	"strings"
	"testing"

	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
)

// A path that matches nothing fails the run by default; with
// if-no-files-found warn or ignore it is skipped, with a warning or a
// notice. Files the patterns nearly matched are named in one notice.
func TestIfNoFilesFound(t *testing.T) {
	t.Parallel()
	root := writeFiles(t, map[string]string{"sandbox-templates/Web.YAML": "build_spec:\n  from: node:22\n"})
	tests := []struct {
		ifNoFiles    string
		status       string
		exit         int
		warn, notice string
	}{
		{"", StatusFailed, ExitFailed, "", ""},
		{spec.NoFilesError, StatusFailed, ExitFailed, "", ""},
		{spec.NoFilesWarn, StatusSkipped, ExitOK, "", ""},
		{spec.NoFilesIgnore, StatusSkipped, ExitOK, "", "no template files match path (sandbox-templates/*.yaml, sandbox-templates/*.yml); nothing to check (if-no-files-found: ignore)"},
	}
	for _, tt := range tests {
		res, err := Do(context.Background(), Config{Root: root, Mode: ModeValidate, IfNoFilesFound: tt.ifNoFiles}, quiet{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != tt.status || res.ExitCode() != tt.exit {
			t.Errorf("%q: status %s exit %d, want %s %d\n%s", tt.ifNoFiles, res.Status, res.ExitCode(), tt.status, tt.exit, res.Diagnostics.Text())
		}
		nearly := 0
		for _, n := range res.Notices {
			if strings.HasPrefix(n, "1 file looks like a template but no path pattern matches: sandbox-templates/Web.YAML (letter case)") {
				nearly++
			}
		}
		if nearly != 1 {
			t.Errorf("%q: want one notice naming Web.YAML, got %q", tt.ifNoFiles, res.Notices)
		}
		if tt.notice != "" && !strings.Contains(strings.Join(res.Notices, "\n"), tt.notice) {
			t.Errorf("%q: notices %q, want %q", tt.ifNoFiles, res.Notices, tt.notice)
		}
		noFiles := 0
		for _, d := range res.Diagnostics {
			if d.Rule == "no-files" {
				noFiles++
			}
		}
		if want := map[bool]int{true: 0, false: 1}[tt.ifNoFiles == spec.NoFilesIgnore]; noFiles != want {
			t.Errorf("%q: %d no-files diagnostics, want %d", tt.ifNoFiles, noFiles, want)
		}
	}
}
