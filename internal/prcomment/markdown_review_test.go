package prcomment_test

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
	"github.com/miosa-dev/sandbox-templates-action/internal/prcomment"
	"github.com/miosa-dev/sandbox-templates-action/internal/run"
)

// A credential that a cut of a long message falls in is not shown in
// part: cut text is masked as whole text is (the password of a URL is
// found by the "@" after it, which the cut leaves out).
func TestMarkdownReviewCutNeverShowsPartOfACredential(t *testing.T) {
	t.Parallel()
	const password = "S3cretPassw0rdValue1234567890abcdef"
	url := "https://deploy:" + password + "@git.example.com/acme/app.git"
	// Every place the comment cuts a message at 1000 or 500 bytes, with
	// the cut inside the password.
	at := func(n int) string {
		pad := n - len("git clone https://deploy:") - 10
		return strings.Repeat("x", pad) + " git clone " + url + " failed"
	}
	res := planned()
	res.Status = run.StatusFailed
	res.Warnings = []string{at(1000)}
	res.Notices = []string{at(1000)}
	res.Diagnostics = diag.List{{Message: at(1000), Rule: run.RuleAPI, Severity: diag.Error}}
	res.Plan.Items[5].Reason = at(500)
	r := prcomment.Report{Result: res, Previews: &prcomment.Previews{
		Notes: []string{at(1000)},
		Items: []prcomment.Preview{{Template: "web", Name: "web-pr7-abcdef", State: "failed", Detail: at(1000)}},
	}}
	md := prcomment.Markdown(r, 65536)
	for _, part := range []string{password[:6], "deploy:"} {
		if strings.Contains(md, part) {
			i := strings.Index(md, part)
			t.Errorf("the comment shows %q of a credential: %s", part, md[max(i-40, 0):min(i+40, len(md))])
		}
	}
	if !strings.Contains(md, "xxxx git clone https") {
		t.Errorf("the messages are not in the comment:\n%s", md)
	}
}

// One changed template whose entry alone is larger than the comment's
// room, in multibyte text: the comment stays within the room, valid
// UTF-8, and says what it left out.
func TestMarkdownReviewOneEntryOverTheRoom(t *testing.T) {
	t.Parallel()
	res := planned()
	big := map[string]any{"from": "node:22", "env": map[string]any{}}
	for i := range 3000 {
		big["env"].(map[string]any)[strings.Repeat("é", 5)+strings.Repeat("x", i%7)+string(rune('a'+i%26))+strings.Repeat("0", i%5)+"_"+itoa(i)] = strings.Repeat("日本", 4)
	}
	res.Plan.Items[3].Changes = planDiff(big)
	const room = 65536 - 200
	md := prcomment.Markdown(prcomment.Report{Result: res}, room)
	if len(md) > room || !utf8.ValidString(md) {
		t.Fatalf("%d bytes (room %d), valid UTF-8 %v", len(md), room, utf8.ValidString(md))
	}
	if !strings.Contains(md, "Cut to fit") || !strings.Contains(md, "1 changed templates left out") {
		t.Errorf("the comment does not say what it cut:\n%.600s", md)
	}
	// Only that entry is left out: the other changed template, the one
	// left alone, the unchanged and the unmanaged names are all there.
	for _, want := range []string{"**🔨 python-3-12** to build", "**go-1-23** description", "java-21, php-8", "legacy-ruby"} {
		if !strings.Contains(md, want) {
			t.Errorf("the comment lacks %q, though only the one entry is too long:\n%s", want, md)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// planDiff is the changes of creating spec.
func planDiff(spec map[string]any) []plan.Change { return plan.Diff(nil, spec) }
