package ghaction

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/miosa-dev/sandbox-templates-action/internal/github"
	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
	"github.com/miosa-dev/sandbox-templates-action/internal/preview"
	"github.com/miosa-dev/sandbox-templates-action/internal/run"
	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
	"github.com/miosa-dev/sandbox-templates-action/internal/textsafe"
)

const (
	// toolName marks the deployments this action makes, in their payload:
	// neither the scope nor the record trusts another's.
	toolName = preview.Tool
	// maxRecordNames bounds the names a deployment's payload lists of the
	// templates, and of those written; the counts count them all.
	maxRecordNames = 500
	// maxLookups is how many of the environment's newest deployments are
	// looked through for this action's newest.
	maxLookups = 20
)

// record is a deployment's payload: what the run that made it deployed.
type record struct {
	Tool string `json:"tool"`
	// Patterns are the path input: a run with other patterns reads every
	// template, as this deployment never saw the files they add.
	Patterns []string `json:"patterns"`
	// API is the api-url (scheme, host and path alone): a run against
	// another server reads every template.
	API string `json:"api_url"`
	// Templates are the names of the run's templates, the first
	// maxRecordNames of them, sorted; Count counts them all.
	Templates []string `json:"templates"`
	Count     int      `json:"templates_count"`
	// Pending are the templates whose builds the run started or found in
	// progress, the first maxRecordNames, sorted; PendingCount counts them
	// all. While the deployment is in_progress, the next run reads their
	// builds.
	Pending      []string `json:"pending"`
	PendingCount int      `json:"pending_count"`
}

// patterns are the path input as a deployment records it: the default
// patterns when none are given.
func (in runSettings) patterns() []string {
	if len(in.Patterns) == 0 {
		return spec.DefaultPatterns
	}
	return in.Patterns
}

// verdict is what the end of an apply says of its templates.
type verdict struct {
	names   []string // every template, sorted, when each serves its file or is building it
	pending []string // "name state" of the builds not ready yet
	why     string   // why some template neither serves its file nor is building it
}

// served says whether every template of an apply serves its file's spec at
// the end of the run. It does when the run succeeded (no problem at all:
// nothing failed, was refused or could not be read), the templates input
// did not narrow it, every template's item is unchanged, create or build
// (not invalid, superseded, off-target, refused, unreadable, nor left alone
// by build: never), and each has a build of its wanted spec that is ready,
// or a ready row it was judged from (scope: auto). Builds of the wanted
// specs still in progress (wait: false) are pending: not served yet.
func served(res *run.Result, filtered bool) verdict {
	switch {
	case res.Mode != run.ModeApply:
		return verdict{why: "only an apply records one"}
	case res.Status != run.StatusSuccess:
		return verdict{why: "the run's status is " + res.Status}
	case filtered:
		return verdict{why: "the templates input narrows this run to some templates"}
	}
	builds := map[string]run.BuildResult{}
	for _, b := range res.Builds {
		builds[b.Name] = b
	}
	var v verdict
	for _, it := range res.Plan.Items {
		switch it.Action {
		case plan.Describe:
			continue // no call can change a description: the spec is what is served
		case plan.Unchanged, plan.Create, plan.Build:
		default:
			return verdict{why: fmt.Sprintf("%s is %s (%s)", it.Name, it.Action, textsafe.Truncate(it.Reason, 200))}
		}
		b, ok := builds[it.Name]
		switch {
		case !ok:
			return verdict{why: fmt.Sprintf("%s does not serve its file's spec (%s)", it.Name, textsafe.Truncate(it.Reason, 200))}
		case b.State != miosa.StateReady:
			v.pending = append(v.pending, it.Name+" "+b.State)
		}
		v.names = append(v.names, it.Name)
	}
	if len(v.names) == 0 {
		return verdict{why: "the run has no templates"}
	}
	slices.Sort(v.names)
	return v
}

// pendingText says which builds are not ready, the first three by name.
func pendingText(pending []string) string {
	shown := pending[:min(len(pending), 3)]
	more := ""
	if len(pending) > len(shown) {
		more = fmt.Sprintf(", and %d more", len(pending)-len(shown))
	}
	return fmt.Sprintf("%d build(s) are not ready yet (%s%s)", len(pending), strings.Join(shown, ", "), more)
}

// recordDeployment ends the record of an apply and returns a line for the
// job summary ("" for none):
//
//   - every template serves its file: the run's commit gets a deployment
//     whose status is success (the in_progress one Writing made, this
//     commit's own when it is the newest, or a new one);
//   - the run wrote, and every template serves its file or is building it
//     (wait: false): the in_progress deployment stays, naming the writes,
//     whose builds the next run reads;
//   - the run wrote, and something else went wrong: that deployment's
//     status becomes failure (the run failed) or inactive (templates were
//     left alone: superseded, off the target, outside the templates
//     input), and the next run reads every template;
//   - the run wrote nothing: nothing changes (what was recorded still
//     holds), and the log says why no deployment was recorded;
//   - before the first two, another run marked writes to another commit
//     after this run read the server (overtaken): no success, and no
//     in_progress, is true of what this run judged before those writes, so
//     nothing is recorded and this run's own deployment becomes inactive.
//
// Without a token, or with one that may not write deployments, it says so
// in one notice; any other failure is one warning. Either way the step's
// outcome is the sync's.
func recordDeployment(ctx context.Context, log stepLog, in runSettings, res *run.Result) string {
	r := in.record
	if in.Mode != run.ModeApply || r == nil || ctx.Err() != nil {
		return ""
	}
	r.mu.Lock()
	writing, writingState, writeErr, wrote := r.writing, r.writingState, r.writeErr, r.wrote
	r.mu.Unlock()
	v := served(res, len(in.Templates) > 0)
	success := v.why == "" && len(v.pending) == 0
	if !success && !wrote {
		log.info("Deployment not recorded: " + cmp.Or(v.why, pendingText(v.pending)) + ".")
		return ""
	}
	if r.gh == nil {
		log.command("notice", nil, "Deployment not recorded: no github-token (the job needs permissions: deployments: write).")
		return ""
	}
	short := plan.ShortSHA(r.this)
	var line string
	var err error
	var deps []github.Deployment // listed before a success or an in_progress that stays
	if success || writing != nil && v.why == "" {
		if deps, err = r.list(ctx); err != nil {
			sayRecordError(ctx, log, short, err)
			return ""
		}
		own := int64(0)
		if writing != nil {
			own = writing.ID
		}
		if o := r.overtaken(deps, own); o != nil {
			return r.sayOvertaken(ctx, log, o, writing, writingState)
		}
	}
	switch {
	case success:
		var id int64
		var made bool
		id, made, err = r.recordServed(ctx, writing, deps, v.names)
		what := "Recorded"
		if !made {
			what = "Already recorded:"
		}
		line = fmt.Sprintf("%s deployment %d of %s to the environment %s: %d template(s) serve this commit's files.", what, id, short, r.env, len(v.names))
	case writing == nil:
		err = writeErr // nothing could be marked in progress before the writes
	case v.why == "":
		line = fmt.Sprintf("Deployment %d of %s to the environment %s is in progress: %s; the next run that finds them ready records it "+
			"(wait: true records it in this run).", writing.ID, short, r.env, pendingText(v.pending))
	default:
		// A run that failed is a failure; one that wrote while other
		// templates were left alone (superseded, off the target, outside
		// the templates input) is no longer a record of the server.
		state := github.DeploymentInactive
		if res.Status != run.StatusSuccess {
			state = github.DeploymentFailure
		}
		if state != writingState || writeErr != nil {
			err = r.gh.SetDeploymentState(ctx, writing.ID, state, r.runURL, "not every template serves its file")
		}
		if err == nil {
			log.info(fmt.Sprintf("Deployment %d of %s marked %s: %s; the next run reads every template.", writing.ID, short, state, v.why))
		}
	}
	if err != nil {
		sayRecordError(ctx, log, short, err)
		return ""
	}
	if line == "" {
		return ""
	}
	log.info(line)
	return "\n" + textsafe.Cell(line) + "\n"
}

// sayRecordError says why the record failed: a notice for a token that may
// not write deployments and a commit GitHub does not have, a warning
// otherwise.
func sayRecordError(ctx context.Context, log stepLog, short string, err error) {
	switch {
	case ctx.Err() != nil:
	case github.IsForbidden(err) || github.IsNotFound(err):
		log.command("notice", nil, fmt.Sprintf("Deployment not recorded: the token may not write deployments (the job needs permissions: deployments: write): %v", err))
	case github.IsUnknownRef(err):
		log.command("notice", nil, fmt.Sprintf("Deployment not recorded: GitHub does not have commit %s: %v", short, err))
	default:
		log.command("warning", nil, "Deployment not recorded: "+err.Error())
	}
}

// sayOvertaken ends the record of a run that another run overtook (o, a
// deployment of another commit marked after this run read the server): it
// records nothing, and marks the deployment of this run's writes inactive,
// as neither a success nor an in_progress of it would be true of the
// templates it judged before the other run's writes. It returns the
// summary's line.
func (r *recorder) sayOvertaken(ctx context.Context, log stepLog, o *github.Deployment, writing *github.Deployment, writingState string) string {
	short := plan.ShortSHA(r.this)
	why := fmt.Sprintf("another run marked deployment %d of %s after this run read the server, and its writes may have changed what this run read", o.ID, plan.ShortSHA(o.SHA))
	line := fmt.Sprintf("Deployment not recorded: %s.", why)
	if writing != nil {
		if writingState != github.DeploymentInactive {
			if err := r.gh.SetDeploymentState(ctx, writing.ID, github.DeploymentInactive, r.runURL, "overtaken by another run"); err != nil {
				sayRecordError(ctx, log, short, err)
				return ""
			}
		}
		line = fmt.Sprintf("Deployment %d of %s marked inactive: %s; the next run does not take it for what the server serves.", writing.ID, short, why)
	}
	log.info(line)
	return "\n" + textsafe.Cell(line) + "\n"
}

// recordServed gives the run's commit a deployment whose status is
// success, once per commit: the in_progress deployment of this run's
// writes, unless another run of this commit marked a newer one (then that
// one, and this run's becomes inactive); else this commit's own deployment
// when it is the environment's
// newest of this action among deps (left as it is when it is a success
// already, a re-run); else a new one. It returns the deployment's id and
// whether this run wrote a status.
func (r *recorder) recordServed(ctx context.Context, writing *github.Deployment, deps []github.Deployment, names []string) (int64, bool, error) {
	description := textsafe.Truncate(fmt.Sprintf("%d sandbox template(s) serve the files of %s", len(names), plan.ShortSHA(r.this)), 140)
	last, _ := newestOf(deps)
	if writing != nil {
		if last == nil || last.ID <= writing.ID || last.SHA != r.this {
			return writing.ID, true, r.gh.SetDeploymentState(ctx, writing.ID, github.DeploymentSuccess, r.runURL, description)
		}
		// Another run of this commit marked its writes after this one (a
		// re-run racing the first attempt): the newest deployment is the
		// record, so that the next run's scope starts from it, whichever of
		// the two finishes last; this run's own is no longer one.
		if err := r.gh.SetDeploymentState(ctx, writing.ID, github.DeploymentInactive, r.runURL,
			"another run of "+plan.ShortSHA(r.this)+" records it"); err != nil {
			return 0, false, err
		}
	}
	if last != nil && last.SHA == r.this {
		state, err := r.gh.DeploymentState(ctx, last.ID)
		switch {
		case err != nil:
			return 0, false, err
		case state == github.DeploymentSuccess:
			return last.ID, false, nil
		}
		return last.ID, true, r.gh.SetDeploymentState(ctx, last.ID, github.DeploymentSuccess, r.runURL, description)
	}
	d, err := r.create(ctx, names, nil)
	if err != nil {
		return 0, false, err
	}
	return d.ID, true, r.gh.SetDeploymentState(ctx, d.ID, github.DeploymentSuccess, r.runURL, description)
}
