package plan

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/miosa-dev/sandbox-templates-action/internal/textsafe"
)

// Summary is the one-line count of a plan, such as
// "1 to create, 2 to build, 3 unchanged, 0 invalid".
func (p Plan) Summary() string {
	var n [len(actionNames)]int
	for _, it := range p.Items {
		n[it.Action]++
	}
	s := fmt.Sprintf("%d to create, %d to build, %d unchanged, %d invalid",
		n[Create], n[Build], n[Unchanged], n[Invalid])
	for _, a := range []Action{Refused, Describe, Unreadable} {
		if n[a] > 0 {
			s += fmt.Sprintf(", %d %s", n[a], a.summaryWord())
		}
	}
	return s
}

// Text renders the plan as an aligned table for a terminal or a log.
func (p Plan) Text() string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TEMPLATE\tACTION\tREASON\tFILE")
	for _, it := range p.Items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n",
			textsafe.Line(it.Name), it.Action, textsafe.Line(it.Reason), textsafe.Line(it.File))
	}
	tw.Flush()
	fmt.Fprintf(&b, "Plan: %s.\n", p.Summary())
	if len(p.Unmanaged) > 0 {
		fmt.Fprintf(&b, "Not managed by this repository (left alone): %s\n", textsafe.Line(strings.Join(p.Unmanaged, ", ")))
	}
	return b.String()
}

// Markdown renders the plan as a Markdown table for the job summary.
func (p Plan) Markdown() string {
	var b strings.Builder
	b.WriteString("| Template | Action | Reason | File |\n|---|---|---|---|\n")
	for _, it := range p.Items {
		fmt.Fprintf(&b, "| %s | %s %s | %s | %s |\n",
			textsafe.Cell(it.Name), actionIcon(it.Action), it.Action, textsafe.Cell(it.Reason), fileCell(it.File))
	}
	fmt.Fprintf(&b, "\n**Plan:** %s.\n", p.Summary())
	if len(p.Unmanaged) > 0 {
		cells := make([]string, len(p.Unmanaged))
		for i, n := range p.Unmanaged {
			cells[i] = textsafe.Cell(n)
		}
		fmt.Fprintf(&b, "\nNot managed by this repository (left alone): %s\n", strings.Join(cells, ", "))
	}
	return b.String()
}

func fileCell(f string) string {
	if f == "" {
		return ""
	}
	return textsafe.Cell(f)
}

func (a Action) summaryWord() string {
	switch a {
	case Refused:
		return "refused"
	case Describe:
		return "description change(s) not applied"
	case Unreadable:
		return "unreadable"
	}
	return a.String()
}

func actionIcon(a Action) string {
	switch a {
	case Refused:
		return "⛔"
	case Describe:
		return "📝"
	case Unreadable:
		return "❓"
	case Create:
		return "➕"
	case Build:
		return "🔨"
	case Invalid:
		return "❌"
	default:
		return "✔️"
	}
}

// OutputItem is one element of the `plan` output.
type OutputItem struct {
	Name   string `json:"name"`
	Action Action `json:"action"`
	Reason string `json:"reason"`
}

// JSON renders the plan as the single-line JSON array of the `plan` output.
func (p Plan) JSON() string {
	out := make([]OutputItem, len(p.Items))
	for i, it := range p.Items {
		out[i] = OutputItem{Name: it.Name, Action: it.Action, Reason: it.Reason}
	}
	b, err := json.Marshal(out)
	if err != nil {
		panic(fmt.Sprintf("plan: marshal: %v", err)) // only strings and an enum: cannot fail
	}
	return string(b)
}
