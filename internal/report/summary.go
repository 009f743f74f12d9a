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

// MaxSummary is the longest job summary Summary renders, in bytes: well
// under GitHub's limit of 1 MiB per step, above which the summary is
// dropped.
const MaxSummary = 900 << 10

var statusIcon = map[string]string{
	run.StatusSuccess:   "✅",
	run.StatusFailed:    "❌",
	run.StatusTimeout:   "⏱️",
	run.StatusSkipped:   "⏭️",
	run.StatusCancelled: "🛑",
}

// Summary renders the job summary of a run as Markdown, within MaxSummary
// bytes: status, plan (with each item's changes), builds and every
// problem, with untrusted text escaped. It names the commit, so a reader
// sees which push it describes.
func Summary(res *run.Result) string { return SummaryWithin(res, Room{Limit: MaxSummary}) }

// Room is how long a job summary may be, and what it says of what is
// elsewhere.
type Room struct {
	Limit      int         // bytes
	PlanFile   string      // the plan file's path, relative to the workspace; "" when none was written
	OutputCuts []OutputCut // the step outputs FitOutputs cut
}

// SummaryWithin renders the job summary in at most room.Limit bytes. What
// does not fit is left out, unchanged templates first and problems last,
// and a line under the title says what was, and where the whole result
// is: the plan file, when one was written, and the step log. Another line
// says which step outputs were cut.
func SummaryWithin(res *run.Result, room Room) string {
	head := fmt.Sprintf("## %s Sandbox templates: %s\n\n", statusIcon[res.Status], res.Status) + facts(res) + "\n\n"
	if len(room.OutputCuts) > 0 {
		var parts []string
		for _, c := range room.OutputCuts {
			parts = append(parts, fmt.Sprintf("`%s` keeps %s of %s entries", c.Name, Number(c.Kept), Number(c.Total)))
		}
		where := "The plan file, which holds every entry, could not be written."
		if room.PlanFile != "" {
			where = "Every entry is in the plan file " + CodeSpan(textsafe.Truncate(room.PlanFile, 200)) +
				" (the `plan-file` output: keep it with actions/upload-artifact)."
		}
		head += fmt.Sprintf("> ✂️ **Step outputs cut to fit GitHub's limit of 1 MB per output:** %s, whole entries kept "+
			"(changed templates first), so each is still valid JSON. %s\n\n", strings.Join(parts, ", "), where)
	}
	sections := []Section{notices(res.Notices, "> %s\n\n", RankDiff), notices(res.Warnings, "> ⚠️ %s\n\n", RankChanged)}
	if len(res.Plan.Items) > 0 || res.Planned {
		plan := planSections(res.Plan)
		plan[0].Head = "### Plan\n\n" + plan[0].Head
		sections = append(sections, plan...)
		sections = append(sections, Section{Tail: "\n"})
	}
	if len(res.Builds) > 0 {
		sections = append(sections, buildSections(res.Builds)...)
	}
	sections = append(sections, problemSections(res.Diagnostics)...)
	return head + FitNoted(sections, room.Limit-len(head), CutRoom, func(cut []Count) string {
		return fmt.Sprintf("> ✂️ **Cut to fit GitHub's limit of 1 MiB for a job summary:** %s left out. %s\n\n",
			CutList(cut), WhereAll(room.PlanFile, "this step's log"))
	})
}

// WhereAll is the sentence that says where the whole result is, when a
// rendering of it was cut: the plan file at planFile (relative to the
// workspace), when one was written, and log (Markdown: "this step's log").
func WhereAll(planFile, log string) string {
	if planFile == "" {
		return "Everything is in " + log + "."
	}
	return "Everything is in the plan file " + CodeSpan(textsafe.Truncate(planFile, 200)) +
		" (the `plan-file` output: keep it with actions/upload-artifact) and in " + log + "."
}

// facts is the line under the title: mode, files, commit, offline.
func facts(res *run.Result) string {
	facts := []string{fmt.Sprintf("mode **%s**", res.Mode), fmt.Sprintf("%d file(s)", res.Files)}
	if res.Commit != "" {
		facts = append(facts, "commit `"+textsafe.Code(plan.ShortSHA(res.Commit))+"`")
	}
	if !res.Online {
		facts = append(facts, "offline (no API key)")
	}
	return strings.Join(facts, " · ")
}

// notices are the run's notices (or warnings) as quotes, in format.
func notices(msgs []string, format string, rank int) Section {
	s := Section{Name: "notes", Note: func(n int) string {
		return fmt.Sprintf(format, Plural(n, "more note")+" in the step log")
	}}
	for _, m := range msgs {
		s.Blocks = append(s.Blocks, Block{Rank: rank, Text: fmt.Sprintf(format, textsafe.Cell(textsafe.Truncate(m, 2000)))})
	}
	return s
}

// buildSections are the builds table and the failed builds' log tails.
func buildSections(builds []run.BuildResult) []Section {
	table := Section{Name: "build rows",
		Head: "### Builds\n\n| Template | Build | State | Action | Details |\n|---|---|---|---|---|\n",
		Note: func(n int) string { return fmt.Sprintf("| … | | | | %s, not shown |\n", Plural(n, "more build")) },
		Tail: "\n"}
	for _, bd := range builds {
		rank := RankChanged
		if bd.Action == "unchanged" && bd.State == plan.StateReady {
			rank = RankUnchanged
		}
		table.Blocks = append(table.Blocks, Block{Rank: rank, Text: fmt.Sprintf("| %s | `%s` | %s | %s | %s |\n",
			textsafe.Cell(bd.Name), textsafe.Code(bd.BuildID), textsafe.Cell(bd.State), bd.Action, BuildNotes(bd))})
	}
	tails := Section{Name: "build log tails", Note: func(n int) string {
		return fmt.Sprintf("_%s more are in the step log._\n\n", Plural(n, "build log tail"))
	}}
	for _, bd := range builds {
		if len(bd.LogTail) > 0 {
			tails.Blocks = append(tails.Blocks, Block{Rank: RankDiff, Text: fmt.Sprintf("**%s** build `%s`:\n\n%s\n",
				textsafe.Cell(bd.Name), textsafe.Code(bd.BuildID), buildfail.Markdown(bd.LogTail))})
		}
	}
	return []Section{table, tails}
}

// BuildNotes is what the summary says of a build beyond its id and state,
// in Markdown: who made it, its error and its log.
func BuildNotes(bd run.BuildResult) string {
	details := []string{}
	for _, d := range buildDetails(bd) {
		details = append(details, d.markdown())
	}
	return strings.Join(details, " · ")
}

// problemSections list every problem: the run's own, then the files' in
// a table. They are the last thing left out.
func problemSections(diags diag.List) []Section {
	n := len(diags)
	if n == 0 {
		return nil
	}
	runs := Section{Name: "problems", Head: fmt.Sprintf("### Problems (%d)\n\n", n),
		Note: func(n int) string { return fmt.Sprintf("- %s more are in the step log.\n", Plural(n, "problem")) }}
	files := Section{Name: "problems", Head: "| File | Line | Field | Problem | Rule |\n|---|---|---|---|---|\n",
		Note: func(n int) string { return fmt.Sprintf("\n%d more problem(s) are in the step log.\n", n) },
		Tail: "\n"}
	for _, d := range diags {
		if d.Path == "" {
			runs.Blocks = append(runs.Blocks, Block{Rank: RankProblem, Text: fmt.Sprintf("- %s\n", textsafe.Cell(textsafe.Truncate(d.Message, 1000)))})
			continue
		}
		files.Blocks = append(files.Blocks, Block{Rank: RankProblem, Text: fmt.Sprintf("| %s | %d:%d | %s | %s | %s |\n", fileCell(d.Path), d.Line, d.Col,
			fileCell(d.Field), textsafe.Cell(textsafe.Truncate(d.Message, 1000)), textsafe.Cell(d.Rule))})
	}
	if len(runs.Blocks) > 0 && len(files.Blocks) > 0 {
		runs.Tail = "\n"
	}
	if len(files.Blocks) == 0 {
		return []Section{runs}
	}
	return []Section{runs, files}
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
