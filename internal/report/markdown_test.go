package report

import (
	"regexp"
	"strings"
	"testing"

	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
	"github.com/miosa-dev/sandbox-templates-action/internal/run"
)

// hostileText mentions, links and holds credentials, as a description, an
// error message or a reason from a file or a server may.
const hostileText = "ping @octocat and @org/team, mail admin@evil.example, see www.evil.example/login, " +
	"https://evil.example/x or evil.example, fixes #12, token ghp_0123456789abcdefghijABCDEFGHIJ012345, " +
	"https://user:hunter22pw@registry.example/v2"

// linkable is what GitHub's renderer (or a mail client) could turn into a
// mention, a link or a reference, in Markdown text outside code.
var linkable = regexp.MustCompile(`@[A-Za-z0-9]|:/|[.][A-Za-z0-9]|#[0-9]`)

// proseOf drops code spans and fenced blocks, where nothing links.
func proseOf(md string) string {
	var out []string
	fenced := false
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
			continue
		}
		if !fenced {
			out = append(out, regexp.MustCompile("`[^`]*`").ReplaceAllString(line, ""))
		}
	}
	return strings.Join(out, "\n")
}

// Untrusted text in the summary (which the PR comment is made of) cannot
// mention, link or show a credential.
func TestMarkdownNeitherMentionsNorLinks(t *testing.T) {
	t.Parallel()
	res := &run.Result{
		Mode: run.ModeApply, Status: run.StatusFailed, Online: true, Files: 1, Planned: true,
		Plan: plan.Plan{Items: []plan.Item{
			{Name: "web", Action: plan.Describe, Reason: hostileText, File: "sandbox-templates/@octocat.evil.example.yaml"},
		}, Unmanaged: []string{"@octocat"}},
		Builds: []run.BuildResult{{Name: "web", BuildID: "b1", State: "failed", Action: "build", Made: true,
			ErrorCode: "BUILD_STEP_FAILED", ErrorMessage: hostileText}},
		Diagnostics: diag.List{{Path: "sandbox-templates/web.yaml", Line: 1, Col: 1, Field: "description", Message: hostileText, Rule: "schema"}},
		Warnings:    []string{hostileText},
		Notices:     []string{hostileText},
	}
	for name, md := range map[string]string{"summary": Summary(res), "plan": PlanMarkdown(res.Plan)} {
		prose := proseOf(md)
		for _, m := range linkable.FindAllStringIndex(prose, -1) {
			t.Errorf("%s: %q can mention or link: %q", name, prose[m[0]:m[1]], prose[max(0, m[0]-20):min(len(prose), m[1]+20)])
		}
		if !strings.Contains(strings.ReplaceAll(prose, "\u200d", ""), "@octocat") {
			t.Errorf("%s: the text is not shown at all:\n%s", name, md)
		}
		for _, secret := range []string{"ghp_0123456789", "hunter22pw"} {
			if strings.Contains(md, secret) {
				t.Errorf("%s shows %q", name, secret)
			}
		}
	}
}
