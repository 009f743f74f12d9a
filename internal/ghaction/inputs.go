package ghaction

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/apply"
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
)

// input reads action inputs the way the runner passes them: INPUT_ followed
// by the name upper-cased with spaces as underscores and hyphens kept.
type input func(name string) string

// settings is what the inputs ask for: the run's Config, and what the
// adapter does itself.
type settings struct {
	apply.Config
	Summary bool // write the job summary
}

// config turns the inputs and the runner's environment into settings. Every
// input is checked before the run starts: a bad value is an error naming the
// input.
func config(in input, getenv func(string) string) (settings, error) {
	cfg := settings{Config: apply.Config{
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
	}}
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
	if cfg.Summary, err = boolInput(in, "summary", true); err != nil {
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

// boolInput reads a boolean input the way actions/toolkit's getBooleanInput
// does, by the YAML 1.2 core schema: true, True, TRUE, false, False, FALSE.
// Anything else is an error, so a typo never turns a feature off silently.
func boolInput(in input, name string, def bool) (bool, error) {
	switch v := in(name); v {
	case "":
		return def, nil
	case "true", "True", "TRUE":
		return true, nil
	case "false", "False", "FALSE":
		return false, nil
	default:
		return false, fmt.Errorf("input %s: %q is not true or false (YAML 1.2 booleans: true, True, TRUE, false, False, FALSE)", name, v)
	}
}

// maxDuration is the longest duration an input can hold.
const maxDuration = time.Duration(math.MaxInt64)

var (
	// bareNumber is a number without a unit.
	bareNumber = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)
	// durationSyntax is what time.ParseDuration reads when the value fits.
	durationSyntax = regexp.MustCompile(`^[-+]?(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+$`)
)

// durationInput reads a Go duration such as 90s, 30m or 1h30m; "0" is zero.
// A number without a unit is refused rather than guessed at (seconds? the
// minutes of timeout-minutes?), and so is one too large for a duration.
func durationInput(in input, name string, def time.Duration) (time.Duration, error) {
	v := in(name)
	switch {
	case v == "":
		return def, nil
	case bareNumber.MatchString(v):
		if f, _ := strconv.ParseFloat(v, 64); f == 0 {
			return 0, nil
		}
		if _, err := time.ParseDuration(v + "s"); err != nil {
			return 0, fmt.Errorf("input %s: %q has no unit, and is too large even as seconds (the most is %s); write a duration such as 30m or 1h", name, v, maxDuration.Truncate(time.Hour))
		}
		return 0, fmt.Errorf("input %s: %q has no unit: write %ss for seconds or %sm for minutes", name, v, v, v)
	}
	d, err := time.ParseDuration(v)
	switch {
	case err != nil && durationSyntax.MatchString(v):
		return 0, fmt.Errorf("input %s: %q is too large for a duration; the most is %s", name, v, maxDuration.Truncate(time.Hour))
	case err != nil:
		return 0, fmt.Errorf("input %s: %q is not a duration such as 30s, 10m or 1h", name, v)
	case d < 0:
		return 0, fmt.Errorf("input %s: %q is negative", name, v)
	}
	return d, nil
}
