package ghaction

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/miosa-dev/sandbox-templates-action/internal/apply"
	"github.com/miosa-dev/sandbox-templates-action/internal/textsafe"
)

// maxSummary keeps the job summary well under GitHub's 1 MiB per step.
const maxSummary = 900 << 10

var statusIcon = map[string]string{
	apply.StatusSuccess:   "✅",
	apply.StatusFailed:    "❌",
	apply.StatusTimeout:   "⏱️",
	apply.StatusSkipped:   "⏭️",
	apply.StatusCancelled: "🛑",
}

// Summary renders the job summary of a run as Markdown: status, plan,
// builds and every problem, with untrusted text escaped.
func Summary(res *apply.Result, commit string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s Sandbox templates: %s\n\n", statusIcon[res.Status], res.Status)
	facts := []string{fmt.Sprintf("mode **%s**", res.Mode), fmt.Sprintf("%d file(s)", res.Files)}
	if commit != "" {
		facts = append(facts, "commit `"+textsafe.Code(short(commit))+"`")
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
		b.WriteString(res.Plan.Markdown())
		b.WriteString("\n")
	}
	if len(res.Builds) > 0 {
		b.WriteString("### Builds\n\n| Template | Build | State | Action | Details |\n|---|---|---|---|---|\n")
		for _, bd := range res.Builds {
			details := []string{}
			if bd.Replayed {
				details = append(details, "made earlier at this commit")
			}
			if bd.ErrorCode != "" {
				details = append(details, "`"+textsafe.Code(bd.ErrorCode)+"`")
			}
			if bd.ErrorMessage != "" {
				details = append(details, textsafe.Cell(textsafe.Truncate(bd.ErrorMessage, 500)))
			}
			if link := safeLink(bd.LogURL); link != "" {
				details = append(details, "[log]("+link+")")
			}
			fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s |\n", textsafe.Cell(bd.Name), textsafe.Code(bd.BuildID),
				textsafe.Cell(bd.State), bd.Action, strings.Join(details, " · "))
		}
		b.WriteString("\n")
	}
	if n := len(res.Diagnostics) + len(res.Problems); n > 0 {
		fmt.Fprintf(&b, "### Problems (%d)\n\n", n)
		for _, p := range res.Problems {
			fmt.Fprintf(&b, "- %s\n", textsafe.Cell(p))
		}
		if len(res.Problems) > 0 {
			b.WriteString("\n")
		}
		if len(res.Diagnostics) > 0 {
			b.WriteString("| File | Line | Field | Problem | Rule |\n|---|---|---|---|---|\n")
			for i, d := range res.Diagnostics {
				row := fmt.Sprintf("| %s | %d:%d | %s | %s | %s |\n", textsafe.Cell(d.Path), d.Line, d.Col,
					textsafe.Cell(d.Field), textsafe.Cell(textsafe.Truncate(d.Message, 1000)), textsafe.Cell(d.Rule))
				if b.Len()+len(row) > maxSummary {
					fmt.Fprintf(&b, "\n%d more problem(s) are in the step log.\n", len(res.Diagnostics)-i)
					break
				}
				b.WriteString(row)
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// safeLink returns an http(s) URL fit for a Markdown link target, or "".
func safeLink(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ""
	}
	// Characters that could end the link or the table cell are escaped.
	return strings.NewReplacer("|", "%7C", "`", "%60", "(", "%28", ")", "%29", "[", "%5B", "]", "%5D",
		"<", "%3C", ">", "%3E", " ", "%20").Replace(u.String())
}
