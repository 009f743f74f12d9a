package ghaction

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
	"github.com/miosa-dev/sandbox-templates-action/internal/github"
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
	"github.com/miosa-dev/sandbox-templates-action/internal/prcomment"
	"github.com/miosa-dev/sandbox-templates-action/internal/preview"
	"github.com/miosa-dev/sandbox-templates-action/internal/report"
	"github.com/miosa-dev/sandbox-templates-action/internal/run"
	"github.com/miosa-dev/sandbox-templates-action/internal/settings"
)

// The pull_request event's action when a pull request is closed, merged
// or not.
const actionClosed = "closed"

// Outputs of a run that builds previews.
const (
	outPreviewTemplates = "preview-template-ids"
	outPreviewBuilds    = "preview-build-ids"
)

// PreviewOutputs are the outputs a pull_request run with preview: true
// writes besides the run's own: JSON objects by template name.
var PreviewOutputs = []string{outPreviewTemplates, outPreviewBuilds}

// previews is what a pull_request run with preview: true did about the
// pull request's preview templates, for the outputs, the job summary and
// the comment.
type previews struct {
	section               prcomment.Previews
	templateIDs, buildIDs map[string]string // by template name
	pr                    int
}

// buildPreviews builds the preview templates of a pull request, after the
// run's check (res): on a pull_request event (never pull_request_target)
// with preview: true, from this repository (a fork's gets one notice), with
// an api-key and a github-token, when the check found no problem. The
// templates whose files differ between the merge base and the pull
// request's head are built from the checked-out files, as previews (see
// package preview), by a second run of the one pipeline, which takes the
// files as the check read them and its API's answers (run.Config.After):
// apply, wait, keys and commit order from the pull request's head SHA, the
// pull request's head as the deploy target. With more than preview-max of
// them, none is built and one warning says so. The preview run's problems
// (a failed build on its step's line) join res's and fail the step; the
// check is otherwise what the plan made it. It returns nil when the run
// has nothing to do with previews.
func buildPreviews(ctx context.Context, log stepLog, rn runner, in runSettings, res *run.Result, userAgent string) *previews {
	if !in.Previews {
		return nil
	}
	if rn.Event != "pull_request" {
		if rn.Event == "pull_request_target" {
			log.command("notice", nil, "preview: previews are built on pull_request events only, never on pull_request_target, "+
				"which runs with this repository's secrets whoever wrote the pull request")
		}
		return nil
	}
	pv := &previews{pr: rn.PRNumber(), templateIDs: map[string]string{}, buildIDs: map[string]string{}}
	skip := func(kind, msg string) *previews {
		log.command(kind, nil, msg)
		pv.section.Notes = append(pv.section.Notes, msg)
		return pv
	}
	switch {
	case pv.pr == 0:
		return skip("warning", "preview: the event payload names no pull request: no preview was built")
	case rn.forkPR():
		return skip("notice", "Previews are not built for pull requests from forks: they get no secrets, and a fork's code never "+
			"builds with this repository's key. The files were checked as on any pull request.")
	case in.APIKey == "":
		why := rn.noSecrets()
		if why == "" {
			why = "api-key is empty"
		}
		return skip("notice", "Previews need an api-key, and this run has none ("+why+"): no preview was built.")
	case in.Token == "":
		return skip("warning", "preview: github-token is empty: GitHub must say which files this pull request changes "+
			"(permissions: contents: read, pull-requests: read); no preview was built")
	case blocked(res):
		return skip("notice", "No preview was built: the check found problems; previews are built once it passes.")
	}
	pv.build(ctx, log, rn, in, res, userAgent, skip)
	return pv
}

// blocked reports a check whose problems stop previews: any error but
// fail-on-changes, a timeout or an interruption.
func blocked(res *run.Result) bool {
	for _, d := range res.Diagnostics {
		if d.Severity != diag.Warning && d.Rule != run.RuleFailOnChanges {
			return true
		}
	}
	return res.Status == run.StatusTimeout || res.Status == run.StatusCancelled
}

// build selects the changed templates and runs the pipeline on them as
// previews.
func (pv *previews) build(ctx context.Context, log stepLog, rn runner, in runSettings, res *run.Result, userAgent string,
	skip func(kind, msg string) *previews) {
	gh, err := github.New(github.Config{APIURL: rn.APIURL, Token: in.Token, Repository: rn.Repository, UserAgent: userAgent})
	if err != nil {
		skip("warning", fmt.Sprintf("preview: GITHUB_API_URL: %v; no preview was built", err))
		return
	}
	head, base := strings.ToLower(rn.PRHeadSHA()), rn.prBase()
	if !fullSHA.MatchString(head) || base == "" {
		skip("warning", "preview: the event payload does not show the pull request's head and base commits: no preview was built")
		return
	}
	var tpls []preview.Template
	var paths []string
	if checked := res.Checked(); checked != nil { // the files the check read
		for _, t := range checked.Templates {
			tpls = append(tpls, preview.Template{Name: t.Name, File: t.File})
			paths = append(paths, t.File)
		}
	}
	if len(paths) == 0 {
		return
	}
	changed, err := gh.PullChanges(ctx, base, head, paths, dirSize(in.Root, paths))
	if err != nil {
		skip("warning", fmt.Sprintf("preview: which files this pull request changes: %v; no preview was built", err))
		return
	}
	sel := preview.Select(tpls, changed, pv.pr, rn.Repository, in.PreviewMax, settings.PreviewMax)
	switch {
	case sel.Skipped != "":
		skip("warning", "preview: "+sel.Skipped)
		return
	case len(sel.Previews) == 0:
		msg := "This pull request changes no template file: no preview to build."
		log.info(msg)
		pv.section.Notes = append(pv.section.Notes, msg)
		return
	}
	cfg := in.Config
	cfg.Mode, cfg.Wait, cfg.Commit, cfg.CommitTime = run.ModeApply, true, head, time.Time{}
	// allow-rollback is about main's templates: a preview follows its pull
	// request's head, and an older push never builds over a newer one's.
	cfg.FailOnChanges, cfg.AllowRollback = false, false
	// The check's files, as it read and checked them, and its API's
	// answers about them: the preview run reads and asks nothing twice.
	cfg.After, cfg.Preview = res, map[string]run.PreviewIdentity{}
	var names []string
	for _, p := range sel.Previews {
		names = append(names, p.Template)
		cfg.Preview[p.Template] = run.PreviewIdentity{Name: p.Name, Description: p.Description}
	}
	cfg.Order = pullOrder{gh: gh, pr: pv.pr, head: head}
	cfg.RefuseUnordered = fmt.Sprintf("GitHub could not say whether %s is still the head of pull request #%d", plan.ShortSHA(head), pv.pr)
	cfg.Record = nil
	if cfg.Timeout > 0 {
		cfg.Timeout = max(cfg.Timeout-res.Duration, time.Second)
	}
	log.info(fmt.Sprintf("Previews of pull request #%d at %s: %s", pv.pr, plan.ShortSHA(head), strings.Join(names, ", ")))
	pres, err := run.Do(ctx, cfg, previewReporter{reporter{log}})
	if err != nil { // a setting the check's run took and the preview run does not
		msg := "preview: " + err.Error()
		pv.section.Notes = append(pv.section.Notes, msg)
		res.Diagnostics = append(res.Diagnostics, diag.Diagnostic{Message: msg, Rule: run.RuleAPI, Severity: diag.Error})
		res.Status = run.StatusFailed
		return
	}
	logTails(log, pres.Builds)
	pv.fold(res, pres, sel)
}

// fold records the preview run's outcome: each preview's state and ids,
// and its problems and status in the run's result, so that a failed
// preview fails the step with an annotation on its file's line.
func (pv *previews) fold(res, pres *run.Result, sel preview.Selection) {
	items := map[string]plan.Item{}
	for _, it := range pres.Plan.Items {
		if it.Action != plan.Describe {
			items[it.Name] = it
		}
	}
	builds := map[string]run.BuildResult{}
	for _, b := range pres.Builds {
		builds[b.Name] = b
	}
	for _, p := range sel.Previews {
		it := prcomment.Preview{Template: p.Template, Name: p.Name, TemplateID: pres.TemplateIDs[p.Name], State: "not built"}
		if b, ok := builds[p.Name]; ok && b.BuildID != "" {
			it.BuildID, it.State, it.LogTail = b.BuildID, b.State, b.LogTail
			it.Detail = strings.Trim(b.ErrorCode+": "+b.ErrorMessage, ": ")
			pv.buildIDs[p.Template] = b.BuildID
		} else if pi, ok := items[p.Name]; ok && !pi.Action.Writes() {
			it.State, it.Detail = pi.Action.String(), pi.Reason
		}
		if it.TemplateID != "" {
			pv.templateIDs[p.Template] = it.TemplateID
		}
		pv.section.Items = append(pv.section.Items, it)
	}
	seen := map[string]bool{}
	for _, d := range res.Diagnostics {
		seen[d.String()] = true
	}
	for _, d := range pres.Diagnostics {
		if !seen[d.String()] {
			seen[d.String()] = true
			res.Diagnostics = append(res.Diagnostics, d)
		}
	}
	res.Diagnostics.Sort()
	if !pres.OK() && res.OK() {
		res.Status = pres.Status
	}
}

// writeOutputs writes preview-template-ids and preview-build-ids, and
// prints them; nothing for a run without previews.
func (pv *previews) writeOutputs(set func(name, value string), log stepLog) {
	if pv == nil {
		return
	}
	for _, o := range []struct {
		name string
		ids  map[string]string
	}{{outPreviewTemplates, pv.templateIDs}, {outPreviewBuilds, pv.buildIDs}} {
		raw, _ := json.Marshal(o.ids) // a map of strings always encodes
		set(o.name, string(raw))
		log.info(o.name + "=" + string(raw))
	}
}

// maxPreviewsSummary bounds the job summary's Previews section: a quarter
// of the summary, which is fit in what is left.
const maxPreviewsSummary = report.MaxSummary / 4

// markdown is the job summary's Previews section, within
// maxPreviewsSummary; "" for none.
func (pv *previews) markdown() string {
	if pv == nil {
		return ""
	}
	return prcomment.PreviewsWithin(&pv.section, maxPreviewsSummary)
}

// comment is the comment's Previews part; nil for none.
func (pv *previews) comment() *prcomment.Previews {
	if pv == nil {
		return nil
	}
	return &pv.section
}

// previewReporter prints the preview run's progress as the run's own,
// its plan under a heading of its own.
type previewReporter struct{ reporter }

func (r previewReporter) Plan(p plan.Plan) {
	r.log.info("Preview plan:\n" + strings.TrimRight(report.PlanText(p), "\n"))
}

// pullOrder is the commit order of a pull request's previews: the pull
// request's head is the deploy target, and a run writes only while its
// head SHA is that head and the pull request is open, so a slower run of
// an older push never builds over a newer push's preview, and a run (or
// re-run) that ends after the pull request was closed leaves no preview
// behind its clean-up. One request (GET .../pulls/{n}).
type pullOrder struct {
	gh   *github.Client
	pr   int
	head string // the run's head SHA, lower case
}

// Order says every file is at the head when the run's head is the pull
// request's head now and the pull request is open, and superseded
// otherwise: the newer push's run builds them, or, closed, the pull
// request needs no preview.
func (o pullOrder) Order(ctx context.Context, files []run.OrderFile) (run.OrderAnswer, error) {
	cur, state, err := o.gh.PullHeadState(ctx, o.pr)
	if err != nil {
		return run.OrderAnswer{}, err
	}
	ord := plan.Order{State: plan.OrderAtHead, Evidence: fmt.Sprintf("pull request #%d's head is this push (%s)", o.pr, plan.ShortSHA(o.head))}
	switch {
	case state != github.PullOpen:
		ord = plan.Order{State: plan.OrderSuperseded, Evidence: fmt.Sprintf("pull request #%d is %s", o.pr, state),
			Why: fmt.Sprintf("pull request #%d is closed: its previews are deleted, not built", o.pr)}
	case cur != o.head:
		ord = plan.Order{State: plan.OrderSuperseded, Evidence: fmt.Sprintf("pull request #%d's head %s", o.pr, plan.ShortSHA(cur)),
			Why: fmt.Sprintf("pull request #%d's head moved from %s to %s (a later push), whose run builds the preview",
				o.pr, plan.ShortSHA(o.head), plan.ShortSHA(cur))}
	}
	a := run.OrderAnswer{Files: map[string]plan.Order{}}
	for _, f := range files {
		a.Files[f.Path] = ord
	}
	return a, nil
}

// prBase is the pull request's base commit as the event saw it
// (pull_request.base.sha), else its base branch; "" when the event has
// neither.
func (r runner) prBase() string {
	pr := r.Payload.PullRequest
	if pr == nil {
		return ""
	}
	if fullSHA.MatchString(strings.ToLower(pr.Base.SHA)) {
		return strings.ToLower(pr.Base.SHA)
	}
	return pr.Base.Ref
}
