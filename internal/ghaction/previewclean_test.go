package ghaction

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/miosa-dev/sandbox-templates-action/internal/preview"
	"github.com/miosa-dev/sandbox-templates-action/internal/report"
	"github.com/miosa-dev/sandbox-templates-action/internal/run"
)

// A clean-up of thousands of previews, with hundreds of long failures,
// has a job summary under report.MaxSummary: the previews kept go first,
// every failure stays while they can, and a line says what was left out.
func TestCleanupMarkdownAtScale(t *testing.T) {
	t.Parallel()
	var r cleanup
	cand := func(kind string, i int) preview.Candidate {
		return preview.Candidate{Row: preview.Row{ID: fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i), Name: fmt.Sprintf("%s-%05d-pr%d-9333e5", kind, i, i)}, PR: i}
	}
	for i := range 3000 {
		r.deleted = append(r.deleted, cand("deleted", i))
		r.kept = append(r.kept, cand("kept", i))
		r.gone = append(r.gone, cand("gone", i))
	}
	for i := range 200 {
		r.failures = append(r.failures, fmt.Sprintf("delete preview web-pr%d-9333e5 of pull request #%d: %s", i, i, strings.Repeat("x", 1900)))
	}
	got := r.markdown(0, run.StatusFailed)
	if len(got) > report.MaxSummary {
		t.Fatalf("summary of %d bytes, over %d", len(got), report.MaxSummary)
	}
	whole := len(r.markdownWithin(0, run.StatusFailed, -1))
	if whole <= report.MaxSummary {
		t.Fatalf("the whole summary is %d bytes: the test does not cut", whole)
	}
	t.Logf("summary of %d bytes, cut from %d", len(got), whole)
	cut := regexp.MustCompile(`(?m)^> ✂️ \*\*Cut to fit GitHub's limit of 1 MiB for a job summary:\*\* ([0-9,]+) preview rows left out\.`).FindStringSubmatch(got)
	if cut == nil {
		t.Fatalf("no line says what was cut:\n%s", got[:2000])
	}
	if n := strings.Count(got, "> ❌ delete preview"); n != len(r.failures) {
		t.Errorf("%d failures shown, want all %d", n, len(r.failures))
	}
	if n := strings.Count(got, " | 🗑️ deleted |"); n != len(r.deleted) {
		t.Errorf("%d deleted previews shown, want all %d (the kept go first)", n, len(r.deleted))
	}
	if strings.Contains(got, "| `kept-02999") {
		t.Error("the last kept preview is shown although rows were cut: the kept rows are not left out first")
	}
	if !regexp.MustCompile(`(?m)^\| … \| \| \| ` + regexp.QuoteMeta(cut[1]) + ` more previews, not shown \|$`).MatchString(got) {
		t.Errorf("the table does not say %s more previews are not shown", cut[1])
	}
	// Failures alone over the limit are cut too, with a line of their own.
	r = cleanup{}
	for i := range 1000 {
		r.failures = append(r.failures, strings.Repeat("y", 2000)+fmt.Sprint(i))
	}
	got = r.markdown(0, run.StatusFailed)
	if len(got) > report.MaxSummary || !strings.Contains(got, "failures left out.") || !strings.Contains(got, "more failures, in this step's log") {
		t.Errorf("%d bytes of failures, want at most %d and a line saying how many were left out", len(got), report.MaxSummary)
	}
}

// Without a key, a closed pull request's run leaves its previews to a
// clean-up, saying why: the reason no secret can reach it, or that the
// input is empty.
func TestCleanupWithoutKeyNotice(t *testing.T) {
	t.Parallel()
	const payload = `{"action":"closed","pull_request":{"number":7,"head":{"sha":"1111111111111111111111111111111111111111","repo":{"full_name":"acme/platform"}},` +
		`"base":{"repo":{"full_name":"acme/platform"}}},"repository":{"full_name":"acme/platform"}}`
	for actor, want := range map[string]string{
		"alice":           "::notice::No api-key (api-key is empty): this pull request's previews",
		"dependabot[bot]": "::notice::No api-key (Dependabot's runs get no Actions secrets): this pull request's previews",
	} {
		t.Run(actor, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "event.json"), []byte(payload), 0o644); err != nil {
				t.Fatal(err)
			}
			env := map[string]string{"GITHUB_WORKSPACE": dir, "GITHUB_OUTPUT": filepath.Join(dir, "out"),
				"GITHUB_EVENT_PATH": filepath.Join(dir, "event.json"), "GITHUB_EVENT_NAME": "pull_request", "GITHUB_ACTOR": actor,
				"GITHUB_REPOSITORY": "acme/platform", "GITHUB_SHA": "1111111111111111111111111111111111111111",
				"INPUT_MODE": "validate", "INPUT_PREVIEW": "true"}
			var out bytes.Buffer
			if code := Main(context.Background(), func(k string) string { return env[k] }, &out, "test"); code != run.ExitOK {
				t.Fatalf("exit %d, want %d:\n%s", code, run.ExitOK, out.String())
			}
			if !strings.Contains(out.String(), want) || strings.Contains(out.String(), "()") {
				t.Errorf("the log does not say %q:\n%s", want, out.String())
			}
		})
	}
}
