package report

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/miosa-dev/sandbox-templates-action/internal/buildfail"
	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
	"github.com/miosa-dev/sandbox-templates-action/internal/run"
	"github.com/miosa-dev/sandbox-templates-action/internal/textsafe"
)

// maxSummary keeps the job summary well under GitHub's 1 MiB per step.
const maxSummary = 900 << 10

var statusIcon = map[string]string{
	run.StatusSuccess:   "✅",
	run.StatusFailed:    "❌",
	run.StatusTimeout:   "⏱️",
	run.StatusSkipped:   "⏭️",
	run.StatusCancelled: "🛑",
}

// Summary renders the job summary of a run as Markdown: status, plan (with
// each item's changes), builds and every problem, with untrusted text
// escaped. The pull request comment is the same text: it names the
// commit, so a reviewer sees which push it describes.
func Summary(res *run.Result) string {
	commit := res.Commit
	var b strings.Builder
	fmt.Fprintf(&b, "## %s Sandbox templates: %s\n\n", statusIcon[res.Status], res.Status)
	facts := []string{fmt.Sprintf("mode **%s**", res.Mode), fmt.Sprintf("%d file(s)", res.Files)}
	if commit != "" {
		facts = append(facts, "commit `"+textsafe.Code(plan.ShortSHA(commit))+"`")
	}
	if !res.Online {
		facts = append(facts, "offline (no API key)")
	}
	b.WriteString(strings.Join(facts, " · ") + "\n\n")
	for _, n := range res.Notices {
		fmt.Fprintf(&b, "> %s\n\n", textsafe.Cell(n))
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(&b, "> ⚠️ %s\n\n", textsafe.Cell(w))
	}

	if len(res.Plan.Items) > 0 || res.Planned {
		b.WriteString("### Plan\n\n")
		b.WriteString(PlanMarkdown(res.Plan))
		b.WriteString("\n")
	}
	if len(res.Builds) > 0 {
		b.WriteString("### Builds\n\n| Template | Build | State | Action | Details |\n|---|---|---|---|---|\n")
		for _, bd := range res.Builds {
			details := []string{}
			for _, d := range buildDetails(bd) {
				details = append(details, d.markdown())
			}
			fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s |\n", textsafe.Cell(bd.Name), textsafe.Code(bd.BuildID),
				textsafe.Cell(bd.State), bd.Action, strings.Join(details, " · "))
		}
		b.WriteString("\n")
		for _, bd := range res.Builds {
			if len(bd.LogTail) > 0 {
				fmt.Fprintf(&b, "**%s** build `%s`:\n\n%s\n", textsafe.Cell(bd.Name), textsafe.Code(bd.BuildID), buildfail.Markdown(bd.LogTail))
			}
		}
	}
	if n := len(res.Diagnostics); n > 0 {
		fmt.Fprintf(&b, "### Problems (%d)\n\n", n)
		var files []diag.Diagnostic
		for _, d := range res.Diagnostics {
			if d.Path == "" {
				fmt.Fprintf(&b, "- %s\n", textsafe.Cell(d.Message))
				continue
			}
			files = append(files, d)
		}
		if len(files) < n {
			b.WriteString("\n")
		}
		if len(files) > 0 {
			b.WriteString("| File | Line | Field | Problem | Rule |\n|---|---|---|---|---|\n")
			for i, d := range files {
				row := fmt.Sprintf("| %s | %d:%d | %s | %s | %s |\n", fileCell(d.Path), d.Line, d.Col,
					fileCell(d.Field), textsafe.Cell(textsafe.Truncate(d.Message, 1000)), textsafe.Cell(d.Rule))
				if b.Len()+len(row) > maxSummary {
					fmt.Fprintf(&b, "\n%d more problem(s) are in the step log.\n", len(files)-i)
					break
				}
				b.WriteString(row)
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// safeLink returns an http(s) URL fit for a Markdown link target, as
// miosa.DisplayURL shows it (no user information, query or fragment), or "".
func safeLink(raw string) string {
	u, err := url.Parse(miosa.DisplayURL(raw))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ""
	}
	// Characters that could end the link or the table cell are escaped.
	return strings.NewReplacer("|", "%7C", "`", "%60", "(", "%28", ")", "%29", "[", "%5B", "]", "%5D",
		"<", "%3C", ">", "%3E", " ", "%20").Replace(u.String())
}

// detail is one fact about a build, for the text table and the summary.
type detail struct {
	kind string // "note", "code", "message", "log"
	text string
}

func (d detail) markdown() string {
	switch d.kind {
	case "code":
		return "`" + textsafe.Code(d.text) + "`"
	case "message":
		return textsafe.Cell(textsafe.Truncate(d.text, 500))
	case "log":
		if link := safeLink(d.text); link != "" {
			return "[log](" + link + ")"
		}
		return ""
	}
	return textsafe.Cell(d.text)
}

// buildDetails are what the tables say of a build beyond its id and state:
// who made it, its error and its log.
func buildDetails(b run.BuildResult) []detail {
	var out []detail
	switch {
	case b.Replayed:
		out = append(out, detail{"note", "made by an earlier attempt"})
	case !b.Made:
		out = append(out, detail{"note", "already there"})
	}
	if b.ErrorCode != "" {
		out = append(out, detail{"code", b.ErrorCode})
	}
	if b.ErrorMessage != "" {
		out = append(out, detail{"message", b.ErrorMessage})
	}
	if safeLink(b.LogURL) != "" {
		out = append(out, detail{"log", b.LogURL})
	}
	return out
}
