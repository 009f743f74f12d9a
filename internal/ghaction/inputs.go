package ghaction

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/apply"
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
)

// input reads action inputs the way the runner passes them: INPUT_ followed
// by the name upper-cased with spaces as underscores and hyphens kept.
type input func(name string) string

// config turns the inputs and the runner's environment into a run's Config.
func config(in input, getenv func(string) string) (apply.Config, error) {
	cfg := apply.Config{
		Root:       getenv("GITHUB_WORKSPACE"),
		Event:      getenv("GITHUB_EVENT_NAME"),
		Repository: getenv("GITHUB_REPOSITORY"),
		APIKey:     in("api-key"),
		APIURL:     in("api-url"),
		Patterns:   lines(in("path")),
		Templates:  lines(in("templates")),
		Mode:       orDefault(in("mode"), apply.ModeAuto),
		BuildMode:  plan.BuildMode(orDefault(in("build"), string(plan.BuildChanged))),
		Commit:     orDefault(in("commit-sha"), getenv("GITHUB_SHA")),
	}
	if cfg.Root == "" {
		cfg.Root = "."
	}
	var err error
	if cfg.Wait, err = boolInput(in, "wait", false); err != nil {
		return cfg, err
	}
	if cfg.FailOnChanges, err = boolInput(in, "fail-on-changes", false); err != nil {
		return cfg, err
	}
	if cfg.AllowRollback, err = boolInput(in, "allow-rollback", false); err != nil {
		return cfg, err
	}
	cfg.CommitTime = commitTime(getenv, cfg.Commit)
	cfg.AdoptGrace = apply.AdoptGraceEnv(getenv)
	if cfg.Timeout, err = durationInput(in, "timeout", 30*time.Minute); err != nil {
		return cfg, err
	}
	if cfg.PollInterval, err = durationInput(in, "poll-interval", 10*time.Second); err != nil {
		return cfg, err
	}
	if cfg.PollInterval < time.Second {
		return cfg, fmt.Errorf("input poll-interval: %s is below the 1s minimum", cfg.PollInterval)
	}
	if v := in("concurrency"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 64 {
			return cfg, fmt.Errorf("input concurrency: %q is not a whole number from 1 to 64", v)
		}
		cfg.Concurrency = n
	}
	return cfg, nil
}

// lines splits a multi-line input into its non-empty lines, dropping
// comments that start with #.
func lines(v string) []string {
	var out []string
	for _, l := range strings.Split(v, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, l)
	}
	return out
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// boolInput follows the YAML 1.2 core schema, as actions/toolkit's
// getBooleanInput does.
func boolInput(in input, name string, def bool) (bool, error) {
	switch v := in(name); v {
	case "":
		return def, nil
	case "true", "True", "TRUE":
		return true, nil
	case "false", "False", "FALSE":
		return false, nil
	default:
		return false, fmt.Errorf("input %s: %q is not true or false", name, v)
	}
}

// durationInput takes a Go duration such as 30m or 1h30m, or whole seconds.
func durationInput(in input, name string, def time.Duration) (time.Duration, error) {
	v := in(name)
	if v == "" {
		return def, nil
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("input %s: %q is not a duration such as 30s, 10m or 1h", name, v)
	}
	return d, nil
}
