package report

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
	"github.com/miosa-dev/sandbox-templates-action/internal/textsafe"
)

// PlanText renders the plan as an aligned table for a terminal or a log,
// each item's changes indented below it.
func PlanText(p plan.Plan) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TEMPLATE\tACTION\tREASON\tFILE")
	for _, it := range p.Items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n",
			textsafe.Line(it.Name), it.Action, textsafe.Line(it.Reason), textsafe.Line(it.File))
	}
	tw.Flush()
	for _, it := range p.Items {
		if len(it.Changes) == 0 {
			continue
		}
		fmt.Fprintf(&b, "%s (%s):\n", textsafe.Line(it.Name), it.Action)
		for _, c := range it.Changes {
			fmt.Fprintf(&b, "    %s\n", textsafe.Line(c.Render()))
		}
	}
	fmt.Fprintf(&b, "Plan: %s.\n", p.Summary())
	if len(p.Unmanaged) > 0 {
		fmt.Fprintf(&b, "Not managed by this repository (left alone): %s\n", textsafe.Line(strings.Join(p.Unmanaged, ", ")))
	}
	return b.String()
}

// PlanMarkdown renders the plan as a Markdown table, then each item's
// changes as a diff block.
func PlanMarkdown(p plan.Plan) string {
	return Fit(planSections(p), -1).Text
}

// planSections are the plan in Markdown, as sections Fit may cut: the
// table (unchanged rows are left out first), the diffs, and the templates
// no file manages.
func planSections(p plan.Plan) []Section {
	table := Section{Name: "plan rows", Head: "| Template | Action | Reason | File |\n|---|---|---|---|\n",
		Note: func(n int) string {
			return fmt.Sprintf("| … | | %s, not shown | |\n", Plural(n, "more template"))
		},
		Tail: fmt.Sprintf("\n**Plan:** %s.\n", p.Summary())}
	for _, it := range p.Items {
		rank := RankChanged
		if it.Action == plan.Unchanged {
			rank = RankUnchanged
		}
		table.Blocks = append(table.Blocks, Block{Rank: rank, Text: fmt.Sprintf("| %s | %s %s | %s | %s |\n",
			textsafe.Cell(it.Name), ActionIcon(it.Action), it.Action, textsafe.Cell(it.Reason), fileCell(it.File))})
	}
	diffs := Section{Name: "diffs", Note: func(n int) string {
		return fmt.Sprintf("\n_%s, not shown._\n", Plural(n, "more diff"))
	}}
	for _, it := range p.Items {
		if len(it.Changes) == 0 {
			continue
		}
		diffs.Blocks = append(diffs.Blocks, Block{Rank: RankDiff,
			Text: fmt.Sprintf("\n**%s** (%s):\n\n%s", textsafe.Cell(it.Name), it.Action, Diff(it.Changes))})
	}
	out := []Section{table, diffs}
	if len(p.Unmanaged) > 0 {
		cells := make([]string, len(p.Unmanaged))
		for i, n := range p.Unmanaged {
			cells[i] = textsafe.Cell(n)
		}
		total := len(p.Unmanaged)
		out = append(out, Section{Name: "unmanaged template lists", Blocks: []Block{{Rank: RankUnmanaged,
			Text: fmt.Sprintf("\nNot managed by this repository (left alone): %s\n", strings.Join(cells, ", "))}},
			Note: func(int) string {
				return fmt.Sprintf("\nNot managed by this repository (left alone): %s, not listed.\n", Plural(total, "template"))
			}})
	}
	return out
}

// Ranks of what Fit leaves out first (the highest), shared by the job
// summary and the pull request comment: the templates a run leaves alone
// go first, problems last.
const (
	RankProblem   = 1 // a problem: what a person must act on
	RankChanged   = 2 // a template this run changes, or a warning
	RankDiff      = 3 // a change's diff, a log tail, a notice
	RankUnchanged = 4 // an unchanged template
	RankUnmanaged = 5 // the account's templates that no file manages
)

// Diff renders changes as a fenced diff block.
func Diff(changes []plan.Change) string {
	var lines []string
	for _, c := range changes {
		lines = append(lines, diffLines(c)...)
	}
	return fenced("diff", lines)
}

// diffLines are a change as the lines of a diff block.
func diffLines(c plan.Change) []string {
	var out []string
	if c.From != nil {
		out = append(out, "- "+textsafe.Line(c.Path+": "+plan.Change{To: c.From}.Value()))
	}
	if c.To != nil {
		out = append(out, "+ "+textsafe.Line(c.Path+": "+plan.Change{To: c.To}.Value()))
	}
	return out
}

// fenced is a fenced code block that no line of text can close: its fence is
// longer than any run of backticks in the text.
func fenced(lang string, lines []string) string {
	longest := 0
	for _, l := range lines {
		run := 0
		for _, r := range l {
			if r == '`' {
				run++
				longest = max(longest, run)
			} else {
				run = 0
			}
		}
	}
	fence := strings.Repeat("`", max(3, longest+1))
	return fence + lang + "\n" + strings.Join(lines, "\n") + "\n" + fence + "\n"
}

// fileCell is a file's (or a field's) path in a table: a code span, which
// neither mentions nor links whatever the path holds, and copies as it is.
func fileCell(f string) string { return CodeSpan(f) }

// CodeSpan is s as a Markdown code span, fit for a table cell; "" for "".
func CodeSpan(f string) string {
	if f == "" {
		return ""
	}
	return "`" + textsafe.Code(f) + "`"
}

// ActionIcon is the emoji that marks an action in tables and comments.
func ActionIcon(a plan.Action) string {
	switch a {
	case plan.Refused:
		return "⛔"
	case plan.Describe:
		return "📝"
	case plan.Unreadable:
		return "❓"
	case plan.Create:
		return "➕"
	case plan.Build:
		return "🔨"
	case plan.Invalid:
		return "❌"
	case plan.Superseded:
		return "⏩"
	case plan.OffTarget:
		return "↪️"
	default:
		return "✔️"
	}
}

// PlanItem is one element of the `plan` output.
type PlanItem struct {
	Name    string        `json:"name"`
	Action  plan.Action   `json:"action"`
	Reason  string        `json:"reason"`
	Changes []plan.Change `json:"changes,omitempty"`
	// Evidence says what decided a write's commit order: the deploy
	// target's head ("main at 1a2b3c4d5e6f holds this file"), or the
	// commit time.
	Evidence string `json:"evidence,omitempty"`
}

// PlanJSON renders the plan as the single-line JSON array of the `plan`
// output.
func PlanJSON(p plan.Plan) string {
	out := make([]PlanItem, len(p.Items))
	for i, it := range p.Items {
		out[i] = planItem(it)
	}
	return mustJSON(out)
}

// planItem is an item as the plan output shows it.
func planItem(it plan.Item) PlanItem {
	return PlanItem{Name: it.Name, Action: it.Action, Reason: it.Reason, Changes: it.Changes, Evidence: it.Evidence}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("report: marshal: %v", err)) // maps, slices, strings and numbers only
	}
	return string(b)
}
