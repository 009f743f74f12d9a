package ghaction

import (
	"cmp"
	"strings"

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
}

// config turns the inputs (every setting of the table, checked before the run
// starts: a bad value is an error naming the input) and the runner into
// settings. The Actions rules live here: auto mode and the events it reads,
// GITHUB_SHA as the commit, the push payload's time.
func config(in input, rn runner) (runSettings, error) {
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
	cfg.Commit = cmp.Or(v.String(settings.CommitSHA), rn.SHA)
	cfg.Mode = resolveMode(v.String(settings.Mode), rn.Event, cfg.APIKey != "")
	cfg.CommitTime = rn.commitTime(cfg.Commit)
	return cfg, nil
}

// resolveMode turns auto into validate, plan or apply: plan on the events
// that read (pull requests, merge queues), apply on the others, and validate
// offline without a key. A fork's pull request has no secrets: plan without
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
	}
	return run.Mode(mode)
}

// readOnlyEvent reports a pull request, or a merge queue's temporary commit
// that may never land: events that read, never write.
func readOnlyEvent(event string) bool {
	return strings.HasPrefix(event, "pull_request") || event == "merge_group"
}
