package ghaction

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"

	githubactions "github.com/sethvargo/go-githubactions"
	"golang.org/x/sync/errgroup"

	"github.com/miosa-dev/sandbox-templates-action/internal/github"
	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
	"github.com/miosa-dev/sandbox-templates-action/internal/preview"
	"github.com/miosa-dev/sandbox-templates-action/internal/report"
	"github.com/miosa-dev/sandbox-templates-action/internal/run"
	"github.com/miosa-dev/sandbox-templates-action/internal/settings"
	"github.com/miosa-dev/sandbox-templates-action/internal/textsafe"
)

// cleanupPreviews carries out the runs that delete previews, and reports
// whether this run is one, with its exit code: mode cleanup (for a
// schedule: the previews of every pull request GitHub says is closed) and,
// with preview: true, a pull_request closed event (that pull request's
// previews, merged or not). Nothing else is ever deleted: a template is a
// candidate only when its list row shows this repository's preview name
// and mark, and is deleted only when, read by id right before, its slug
// carries the pattern (checked first) and its description the mark for
// the same pull request (second). A delete refused with 409
// TEMPLATE_IN_USE is one warning with the counts; the template stays for
// a later clean-up.
func cleanupPreviews(ctx context.Context, a *githubactions.Action, log stepLog, rn runner, in runSettings, userAgent string) (int, bool) {
	mode := string(in.Mode) == settings.ModeCleanup
	closing := in.Previews && rn.Event == "pull_request" && rn.Payload.Action == actionClosed
	if !mode && !closing {
		return 0, false
	}
	pr := 0
	if !mode {
		pr = rn.PRNumber()
	}
	end := func(status string, code int) (int, bool) {
		setOutput(a, "status", status)
		log.info("status=" + status)
		return code, true
	}
	switch {
	case !mode && rn.forkPR():
		log.command("notice", nil, "A pull request from a fork has no previews (forks get no secrets): nothing to delete.")
		return end(run.StatusSkipped, run.ExitOK)
	case !mode && in.APIKey == "":
		log.command("notice", nil, "No api-key ("+cmp.Or(rn.noSecrets(), "api-key is empty")+"): this pull request's previews, if any, are left to a run of mode: cleanup.")
		return end(run.StatusSkipped, run.ExitOK)
	case in.APIKey == "":
		log.command("error", nil, "mode cleanup needs an API key: pass api-key: ${{ secrets."+SecretName+" }}")
		return end(run.StatusFailed, run.ExitUsage)
	case mode && in.Token == "":
		log.command("error", nil, "mode cleanup needs a github-token to ask GitHub which pull requests are closed (permissions: pull-requests: read)")
		return end(run.StatusFailed, run.ExitUsage)
	case !mode && pr == 0:
		log.command("warning", nil, "preview: the closed event's payload names no pull request: nothing was deleted")
		return end(run.StatusSkipped, run.ExitOK)
	}
	if in.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, in.Timeout)
		defer cancel()
	}
	if !mode && reopened(ctx, log, rn, in, pr, userAgent) {
		return end(run.StatusSkipped, run.ExitOK)
	}
	api, err := miosa.New(miosa.Options{BaseURL: in.APIURL, APIKey: in.APIKey, UserAgent: userAgent, AllowInsecureHTTP: in.AllowInsecureHTTP,
		Concurrency: in.Concurrency, Logf: func(format string, args ...any) { log.info(fmt.Sprintf(format, args...)) }})
	if err != nil {
		log.command("error", nil, "api client: "+err.Error())
		return end(run.StatusFailed, run.ExitUsage)
	}
	if w := api.Warning(); w != "" {
		log.command("warning", nil, w)
	}
	var gh *github.Client
	if mode {
		if gh, err = github.New(github.Config{APIURL: rn.APIURL, Token: in.Token, Repository: rn.Repository, UserAgent: userAgent}); err != nil {
			log.command("error", nil, "GITHUB_API_URL: "+err.Error())
			return end(run.StatusFailed, run.ExitUsage)
		}
	}
	c := cleaner{api: api, gh: gh, log: log, repo: rn.Repository, concurrency: in.Concurrency}
	r := c.clean(ctx, pr)
	status, code := run.StatusSuccess, run.ExitOK
	if len(r.failures) > 0 {
		status, code = run.StatusFailed, run.ExitFailed
	}
	if in.Summary && rn.StepSummary != "" {
		a.AddStepSummary(r.markdown(pr, status))
	}
	return end(status, code)
}

// reopened reports whether pull request pr, whose closed event this run
// is, is open now: a re-run of the closed event's run after the pull
// request was reopened, whose previews serve it again and are kept (one
// notice). It asks GitHub when there is a github-token; without one, or
// when GitHub does not answer, the event's word (closed) stands.
func reopened(ctx context.Context, log stepLog, rn runner, in runSettings, pr int, userAgent string) bool {
	if in.Token == "" {
		return false
	}
	gh, err := github.New(github.Config{APIURL: rn.APIURL, Token: in.Token, Repository: rn.Repository, UserAgent: userAgent})
	if err == nil {
		var state string
		if state, err = gh.PullState(ctx, pr); err == nil && state == github.PullOpen {
			log.command("notice", nil, fmt.Sprintf("Pull request #%d is open again (reopened since this closed event): its previews were kept.", pr))
			return true
		}
	}
	if err != nil {
		log.info(fmt.Sprintf("preview: GitHub did not say whether pull request #%d is still closed (%v): deleting its previews as the closed event says", pr, err))
	}
	return false
}

// cleaner deletes a repository's previews.
type cleaner struct {
	api         *miosa.Client
	gh          *github.Client // nil: the pull request is known to be closed
	log         stepLog
	repo        string
	concurrency int
}

// cleanup is what a clean-up did.
type cleanup struct {
	deleted, inUse, gone, changed []preview.Candidate
	kept                          []preview.Candidate // previews of open pull requests, or of ones GitHub did not tell
	inUseWhy                      []string
	failures                      []string
}

// clean deletes the previews of pull request pr (0: of every closed pull
// request).
func (c cleaner) clean(ctx context.Context, pr int) cleanup {
	var r cleanup
	rows, err := c.api.ListTemplates(ctx, false)
	if err != nil {
		r.fail(c.log, "list templates: "+err.Error())
		return r
	}
	var list []preview.Row
	for _, row := range rows {
		list = append(list, preview.Row{ID: row.ID, Name: row.Name, Description: row.Description, BuiltIn: row.BuiltIn})
	}
	cands := preview.Candidates(list, c.repo, pr)
	states := map[int]preview.State{}
	if pr > 0 {
		states[pr] = preview.Closed
	} else {
		states = c.states(ctx, preview.Numbers(cands))
	}
	p := preview.Plan(cands, states)
	r.kept = append(p.Keep, p.Unknown...)
	c.log.info(fmt.Sprintf("Previews of %s: %d found, %d of closed pull requests to delete", c.repo, len(cands), len(p.Delete)))
	outs := make([]deleteOutcome, len(p.Delete))
	g := new(errgroup.Group)
	g.SetLimit(max(c.concurrency, 1))
	for i, cand := range p.Delete {
		g.Go(func() error {
			outs[i] = c.delete(ctx, cand)
			return nil
		})
	}
	_ = g.Wait()
	for i, o := range outs {
		cand := p.Delete[i]
		switch {
		case o.err != nil && miosa.IsTemplateInUse(o.err):
			r.inUse = append(r.inUse, cand)
			r.inUseWhy = append(r.inUseWhy, cand.Name+" ("+inUseMessage(o.err)+")")
		case o.err != nil && miosa.IsTemplateGone(o.err):
			r.gone = append(r.gone, cand)
		case o.err != nil:
			r.fail(c.log, fmt.Sprintf("delete preview %s of pull request #%d: %v", cand.Name, cand.PR, o.err))
		case o.notOwned != "":
			r.changed = append(r.changed, cand)
			c.log.command("warning", nil, fmt.Sprintf("preview: %s (template %s) was not deleted: %s", cand.Name, cand.ID, o.notOwned))
		default:
			r.deleted = append(r.deleted, cand)
			c.log.info(fmt.Sprintf("Deleted preview %s (template %s) of pull request #%d", cand.Name, cand.ID, cand.PR))
		}
	}
	if len(r.inUse) > 0 {
		c.log.command("warning", nil, fmt.Sprintf("%d of %d preview template(s) were not deleted: in use (TEMPLATE_IN_USE): %s. "+
			"A later run of mode: cleanup deletes them once nothing depends on them.",
			len(r.inUse), len(p.Delete), textsafe.Truncate(strings.Join(r.inUseWhy, "; "), 1500)))
	}
	return r
}

// fail records and annotates a failure of the clean-up.
func (r *cleanup) fail(log stepLog, msg string) {
	msg = textsafe.Truncate(textsafe.Line(msg), 2000)
	r.failures = append(r.failures, msg)
	log.command("error", nil, msg)
}

// states asks GitHub the state of each pull request; one GitHub does not
// answer is Unknown, said in one warning, and its previews are kept.
func (c cleaner) states(ctx context.Context, numbers []int) map[int]preview.State {
	type answer struct {
		state string
		err   error
	}
	answers := make([]answer, len(numbers))
	g := new(errgroup.Group)
	g.SetLimit(max(c.concurrency, 1))
	for i, n := range numbers {
		g.Go(func() error {
			answers[i].state, answers[i].err = c.gh.PullState(ctx, n)
			return nil
		})
	}
	_ = g.Wait()
	out := map[int]preview.State{}
	var unknown []string
	var first error
	for i, n := range numbers {
		switch a := answers[i]; {
		case a.err != nil:
			unknown = append(unknown, fmt.Sprintf("#%d", n))
			if first == nil {
				first = a.err
			}
		case a.state == github.PullClosed:
			out[n] = preview.Closed
		default:
			out[n] = preview.Open
		}
	}
	if len(unknown) > 0 && ctx.Err() == nil {
		c.log.command("warning", nil, fmt.Sprintf("GitHub did not say the state of pull request(s) %s (%v): their previews were kept",
			strings.Join(unknown, ", "), first))
	}
	return out
}

// deleteOutcome is what deleting one candidate did.
type deleteOutcome struct {
	notOwned string // why the template read by id is not the preview its row showed
	err      error
}

// delete reads the candidate by id and deletes it only when its slug and
// description still make it this repository's preview of the same pull
// request.
func (c cleaner) delete(ctx context.Context, cand preview.Candidate) deleteOutcome {
	tpl, err := c.api.GetTemplate(ctx, cand.ID)
	if err != nil {
		return deleteOutcome{err: err}
	}
	if n, ok := preview.Owns(tpl.Slug, tpl.Description, c.repo); !ok || n != cand.PR {
		return deleteOutcome{notOwned: fmt.Sprintf("read by id, its slug %q and description do not mark it as this repository's preview of pull request #%d",
			textsafe.Truncate(tpl.Slug, 100), cand.PR)}
	}
	return deleteOutcome{err: c.api.DeleteTemplate(ctx, tpl.ID)}
}

// inUseMessage is the server's word on what depends on a template.
func inUseMessage(err error) string {
	if e, ok := errors.AsType[*miosa.Error](err); ok && e.Message != "" {
		return textsafe.Truncate(e.Message, 200)
	}
	return "TEMPLATE_IN_USE"
}

// markdown is the job summary of a clean-up, within report.MaxSummary.
func (r cleanup) markdown(pr int, status string) string {
	return r.markdownWithin(pr, status, report.MaxSummary)
}

// markdownWithin is the job summary of a clean-up in at most limit bytes:
// the previews kept are left out first, then those already gone, then the
// ones deleted, in use or no longer marked, failures last; a line under the
// counts says what was. A negative limit leaves out nothing.
func (r cleanup) markdownWithin(pr int, status string, limit int) string {
	icon := "🧹"
	if status != run.StatusSuccess {
		icon = "❌"
	}
	what := "previews of closed pull requests"
	if pr > 0 {
		what = fmt.Sprintf("previews of pull request #%d", pr)
	}
	head := fmt.Sprintf("## %s Sandbox templates: %s\n\n", icon, what) +
		fmt.Sprintf("%s deleted · %s in use · %s already gone · %s kept\n\n", report.Number(len(r.deleted)), report.Number(len(r.inUse)),
			report.Number(len(r.gone)), report.Number(len(r.kept)))
	failures := report.Section{Name: "failures", Note: func(n int) string {
		return "> ❌ … " + report.Plural(n, "more failure") + ", in this step's log\n\n"
	}}
	for _, f := range r.failures {
		failures.Blocks = append(failures.Blocks, report.Block{Rank: report.RankProblem, Text: "> ❌ " + textsafe.Cell(f) + "\n\n"})
	}
	rows := []struct {
		cands   []preview.Candidate
		outcome string
		rank    int
	}{
		{r.deleted, "🗑️ deleted", report.RankChanged}, {r.inUse, "⚠️ in use, kept", report.RankChanged},
		{r.gone, "already gone", report.RankDiff}, {r.changed, "⚠️ no longer marked, kept", report.RankChanged},
		{r.kept, "kept (open, or its state unknown)", report.RankUnchanged},
	}
	table := report.Section{Name: "preview rows", Head: "| Preview | Pull request | Template id | Outcome |\n|---|---|---|---|\n",
		Note: func(n int) string { return "| … | | | " + report.Plural(n, "more preview") + ", not shown |\n" }}
	for _, row := range rows {
		for _, c := range row.cands {
			table.Blocks = append(table.Blocks, report.Block{Rank: row.rank,
				Text: fmt.Sprintf("| %s | #%d | `%s` | %s |\n", report.CodeSpan(c.Name), c.PR, textsafe.Code(c.ID), row.outcome)})
		}
	}
	if len(table.Blocks) == 0 {
		table = report.Section{Tail: "No preview template of this repository to delete.\n"}
	}
	sections := []report.Section{failures, table}
	if limit < 0 {
		return head + report.Fit(sections, -1).Text
	}
	line := func(cut []report.Count) string {
		return fmt.Sprintf("> ✂️ **Cut to fit GitHub's limit of 1 MiB for a job summary:** %s left out. "+
			"Each failure and each deleted preview is also named in this step's log.\n\n", report.CutList(cut))
	}
	room := len(line([]report.Count{{Name: "failures", N: 1 << 30}, {Name: "preview rows", N: 1 << 30}}))
	return head + report.FitNoted(sections, max(limit-len(head), 0), room, line)
}
