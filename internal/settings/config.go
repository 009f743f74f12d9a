package settings

import (
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
	"github.com/miosa-dev/sandbox-templates-action/internal/run"
)

// RunConfig is the part of a run's Config that the table holds, as typed
// values the run trusts; each adapter adds what it owns (mode, commit,
// root, repository, the commit's order).
func (v Values) RunConfig() run.Config {
	return run.Config{
		APIKey: v.String(APIKey), APIURL: v.String(APIURL),
		Patterns: v.Lines(Path), Templates: v.Lines(Templates), IfNoFilesFound: v.String(IfNoFiles),
		BuildMode: plan.BuildMode(v.String(Build)), Wait: v.Bool(Wait),
		Timeout: v.Duration(Timeout), PollInterval: v.Duration(PollInterval),
		Concurrency: v.Int(Concurrency), FailOnChanges: v.Bool(FailOnChanges),
		AllowRollback: v.Bool(AllowRollback), AllowInsecureHTTP: v.Bool(AllowHTTP),
	}
}
