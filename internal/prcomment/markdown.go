package prcomment

import (
	"fmt"
	"strings"

	"github.com/miosa-dev/sandbox-templates-action/internal/buildfail"
	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
	"github.com/miosa-dev/sandbox-templates-action/internal/report"
	"github.com/miosa-dev/sandbox-templates-action/internal/run"
	"github.com/miosa-dev/sandbox-templates-action/internal/textsafe"
)

// Report is what a comment tells of one run.
type Report struct {
	Result   *run.Result
	Label    string // the comment-label input, shown in the headline; may be empty
	RunURL   string // the run's page; "" when unknown
	PlanFile string // the plan file's path, relative to the workspace; "" when none was written
	// Previews are the pull request's preview templates (the preview
	// input); nil for none.
	Previews *Previews
}

// part renders one part of the comment as sections report.Fit may cut;
// none leaves the part out.
type part func(Report) []report.Section

// Markdown renders r as the comment's text in at most limit bytes
// (Config.Room): a headline that leads with the counts, a line with the
// commit and a link to the run, the problems, the templates this run
// changes (or would) with their diffs, what it leaves alone and why, and
// the unchanged templates collapsed into one list. When it does not fit,
// the unchanged templates are left out first, then the diffs of the last
// changed templates, problems last, and a line under the headline says
// what was left out and where everything is.
func Markdown(r Report, limit int) string {
	var sections []report.Section
	for _, p := range []part{notes, previews, problems, changes, others, unchanged, unmanaged} {
		sections = append(sections, p(r)...)
	}
	head := headline(r) + "\n\n" + facts(r) + "\n\n"
	where := "the run's log"
	if linkable(r.RunURL) {
		where = "[the run's log](<" + r.RunURL + ">)"
	}
	return head + report.FitNoted(sections, limit-len(head), report.CutRoom, func(cut []report.Count) string {
		return fmt.Sprintf("> ✂️ **Cut to fit GitHub's limit of 65,536 characters for a comment:** %s left out. %s\n\n",
			report.CutList(cut), report.WhereAll(r.PlanFile, where))
	})
}

// headline is the comment's first visible line: what the run did or would
// do, in counts, led by its state when it did not succeed.
func headline(r Report) string {
	res := r.Result
	title := "Sandbox templates"
	if l := strings.TrimSpace(r.Label); l != "" {
		title += " (" + textsafe.Cell(textsafe.Truncate(l, 100)) + ")"
	}
	var words []string
	icon := ""
	switch res.Status {
	case run.StatusFailed:
		icon, words = "❌ ", []string{"failed"}
		if res.Mode == run.ModeValidate {
			words = []string{"validation failed"}
		}
	case run.StatusTimeout:
		icon, words = "⏱️ ", []string{"timed out"}
	case run.StatusCancelled:
		icon, words = "🛑 ", []string{"cancelled"}
	case run.StatusSkipped:
		return "### " + title + ": no template files"
	}
	if res.Mode == run.ModeValidate {
		if n := res.Diagnostics.Errors(); n > 0 {
			words = append(words, report.Plural(n, "problem")+" in "+report.Plural(res.Files, "file"))
		} else {
			words = append(words, report.Plural(res.Files, "file")+" valid")
		}
		return "### " + icon + title + ": " + strings.Join(words, " · ")
	}
	if !res.Planned && len(res.Plan.Items) == 0 {
		return "### " + icon + title + ": " + strings.Join(append(words, "no plan"), " · ") // it stopped before planning
	}
	return "### " + icon + title + ": " + strings.Join(append(words, counts(res)...), " · ")
}

// counts are the plan's counts in words, the writes first: "2 to build,
// 1 to create", "1 invalid", "5 unchanged". An apply counts what it
// wrote: "2 built, 1 created".
func counts(res *run.Result) []string {
	var n [plan.OffTarget + 1]int
	for _, it := range res.Plan.Items {
		if it.Action >= 0 && int(it.Action) < len(n) {
			n[it.Action]++
		}
	}
	var writes []string
	notWritten := 0
	if res.Mode == run.ModeApply {
		wrote := map[string]bool{}
		for _, name := range res.Changed {
			wrote[name] = true
		}
		var made [plan.OffTarget + 1]int
		for _, it := range res.Plan.Items {
			switch {
			case it.Action.Writes() && wrote[it.Name]:
				made[it.Action]++
			case it.Action.Writes():
				notWritten++
			}
		}
		writes = nonZero(writes, made[plan.Build], "built")
		writes = nonZero(writes, made[plan.Create], "created")
	} else {
		writes = nonZero(writes, n[plan.Build], "to build")
		writes = nonZero(writes, n[plan.Create], "to create")
	}
	out := []string{"no changes"}
	if len(writes) > 0 {
		out = []string{strings.Join(writes, ", ")}
	}
	out = nonZero(out, n[plan.Invalid], "invalid")
	out = nonZero(out, n[plan.Refused], "refused")
	out = nonZero(out, n[plan.Unreadable], "unreadable")
	out = nonZero(out, notWritten, "not written")
	out = nonZero(out, n[plan.OffTarget], "off-target")
	out = nonZero(out, n[plan.Superseded], "superseded")
	if n[plan.Describe] > 0 {
		out = append(out, report.Plural(n[plan.Describe], "description change"))
	}
	return nonZero(out, n[plan.Unchanged], "unchanged")
}

// nonZero appends "n word" to out when n is not zero.
func nonZero(out []string, n int, word string) []string {
	if n == 0 {
		return out
	}
	return append(out, report.Number(n)+" "+word)
}

// facts is the line under the headline: which commit, how many files,
// and the link to the run, where the job summary and the log are.
func facts(r Report) string {
	res := r.Result
	what := map[run.Mode]string{run.ModePlan: "Plan for", run.ModeApply: "Applied"}[res.Mode]
	if what == "" {
		what = "Validated"
	}
	if res.Commit != "" {
		what += " commit `" + textsafe.Code(plan.ShortSHA(res.Commit)) + "`"
	} else if res.Mode == run.ModePlan {
		what = "Plan"
	}
	if !res.Online {
		what += " offline (no API key): nothing was compared with Miosa"
	}
	out := []string{what, report.Plural(res.Files, "file")}
	if linkable(r.RunURL) {
		out = append(out, "[workflow run](<"+r.RunURL+">)")
	}
	return strings.Join(out, " · ")
}

// notes are the run's warnings and notices, as quotes.
func notes(r Report) []report.Section {
	s := report.Section{Name: "notes", Note: func(n int) string {
		return "> " + report.Plural(n, "more note") + " in the run's log.\n\n"
	}}
	for _, w := range r.Result.Warnings {
		s.Blocks = append(s.Blocks, report.Block{Rank: report.RankChanged, Text: "> ⚠️ " + textsafe.Cell(textsafe.Truncate(w, 1000)) + "\n\n"})
	}
	for _, n := range r.Result.Notices {
		s.Blocks = append(s.Blocks, report.Block{Rank: report.RankDiff, Text: "> " + textsafe.Cell(textsafe.Truncate(n, 1000)) + "\n\n"})
	}
	return []report.Section{s}
}

// problems lists every problem, the run's own and the files', each on its
// file's line.
func problems(r Report) []report.Section {
	diags := r.Result.Diagnostics
	if len(diags) == 0 {
		return nil
	}
	s := report.Section{Name: "problems", Head: fmt.Sprintf("**Problems (%s)**\n\n", report.Number(len(diags))),
		Note: func(n int) string { return "- … " + report.Plural(n, "more problem") + ", in the job summary\n" },
		Tail: "\n"}
	for _, d := range diags {
		icon := "❌"
		if d.Severity == diag.Warning {
			icon = "⚠️"
		}
		where := ""
		if d.Path != "" {
			loc := d.Path
			if d.Line > 0 {
				loc += fmt.Sprintf(":%d:%d", d.Line, max(d.Col, 1))
			}
			where = report.CodeSpan(loc)
			if d.Field != "" {
				where += " " + report.CodeSpan(d.Field)
			}
			where += ": "
		}
		rule := ""
		if d.Rule != "" {
			rule = " (" + textsafe.Cell(d.Rule) + ")"
		}
		s.Blocks = append(s.Blocks, report.Block{Rank: report.RankProblem,
			Text: "- " + icon + " " + where + textsafe.Cell(textsafe.Truncate(d.Message, 1000)) + rule + "\n"})
	}
	return []report.Section{s}
}

// changes are the templates the run creates or builds (in plan mode:
// would), and the builds it refused, each with its diff and, in an apply,
// its build.
func changes(r Report) []report.Section {
	res := r.Result
	builds := map[string]run.BuildResult{}
	for _, b := range res.Builds {
		builds[b.Name] = b
	}
	wrote := map[string]bool{}
	for _, n := range res.Changed {
		wrote[n] = true
	}
	s := report.Section{Name: "changed templates", Note: func(n int) string {
		return "_… " + report.Plural(n, "more changed template") + ", not shown._\n\n"
	}}
	for _, it := range res.Plan.Items {
		if !it.Action.Writes() && it.Action != plan.Refused {
			continue
		}
		var b strings.Builder
		fmt.Fprintf(&b, "**%s %s** %s", report.ActionIcon(it.Action), textsafe.Cell(it.Name), doing(res.Mode, it, wrote[it.Name]))
		if it.Reason != "" {
			b.WriteString(" · " + textsafe.Cell(textsafe.Truncate(it.Reason, 500)))
		}
		if it.File != "" {
			b.WriteString(" · " + report.CodeSpan(it.File))
		}
		b.WriteString("\n\n")
		if bd, ok := builds[it.Name]; ok && res.Mode == run.ModeApply && bd.BuildID != "" {
			fmt.Fprintf(&b, "Build `%s`: %s", textsafe.Code(bd.BuildID), textsafe.Cell(bd.State))
			if notes := report.BuildNotes(bd); notes != "" {
				b.WriteString(" · " + notes)
			}
			b.WriteString("\n\n")
			if len(bd.LogTail) > 0 {
				b.WriteString(buildfail.Markdown(bd.LogTail) + "\n")
			}
		}
		if len(it.Changes) > 0 {
			b.WriteString(report.Diff(it.Changes) + "\n")
		}
		s.Blocks = append(s.Blocks, report.Block{Rank: report.RankChanged, Text: b.String()})
	}
	return []report.Section{s}
}

// doing says what happens to a changed item: "to create" in a plan,
// "created" in an apply that wrote it.
func doing(mode run.Mode, it plan.Item, wrote bool) string {
	switch {
	case it.Action == plan.Refused:
		return "refused"
	case mode != run.ModeApply && it.Action == plan.Create:
		return "to create"
	case mode != run.ModeApply:
		return "to build"
	case !wrote:
		return "not written"
	case it.Action == plan.Create:
		return "created"
	}
	return "built"
}

// others are the templates left alone for a reason a reader should see:
// a description no call can change, a newer commit's file, a commit off
// the deploy target, builds that could not be read.
func others(r Report) []report.Section {
	s := report.Section{Name: "templates left alone", Tail: "\n", Note: func(n int) string {
		return "- … " + report.Plural(n, "more template") + ", not shown\n"
	}}
	for _, it := range r.Result.Plan.Items {
		switch it.Action {
		case plan.Describe, plan.Superseded, plan.OffTarget, plan.Unreadable:
		default:
			continue
		}
		line := fmt.Sprintf("- %s **%s** %s · %s", report.ActionIcon(it.Action), textsafe.Cell(it.Name), it.Action,
			textsafe.Cell(textsafe.Truncate(it.Reason, 500)))
		if it.File != "" {
			line += " · " + report.CodeSpan(it.File)
		}
		s.Blocks = append(s.Blocks, report.Block{Rank: report.RankChanged, Text: line + "\n"})
	}
	if len(s.Blocks) == 0 {
		return nil
	}
	return []report.Section{s}
}

// unchanged collapses the unchanged templates into one list of names.
func unchanged(r Report) []report.Section {
	var names []string
	for _, it := range r.Result.Plan.Items {
		if it.Action == plan.Unchanged {
			names = append(names, it.Name)
		}
	}
	return nameList(names, fmt.Sprintf("%s unchanged", report.Number(len(names))), "unchanged template names", report.RankUnchanged)
}

// unmanaged collapses the account's templates that no file manages into
// one list of names.
func unmanaged(r Report) []report.Section {
	names := r.Result.Plan.Unmanaged
	return nameList(names, report.Plural(len(names), "template")+" in the account not managed by this repository (left alone)",
		"unmanaged template names", report.RankUnmanaged)
}

// nameList is names in a collapsed <details> under summary, each a block
// of rank.
func nameList(names []string, summary, what string, rank int) []report.Section {
	if len(names) == 0 {
		return nil
	}
	s := report.Section{Name: what, Head: "<details><summary>" + summary + "</summary>\n\n", Tail: "\n\n</details>\n\n",
		Note: func(n int) string {
			if n == len(names) {
				return "(the names are left out)"
			}
			return " … and " + report.Number(n) + " more"
		}}
	for i, n := range names {
		sep := ", "
		if i == 0 {
			sep = ""
		}
		s.Blocks = append(s.Blocks, report.Block{Rank: rank, Text: sep + textsafe.Cell(n)})
	}
	return []report.Section{s}
}
