package ghaction

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"github.com/miosa-dev/sandbox-templates-action/internal/github"
	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
	"github.com/miosa-dev/sandbox-templates-action/internal/run"
	"github.com/miosa-dev/sandbox-templates-action/internal/settings"
)

// input reads action inputs the way the runner passes them: INPUT_ followed
// by the name upper-cased with spaces as underscores and hyphens kept.
type input func(name string) string

// runSettings is what the inputs ask for: the run's Config, and what the
// adapter does itself.
type runSettings struct {
	run.Config
	Summary   bool   // write the job summary
	Token     string // github-token
	PRComment string // auto, always or never
	Label     string // comment-label: which pull request comment is this step's, with the workflow and job
	DeployEnv string // deployment-environment
	// record is the record of what is deployed (Config.Record), which the
	// adapter ends after the run; nil for a run that cannot write.
	record *recorder
	// Previews and PreviewMax are the preview and preview-max inputs.
	Previews   bool
	PreviewMax int
	// Notices are said before the run starts.
	Notices []string
}

// config turns the inputs (every setting of the table, checked before the run
// starts: a bad value is an error naming the input) and the runner into
// settings. The Actions rules live here: auto mode and the events it reads,
// GITHUB_SHA as the commit, the push payload's time, and, for a run that
// writes, the event's deploy target, whose head GitHub is asked about.
func config(ctx context.Context, in input, rn runner, userAgent string) (runSettings, error) {
	v, err := settings.Parse(settings.All, func(name string) (string, bool) {
		raw := in(name)
		return raw, raw != ""
	}, func(name string) string { return "input " + name })
	if err != nil {
		return runSettings{}, &run.UsageError{Msg: err.Error()}
	}
	cfg := runSettings{Config: v.RunConfig(), Summary: v.Bool(settings.Summary),
		Token: v.String(settings.GitHubToken), PRComment: v.String(settings.PRComment), DeployEnv: v.String(settings.DeployEnv)}
	cfg.Label = strings.TrimSpace(v.String(settings.CommentLabel))
	cfg.Previews, cfg.PreviewMax = v.Bool(settings.Preview), v.Int(settings.PreviewMax)
	cfg.Root = cmp.Or(rn.Workspace, ".")
	cfg.Repository = rn.Repository
	cfg.UserAgent = userAgent
	// The commit: commit-sha, else the triggering run's commit for
	// workflow_run (GITHUB_SHA is the default branch's head there), else
	// GITHUB_SHA.
	cfg.Commit = cmp.Or(v.String(settings.CommitSHA), rn.runHeadSHA(), rn.SHA)
	noSecrets := rn.noSecrets()
	if cfg.Mode, err = resolveMode(v.String(settings.Mode), rn.Event, cfg.APIKey != "", noSecrets); err != nil {
		return runSettings{}, err
	}
	if cfg.APIKey == "" && cfg.Mode == run.ModeValidate && v.String(settings.Mode) != string(run.ModeValidate) {
		cfg.Notices = append(cfg.Notices, "api-key is empty, as expected here: "+noSecrets+". The files are checked offline.")
	}
	if v.String(settings.Mode) == string(run.ModeApply) && cfg.Mode == run.ModePlan {
		cfg.Notices = append(cfg.Notices, "This run only plans: a "+rn.Event+" event never writes (mode: apply is taken as plan).")
	}
	if cfg.Mode == run.ModeValidate || readOnlyEvent(rn.Event) {
		cfg.CommitTime = rn.commitTime(cfg.Commit)
		return cfg, nil // no write, and no commit order to ask for
	}
	t, err := rn.target(v.String(settings.TargetRef))
	switch {
	case err != nil && cfg.Mode == run.ModeApply:
		return runSettings{}, err
	case err != nil:
		cfg.CommitTime = rn.commitTime(cfg.Commit)
		return cfg, nil // a plan of a run that could not write: the clock rule
	}
	if t.NoWrite != "" && cfg.Mode == run.ModeApply {
		cfg.Mode = run.ModePlan
		cfg.Notices = append(cfg.Notices, "This run only plans: "+t.NoWrite+", so it never writes.")
	}
	var gh *github.Client
	if cfg.Token != "" {
		if gh, err = github.New(github.Config{APIURL: rn.APIURL, Token: cfg.Token, Repository: rn.Repository, UserAgent: userAgent}); err != nil {
			return runSettings{}, run.Usagef("GITHUB_API_URL: %v", err)
		}
	}
	if v.String(settings.CommitSHA) != "" {
		if cfg.Commit, err = resolveCommit(ctx, gh, cfg.Commit); err != nil {
			return runSettings{}, err
		}
	}
	cfg.CommitTime = rn.commitTime(cfg.Commit)
	if t.NoWrite != "" {
		return cfg, nil
	}
	cfg.Order = githubOrder{gh: gh, t: t, this: cfg.Commit, workspace: cfg.Root}
	cfg.record = &recorder{gh: gh, full: fullScope(v.String(settings.Scope), rn.Event, gh != nil), env: cfg.DeployEnv,
		this: cfg.Commit, patterns: cfg.patterns(), api: miosa.DisplayURL(cmp.Or(cfg.APIURL, run.DefaultAPIURL)),
		workspace: cfg.Root, runURL: rn.RunURL()}
	cfg.Record = cfg.record
	if cfg.CommitTime.IsZero() {
		// Without the target's word there is nothing to order this run by.
		cfg.RefuseUnordered = fmt.Sprintf("this %s run has no commit time, and GitHub could not say whether its commit is the newest", rn.Event)
	}
	return cfg, nil
}

// resolveMode turns auto into plan (on the events that read: pull
// requests, merge queues) or apply (on the others); those events plan even
// with mode apply. A run that would read or write the server needs a key.
// Without one, auto and plan become an offline validate only where no
// secret can exist (noSecrets says why: a fork's pull request, Dependabot,
// a fork of the repository); anywhere else an empty key is a secret that
// is missing or misnamed, and the run fails at once, naming the input and
// the secret to create, rather than pass green having synced nothing.
// validate needs no key; other modes pass through.
func resolveMode(mode, event string, hasKey bool, noSecrets string) (run.Mode, error) {
	m := run.Mode(mode)
	switch mode {
	case settings.ModeAuto:
		m = run.ModeApply
		if readOnlyEvent(event) {
			m = run.ModePlan
		}
	case string(run.ModeApply):
		if readOnlyEvent(event) {
			m = run.ModePlan // pull requests and merge queues never write
		}
	case string(run.ModePlan):
	default:
		return m, nil
	}
	switch {
	case hasKey:
		return m, nil
	case noSecrets != "" && (mode == settings.ModeAuto || m == run.ModePlan):
		return run.ModeValidate, nil
	}
	return "", missingKey(mode, m, event)
}

// SecretName is the repository secret the docs and the errors tell users to
// create for the api-key input.
const SecretName = "MIOSA_API_KEY"

// missingKey is the error of a run that needs a key and got none.
func missingKey(mode string, m run.Mode, event string) error {
	what := fmt.Sprintf("mode %s needs an API key", mode)
	if mode == settings.ModeAuto {
		what = fmt.Sprintf("mode auto needs an API key to %s on a %s event", m, event)
	}
	return run.Usagef("%s, and input api-key is empty. Create a repository secret named %s holding your Miosa API key "+
		"(Settings → Secrets and variables → Actions → New repository secret) and pass it to this step with "+
		"\"api-key: ${{ secrets.%s }}\"; a secret whose name is misspelt also reaches the step empty. "+
		"To check the files without a key, set mode: validate", what, SecretName, SecretName)
}

// readOnlyEvent reports a pull request, or a merge queue's temporary commit
// that may never land: events that read, never write.
func readOnlyEvent(event string) bool {
	return strings.HasPrefix(event, "pull_request") || event == "merge_group"
}
