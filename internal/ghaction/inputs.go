package ghaction

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"github.com/miosa-dev/sandbox-templates-action/internal/github"
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
		Token: v.String(settings.GitHubToken), PRComment: v.String(settings.PRComment)}
	cfg.Root = cmp.Or(rn.Workspace, ".")
	cfg.Repository = rn.Repository
	cfg.UserAgent = userAgent
	// The commit: commit-sha, else the triggering run's commit for
	// workflow_run (GITHUB_SHA is the default branch's head there), else
	// GITHUB_SHA.
	cfg.Commit = cmp.Or(v.String(settings.CommitSHA), rn.runHeadSHA(), rn.SHA)
	cfg.Mode = resolveMode(v.String(settings.Mode), rn.Event, cfg.APIKey != "")
	if v.String(settings.Mode) == string(run.ModeApply) && cfg.Mode != run.ModeApply {
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
	if cfg.CommitTime.IsZero() {
		// Without the target's word there is nothing to order this run by.
		cfg.RefuseUnordered = fmt.Sprintf("this %s run has no commit time, and GitHub could not say whether its commit is the newest", rn.Event)
	}
	return cfg, nil
}

// resolveMode turns auto into validate, plan or apply: plan on the events
// that read (pull requests, merge queues), apply on the others, and validate
// offline without a key. Those events plan even with mode apply. A fork's pull request has no secrets: plan without
// a key on such an event validates offline too, and the notice says what
// was skipped.
func resolveMode(mode, event string, hasKey bool) run.Mode {
	switch mode {
	case settings.ModeAuto:
		switch {
		case !hasKey:
			return run.ModeValidate
		case readOnlyEvent(event):
			return run.ModePlan
		}
		return run.ModeApply
	case string(run.ModePlan):
		if !hasKey && readOnlyEvent(event) {
			return run.ModeValidate
		}
	case string(run.ModeApply):
		if readOnlyEvent(event) {
			return run.ModePlan // pull requests and merge queues never write
		}
	}
	return run.Mode(mode)
}

// readOnlyEvent reports a pull request, or a merge queue's temporary commit
// that may never land: events that read, never write.
func readOnlyEvent(event string) bool {
	return strings.HasPrefix(event, "pull_request") || event == "merge_group"
}
