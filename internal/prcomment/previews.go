package prcomment

import (
	"fmt"
	"strings"

	"github.com/miosa-dev/sandbox-templates-action/internal/buildfail"
	"github.com/miosa-dev/sandbox-templates-action/internal/report"
	"github.com/miosa-dev/sandbox-templates-action/internal/textsafe"
)

// Previews is what a comment says of a pull request's preview templates
// (the preview input): each preview's state and ids, and what else a
// reader should know, such as why none was built.
type Previews struct {
	Items []Preview
	// Notes are said above the table: why no preview was built, a newer
	// push that builds them, the preview run's warnings.
	Notes []string
}

// Preview is one preview template of the pull request.
type Preview struct {
	Template   string // the template it previews
	Name       string // the preview template's name
	TemplateID string // "" when it does not exist (yet)
	BuildID    string // the build of this push's spec; "" when none
	// State is the build's state, or why there is none: "superseded" (a
	// newer push builds it), "invalid", "refused", "not built".
	State  string
	Detail string // the build's error, or the reason; may be empty
	// LogTail is the end of a failed build's log, safe to print.
	LogTail []string
}

var previewIcon = map[string]string{
	"ready": "✅", "failed": "❌", "cancelled": "🛑", "timeout": "⏱️", "superseded": "⏭️",
	"queued": "⏳", "building": "⏳", "certifying": "⏳", "snapshotting": "⏳",
}

// previews is the comment's Previews part: nothing when the run built no
// previews and had nothing to say of them.
func previews(r Report) []report.Section {
	return previewSections(r.Previews, "**Previews**\n\n", "in the job summary")
}

// PreviewsWithin is the Previews section of the job summary, the same text
// as the comment's under a heading of its own ("" for nil), in at most
// limit bytes (a negative limit: whole): the log tails are left out first,
// then the builds' errors, and a line says how many and that the step log
// has them; the table of the previews is always kept.
func PreviewsWithin(p *Previews, limit int) string {
	return report.Fit(previewSections(p, "### Previews\n\n", "in the step log"), limit).Text
}

// previewSections renders p under head: the notes, a table of the
// previews, and each failed build's error and log tail; where says where
// what a cut leaves out is.
func previewSections(p *Previews, head, where string) []report.Section {
	if p == nil || (len(p.Items) == 0 && len(p.Notes) == 0) {
		return nil
	}
	s := report.Section{Name: "previews", Head: head,
		Note: func(n int) string {
			return "_… " + report.Plural(n, "more preview line") + ", " + where + "._\n\n"
		}}
	for _, n := range p.Notes {
		s.Blocks = append(s.Blocks, report.Block{Rank: report.RankChanged, Text: "> " + textsafe.Cell(textsafe.Truncate(n, 1000)) + "\n\n"})
	}
	if len(p.Items) == 0 {
		return []report.Section{s}
	}
	s.Blocks = append(s.Blocks, report.Block{Text: "| Template | Preview | State | Template id | Build id |\n|---|---|---|---|---|\n"})
	for _, it := range p.Items {
		state := textsafe.Cell(it.State)
		if icon := previewIcon[it.State]; icon != "" {
			state = icon + " " + state
		}
		s.Blocks = append(s.Blocks, report.Block{Text: fmt.Sprintf("| %s | %s | %s | %s | %s |\n",
			textsafe.Cell(it.Template), report.CodeSpan(it.Name), state, code(it.TemplateID), code(it.BuildID))})
	}
	s.Blocks[len(s.Blocks)-1].Text += "\n"
	for _, it := range p.Items {
		if it.Detail == "" && len(it.LogTail) == 0 {
			continue
		}
		var b strings.Builder
		fmt.Fprintf(&b, "**%s** %s", textsafe.Cell(it.Template), textsafe.Cell(it.State))
		if it.Detail != "" {
			b.WriteString(": " + textsafe.Cell(textsafe.Truncate(it.Detail, 1000)))
		}
		b.WriteString("\n\n")
		rank := report.RankProblem
		if len(it.LogTail) > 0 {
			b.WriteString(buildfail.Markdown(it.LogTail) + "\n")
			rank = report.RankDiff
		}
		s.Blocks = append(s.Blocks, report.Block{Rank: rank, Text: b.String()})
	}
	return []report.Section{s}
}

// code is an id as inline code, or "—" for none.
func code(id string) string {
	if id == "" {
		return "—"
	}
	return "`" + textsafe.Code(id) + "`"
}
