// Package settings is the one table of the run's settings: each one's name,
// kind, default, bounds and documentation. The Actions adapter reads them as
// inputs, the CLI as flags; action.yml's inputs and the README's Inputs table
// are generated from it (go generate ./internal/settings) and a test keeps
// them equal.
package settings

import (
	"fmt"

	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
	"github.com/miosa-dev/sandbox-templates-action/internal/prcomment"
	"github.com/miosa-dev/sandbox-templates-action/internal/run"
	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

//go:generate go run ./gen -root ../..

// Kind is how a setting's value is read.
type Kind int

// Kinds of settings.
const (
	Text     Kind = iota // any string
	Secret               // a string never printed
	Bool                 // YAML 1.2 core booleans
	Duration             // a Go duration with a unit, or 0
	Int                  // a whole number within Min..Max
	Lines                // one value per line; # starts a comment
	Choice               // one of Choices
)

// Setting is one input of the action, and (when CLI is set) one flag of
// the CLI's plan and apply commands.
type Setting struct {
	Name    string // kebab-case: the input's and the flag's name
	Kind    Kind
	Default string // the value when none is given, as action.yml writes it
	// DefaultDoc is the README's default column when it is not Default
	// itself, e.g. "`GITHUB_SHA`".
	DefaultDoc string
	Choices    []string      // Choice
	Min, Max   int           // Int
	MinDur     time.Duration // Duration, when above zero
	// CLI makes the setting a flag of plan and apply; Modes narrows that to
	// these commands.
	CLI   bool
	Modes []string
	// Usage is one line: the README's meaning column and the flag's help.
	Usage string
	// Description is action.yml's description; empty means Usage.
	Description string
}

// Names of the settings that code reads by name.
const (
	APIKey        = "api-key"
	APIURL        = "api-url"
	Path          = "path"
	Mode          = "mode"
	Build         = "build"
	Wait          = "wait"
	Timeout       = "timeout"
	PollInterval  = "poll-interval"
	Concurrency   = "concurrency"
	CommitSHA     = "commit-sha"
	Templates     = "templates"
	FailOnChanges = "fail-on-changes"
	AllowRollback = "allow-rollback"
	TargetRef     = "target-ref"
	AllowHTTP     = "allow-insecure-http"
	Summary       = "summary"
	GitHubToken   = "github-token"
	PRComment     = "pr-comment"
	CommentLabel  = "comment-label"
	IfNoFiles     = "if-no-files-found"
	Scope         = "scope"
	DeployEnv     = "deployment-environment"
	Preview       = "preview"
	PreviewMax    = "preview-max"
)

// Values of the if-no-files-found and scope inputs.
const (
	NoFilesError  = "error"
	NoFilesWarn   = "warn"
	NoFilesIgnore = "ignore"
	ScopeAuto     = "auto"
	ScopeAll      = "all"
	// ModeCleanup is the mode that deletes the previews of closed pull
	// requests (for a schedule).
	ModeCleanup = "cleanup"
	// DefaultDeployEnv is the GitHub environment a deployment record names.
	DefaultDeployEnv = "sandbox-templates"
)

// ModeAuto is the mode input's default: the adapter picks validate, plan
// or apply from the event and the key.
const ModeAuto = "auto"

// durationText writes a default duration the way a person would: 30m, 10s.
func durationText(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// All is the table, in the order the docs list it.
var All = []Setting{
	{Name: APIKey, Kind: Secret, DefaultDoc: "(empty)",
		Usage: "Miosa API key (`msk_...`), from the repository secret `MIOSA_API_KEY`. Empty: `auto` and `plan` fail, except on " +
			"fork pull requests, Dependabot's runs and forks (no secrets there), which validate offline with a notice",
		Description: "Miosa API key (starts with msk_). Create the repository secret MIOSA_API_KEY (Settings, Secrets and " +
			"variables, Actions) and pass secrets.MIOSA_API_KEY. Empty: mode auto and plan fail the step naming this input, except " +
			"where no secret can exist (fork pull requests, Dependabot's runs, a fork of the repository), which validate every " +
			"file offline with one notice. mode validate never needs it."},
	{Name: APIURL, Kind: Text, Default: run.DefaultAPIURL, CLI: true,
		Usage:       "API base URL",
		Description: "Miosa API base URL. Point it at a local emulator for tests."},
	{Name: AllowHTTP, Kind: Bool, Default: "false", CLI: true,
		Usage: "allow an `http://` api-url to a host that is not loopback (a private deployment); the key then travels unencrypted, with a warning",
		Description: "Allow a plain http:// api-url to a host that is not loopback, for a private deployment. The key then " +
			"travels unencrypted; the run warns. Without it such a URL is refused before any request."},
	{Name: Path, Kind: Lines, Default: strings.Join(spec.DefaultPatterns, "\n"), CLI: true,
		DefaultDoc: "`sandbox-templates/*.yaml` and `sandbox-templates/*.yml`",
		Usage:      "glob patterns, one per line, relative to the workspace (`**` matches any depth)",
		Description: "Glob patterns of template files, one per line, relative to the workspace. ** matches any number of " +
			"directories; patterns cannot leave the workspace."},
	{Name: IfNoFiles, Kind: Choice, Default: NoFilesError, Choices: []string{NoFilesError, NoFilesWarn, NoFilesIgnore}, CLI: true,
		Usage: "when `path` matches no template file: `error` (fail), `warn` (a warning, status `skipped`), `ignore` (a notice)",
		Description: "What to do when path matches no template file: error (fail the step, the default: a misspelt path never " +
			"passes green), warn (a warning and status skipped), or ignore (a notice and status skipped)."},
	{Name: Mode, Kind: Choice, Default: ModeAuto, Choices: []string{ModeAuto, string(run.ModeValidate), string(run.ModePlan), string(run.ModeApply), ModeCleanup},
		Usage: "`validate`, `plan`, `apply`, or `auto`: `plan` on pull_request and merge_group events, `apply` otherwise; " +
			"`cleanup` deletes the previews of closed pull requests (docs/previews.md). " +
			"Without a key only `validate` runs; `auto` and `plan` fail, except where no secret can exist (see `api-key`)",
		Description: "validate (files only, no writes), plan (read the remote state, no writes), apply (create and build), or auto: " +
			"plan on pull_request and merge_group events, apply otherwise. Without an api-key, auto and plan fail, except where no " +
			"secret can exist (fork pull requests, Dependabot's runs, a fork of the repository): there they validate offline. " +
			"cleanup (for a schedule): delete this repository's preview templates of pull requests that are closed."},
	{Name: Build, Kind: Choice, Default: string(plan.BuildChanged), Choices: []string{string(plan.BuildChanged), string(plan.BuildAlways), string(plan.BuildNever)}, CLI: true,
		Usage: "`changed`, `always`, `never`: when to build templates that already exist",
		Description: "When to trigger builds of existing templates: changed (when the served build is of another spec, failed, " +
			"or missing), always, or never."},
	{Name: Wait, Kind: Bool, Default: "false", CLI: true, Modes: []string{"apply"},
		Usage: "wait for this run's builds to finish; fail if one fails",
		Description: "Wait for the builds of this commit's specs to finish; the step fails if a build fails (status failed) or " +
			"the timeout passes first (status timeout)."},
	{Name: Timeout, Kind: Duration, Default: durationText(run.DefaultTimeout), CLI: true,
		Usage:       "deadline for the whole run (`90s`, `30m`, `1h`; `0` for none; a number needs a unit)",
		Description: "Deadline for the whole run, as a duration such as 30m or 1h (0 for none)."},
	{Name: PollInterval, Kind: Duration, Default: durationText(run.DefaultPollInterval), MinDur: time.Second, CLI: true, Modes: []string{"apply"},
		Usage:       "between build status checks while waiting (at least `1s`)",
		Description: "Time between build status checks while waiting (at least 1s)."},
	{Name: Concurrency, Kind: Int, Default: strconv.Itoa(run.DefaultConcurrency), Min: 1, Max: 64, CLI: true,
		Usage:       "parallel API calls (1 to 64)",
		Description: "Parallel API calls, 1 to 64."},
	{Name: CommitSHA, Kind: Text, DefaultDoc: "`GITHUB_SHA`", CLI: true,
		Usage:       "the commit that idempotency keys derive from",
		Description: "The commit that idempotency keys derive from. Empty: GITHUB_SHA (the CLI: git HEAD)."},
	{Name: Templates, Kind: Lines, DefaultDoc: "(all)", CLI: true,
		Usage:       "only these names, one per line",
		Description: "Only sync these template names, one per line. Empty: all."},
	{Name: FailOnChanges, Kind: Bool, Default: "false", CLI: true, Modes: []string{"plan"},
		Usage:       "in plan mode, fail when changes are pending: creates, builds (drift included) and refused builds; not a description change, which no call can apply",
		Description: "In plan mode, fail when changes are pending (a drift check): creates, builds (drift included) and refused builds. A description change is a notice: no call can apply it."},
	{Name: AllowRollback, Kind: Bool, Default: "false", CLI: true,
		Usage: "write templates whose file the deploy target's head no longer holds (superseded or off-target), and builds the clock rule refuses",
		Description: "Write a template even when the deploy target's head holds other content for its file (a newer commit " +
			"changed it: superseded; or this commit is not on the target's history: off-target), and when GitHub cannot " +
			"say and the clock rule sees a newer build. Without it such a template is skipped (a notice, or a warning for " +
			"off-target) or refused, so a re-run of an old run never rolls a template back."},
	{Name: TargetRef, Kind: Text, DefaultDoc: "(by event)", CLI: true, Modes: []string{"plan", "apply"},
		Usage: "the branch or tag whose head decides commit order: a template is written only when its file is what that head holds " +
			"(default: the default branch for push, `workflow_dispatch` and `schedule`, the latest release for `release`, " +
			"the run's branch for `workflow_run`; the CLI: origin/HEAD)",
		Description: "The branch or tag whose head decides commit order: a template is written only when its file's content is " +
			"what that head holds, so an older run never replaces a newer commit's build. Default: the default branch for push, " +
			"workflow_dispatch and schedule; the latest release for release events; the triggering run's branch for workflow_run. " +
			"Other branches, tags and repository_dispatch need it set."},
	{Name: Summary, Kind: Bool, Default: "true",
		Usage:       "write the job summary",
		Description: "Write the job summary (plan, builds, problems)."},
	{Name: GitHubToken, Kind: Secret, Default: "${{ github.token }}",
		Usage: "token for the pull request comment; sent only to `GITHUB_API_URL`, masked, never printed",
		Description: "GitHub token for the pull request comment. It is sent only to GITHUB_API_URL (GitHub Enterprise " +
			"Server included), masked and never printed. The job needs permissions: pull-requests: write."},
	{Name: PRComment, Kind: Choice, Default: prcomment.ModeAuto, Choices: []string{prcomment.ModeAuto, prcomment.ModeAlways, prcomment.ModeNever},
		Usage: "`auto`: one comment per workflow, job and `comment-label` on pull requests, edited on every push, when the token can write " +
			"(a fork's read-only token gets a notice); `always`: fail when it cannot; `never`",
		Description: "auto: on pull_request events, write the plan as one comment per workflow, job and comment-label, found by a hidden " +
			"marker and edited in place on every push, when the token can write (a fork pull request's read-only token " +
			"gets one notice); always: the same, but fail when it cannot; never: no comment."},
	{Name: CommentLabel, Kind: Text, DefaultDoc: "(empty)",
		Usage: "a label that tells this step's pull request comment apart: the comment is one per workflow, job and label (matrix legs, several steps)",
		Description: "A label for the pull request comment. The comment is found by workflow, job and this label, so matrix " +
			"legs or several steps in one job each keep their own comment (use the matrix value). It shows in the headline."},
	{Name: Scope, Kind: Choice, Default: ScopeAuto, Choices: []string{ScopeAuto, ScopeAll},
		Usage: "`auto`: on push and workflow_run, read build histories only for templates whose files changed since the last " +
			"deployment (and rows not ready); `all`: read every template (schedule, dispatch and release always do)",
		Description: "auto: on push and workflow_run events, read build histories only for templates whose files changed " +
			"between the commit of this action's last deployment (success, or in progress: its pending templates are read " +
			"too) and this one, for templates whose row is not ready, and for rows whose display name another template " +
			"shows; the others are judged from the template list alone, and build-ids names only the templates read. " +
			"Schedule, workflow_dispatch and release events, a re-run of the deployed commit, no token, or no usable " +
			"deployment read everything. all: always read everything."},
	{Name: DeployEnv, Kind: Text, Default: DefaultDeployEnv,
		Usage: "the GitHub environment of the deployment record of each apply: `success` once every template serves its file, " +
			"`in_progress` while builds run (needs `deployments: write`; docs/account-size.md)",
		Description: "The GitHub environment named by the deployment record of each apply: in_progress before its first write, " +
			"success once every template serves its file's spec, failure or inactive otherwise. The Deployments page shows " +
			"which commit's templates are live, and scope auto reads from there what changed since. Needs permissions: " +
			"deployments: write; without it, one notice. Keep it the same in every workflow that syncs these templates."},
	{Name: Preview, Kind: Bool, Default: "false",
		Usage: "on pull_request events from this repository, build each changed template as a preview template of its own (see docs/previews.md)",
		Description: "On pull_request events from this repository, build each template whose file the pull request changes as " +
			"a preview template of its own (named template-prN-hash), never touching the templates main serves; on the closed " +
			"event, delete that pull request's previews. Fork pull requests get a notice and the offline check."},
	{Name: PreviewMax, Kind: Int, Default: "10", Min: 1, Max: 100,
		Usage: "the most previews per pull request; with more changed templates, none is built and one warning says so",
		Description: "The most preview templates per pull request (1 to 100). With more changed templates no preview is built, " +
			"and one warning names this input."},
}

// RunnerDefault reports a default that the runner evaluates (an expression
// such as ${{ github.token }}): it reaches the action as the input's value,
// so a setting not given has none.
func (s Setting) RunnerDefault() bool { return strings.HasPrefix(s.Default, "${{") }

// Lookup returns the setting named name.
func Lookup(name string) (Setting, bool) {
	i := slices.IndexFunc(All, func(s Setting) bool { return s.Name == name })
	if i < 0 {
		return Setting{}, false
	}
	return All[i], true
}

// ForCLI are the settings that are flags of the CLI command cmd.
func ForCLI(cmd string) []Setting {
	var out []Setting
	for _, s := range All {
		if s.CLI && (len(s.Modes) == 0 || slices.Contains(s.Modes, cmd)) {
			out = append(out, s)
		}
	}
	return out
}

// Values are parsed settings. A setting that was not read holds its zero
// value.
type Values struct{ m map[string]any }

// Parse reads every setting in list with get, which returns a raw value and
// whether one was given; a setting not given takes its Default, and so does
// an empty Bool, Duration, Int or Choice value. label names a setting in
// errors ("input wait", "--wait"). Every value is checked: the first bad one,
// in list's order, is an error that names it and says what is wanted.
func Parse(list []Setting, get func(name string) (string, bool), label func(name string) string) (Values, error) {
	v := Values{m: map[string]any{}}
	for _, s := range list {
		raw, ok := get(s.Name)
		if !ok && !s.RunnerDefault() {
			raw = s.Default
		}
		val, err := s.parse(raw)
		if err != nil {
			return v, fmt.Errorf("%s: %w", label(s.Name), err)
		}
		v.m[s.Name] = val
	}
	return v, nil
}

func (s Setting) parse(raw string) (any, error) {
	switch s.Kind {
	case Bool:
		return parseBool(raw, s.Default)
	case Duration:
		d, err := parseDuration(raw, s.Default)
		if err == nil && s.MinDur > 0 && d < s.MinDur {
			err = fmt.Errorf("%s is below the %s minimum", d, s.MinDur)
		}
		return d, err
	case Int:
		if raw == "" {
			raw = s.Default
		}
		n, err := strconv.Atoi(strings.TrimSpace(raw))
		if err != nil || n < s.Min || n > s.Max {
			return 0, fmt.Errorf("%q is not a whole number from %d to %d", raw, s.Min, s.Max)
		}
		return n, nil
	case Lines:
		return lines(raw), nil
	case Choice:
		if raw == "" {
			raw = s.Default
		}
		if !slices.Contains(s.Choices, raw) {
			return "", fmt.Errorf("%q is not one of %s", raw, strings.Join(s.Choices, ", "))
		}
		return raw, nil
	}
	return raw, nil
}

// String is a Text, Secret or Choice setting's value.
func (v Values) String(name string) string { s, _ := v.m[name].(string); return s }

// Bool is a Bool setting's value.
func (v Values) Bool(name string) bool { b, _ := v.m[name].(bool); return b }

// Duration is a Duration setting's value.
func (v Values) Duration(name string) time.Duration { d, _ := v.m[name].(time.Duration); return d }

// Int is an Int setting's value.
func (v Values) Int(name string) int { n, _ := v.m[name].(int); return n }

// Lines is a Lines setting's value.
func (v Values) Lines(name string) []string { l, _ := v.m[name].([]string); return l }

// lines splits a multi-line value into its non-empty lines, dropping
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

// parseBool reads a boolean the way actions/toolkit's getBooleanInput does,
// by the YAML 1.2 core schema: true, True, TRUE, false, False, FALSE.
// Anything else is an error, so a typo never turns a feature off silently.
func parseBool(v, def string) (bool, error) {
	if v == "" {
		v = def
	}
	switch v {
	case "true", "True", "TRUE":
		return true, nil
	case "false", "False", "FALSE", "":
		return false, nil
	}
	return false, fmt.Errorf("%q is not true or false (YAML 1.2 booleans: true, True, TRUE, false, False, FALSE)", v)
}

// maxDuration is the longest duration a setting can hold.
const maxDuration = time.Duration(math.MaxInt64)

var (
	// bareNumber is a number without a unit.
	bareNumber = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)
	// durationSyntax is what time.ParseDuration reads when the value fits.
	durationSyntax = regexp.MustCompile(`^[-+]?(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+$`)
)

// parseDuration reads a Go duration such as 90s, 30m or 1h30m; "0" is zero.
// A number without a unit is refused rather than guessed at (seconds? the
// minutes of timeout-minutes?), and so is one too large for a duration.
func parseDuration(v, def string) (time.Duration, error) {
	if v == "" {
		v = def
	}
	switch {
	case v == "":
		return 0, nil
	case bareNumber.MatchString(v):
		if f, _ := strconv.ParseFloat(v, 64); f == 0 {
			return 0, nil
		}
		if _, err := time.ParseDuration(v + "s"); err != nil {
			return 0, fmt.Errorf("%q has no unit, and is too large even as seconds (the most is %s); write a duration such as 30m or 1h", v, maxDuration.Truncate(time.Hour))
		}
		return 0, fmt.Errorf("%q has no unit: write %ss for seconds or %sm for minutes", v, v, v)
	}
	d, err := time.ParseDuration(v)
	switch {
	case err != nil && durationSyntax.MatchString(v):
		return 0, fmt.Errorf("%q is too large for a duration; the most is %s", v, maxDuration.Truncate(time.Hour))
	case err != nil:
		return 0, fmt.Errorf("%q is not a duration such as 30s, 10m or 1h", v)
	case d < 0:
		return 0, fmt.Errorf("%q is negative", v)
	}
	return d, nil
}
