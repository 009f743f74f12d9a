package prcomment

import (
	"strings"
	"testing"

	goldenfile "github.com/miosa-dev/sandbox-templates-action/internal/golden"
	"github.com/miosa-dev/sandbox-templates-action/internal/run"
)

func previewsFixture() *Previews {
	return &Previews{
		Notes: []string{"A newer push | of #7 builds web's preview\n::error::x"},
		Items: []Preview{
			{Template: "api", Name: "api-pr7-3fa9c1", TemplateID: "t-1", BuildID: "b-1", State: "ready"},
			{Template: "web|x", Name: "web-pr7-3fa9c1", TemplateID: "t-2", BuildID: "b-2`", State: "failed",
				Detail: "BUILD_STEP_FAILED: step 1 `npm ci` exited 1", LogTail: []string{"npm ERR! missing package-lock.json"}},
			{Template: "db", Name: "db-pr7-3fa9c1", State: "superseded", Detail: "pull request #7's head moved on"},
		},
	}
}

// The Previews section shows each preview's state and ids, and what went
// wrong, with every untrusted text escaped; the job summary and the
// comment say the same.
func TestPreviewsMarkdown(t *testing.T) {
	t.Parallel()
	got := PreviewsWithin(previewsFixture(), -1)
	goldenfile.Testdata.Check(t, "previews.md", got)
	for _, bad := range []string{"\n::error", "push | of", "web|x"} {
		if strings.Contains(got, bad) {
			t.Errorf("the section holds %q unescaped:\n%s", bad, got)
		}
	}
	if PreviewsWithin(nil, -1) != "" || PreviewsWithin(&Previews{}, -1) != "" {
		t.Error("no previews and no notes: want no section")
	}
	comment := Markdown(Report{Result: &run.Result{Mode: run.ModePlan, Status: run.StatusFailed}, Previews: previewsFixture()}, 65000)
	if !strings.Contains(comment, "**Previews**") || !strings.Contains(comment, "`api-pr7-3fa9c1`") || !strings.Contains(comment, "`b-1`") {
		t.Errorf("the comment lacks the Previews section:\n%s", comment)
	}
}
