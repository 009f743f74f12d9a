package ghaction

import (
	"fmt"
	"strings"
	"testing"

	"github.com/miosa-dev/sandbox-templates-action/internal/buildfail"
	"github.com/miosa-dev/sandbox-templates-action/internal/prcomment"
	"github.com/miosa-dev/sandbox-templates-action/internal/report"
)

// The job summary's Previews section stays within its share of GitHub's
// limit however many previews fail with long logs (preview-max allows
// 100), and says what it left out: the section is outside the run's own
// summary, which fits in what is left.
func TestPreviewsSummaryReviewIsBounded(t *testing.T) {
	t.Parallel()
	pv := &previews{}
	var tail []string
	for i := range buildfail.TailLines {
		tail = append(tail, fmt.Sprintf("%03d %s", i, strings.Repeat("é", (buildfail.MaxLineBytes-4)/2)))
	}
	for i := range 100 {
		pv.section.Items = append(pv.section.Items, prcomment.Preview{Template: fmt.Sprintf("t-%03d", i), Name: fmt.Sprintf("t-%03d-pr7-abcdef", i),
			TemplateID: "tid", BuildID: "bid", State: "failed", Detail: "BUILD_STEP_FAILED: " + strings.Repeat("x", 900), LogTail: tail})
	}
	md := pv.markdown()
	if len(md) > report.MaxSummary/4 {
		t.Errorf("the Previews section has %d bytes, more than a quarter of the summary's %d", len(md), report.MaxSummary)
	}
	for i := range 100 {
		if !strings.Contains(md, fmt.Sprintf("`t-%03d-pr7-abcdef`", i)) {
			t.Fatalf("the table lacks preview %d", i)
		}
	}
	if !strings.Contains(md, "more preview line") || !strings.Contains(md, "step log") {
		t.Errorf("the section does not say what it left out, and where it is:\n%s", md[max(len(md)-500, 0):])
	}
	// A few previews are shown whole.
	small := &previews{section: prcomment.Previews{Items: pv.section.Items[:2]}}
	if got := small.markdown(); strings.Contains(got, "more preview line") || strings.Count(got, "Last 50 lines of the build log") != 2 {
		t.Errorf("two failed previews are not shown whole:\n%s", got)
	}
}
