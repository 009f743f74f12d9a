package run

import (
	"errors"
	"fmt"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
)

// Mode is what a run may do.
type Mode string

// Modes of a run. The action's auto resolves to one of them in its adapter.
const (
	ModeValidate Mode = "validate"
	ModePlan     Mode = "plan"
	ModeApply    Mode = "apply"
)

// Statuses of a run, as the `status` output says them.
const (
	StatusSuccess   = "success"
	StatusFailed    = "failed"
	StatusTimeout   = "timeout"
	StatusSkipped   = "skipped"
	StatusCancelled = "cancelled"
)

// Exit codes of the binary, the action's and the CLI's alike.
const (
	ExitOK     = 0 // success, no problems
	ExitFailed = 1 // problems in the templates, or the run failed
	ExitUsage  = 2 // a bad input, flag or command line (a UsageError)
)

// Defaults of the settings the core needs a value for; the settings table
// documents the same values from these.
const (
	DefaultAPIURL       = miosa.DefaultBaseURL
	DefaultConcurrency  = 8
	DefaultPollInterval = 10 * time.Second
	DefaultTimeout      = 30 * time.Minute
	// defaultAdoptGrace is how long a create looks for the build the
	// server queues by itself.
	defaultAdoptGrace = 5 * time.Second
)

// UsageError is a problem with how the tool was called: a bad input, flag
// or setting. Both adapters exit with ExitUsage for it, and only for it.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef makes a UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// IsUsage reports whether err is a UsageError.
func IsUsage(err error) bool {
	var u *UsageError
	return errors.As(err, &u)
}

// Config is everything a run needs, as typed values the adapters parsed
// from the action's inputs or the CLI's flags. A zero Concurrency,
// PollInterval or APIURL takes its default; nothing else is re-checked.
type Config struct {
	Root      string   // repository root; reported paths are relative to it
	Patterns  []string // globs relative to Root; empty means spec.DefaultPatterns
	Templates []string // only these names; empty means all
	Mode      Mode
	APIKey    string
	APIURL    string
	// AllowInsecureHTTP allows an http:// APIURL to a host that is not
	// loopback (a private deployment), with a warning.
	AllowInsecureHTTP bool
	BuildMode         plan.BuildMode
	Wait              bool
	// IfNoFilesFound is what Patterns matching no file is: spec.NoFilesError
	// (also for ""), NoFilesWarn or NoFilesIgnore (a notice; status skipped).
	IfNoFilesFound string
	// Timeout is the deadline for the whole run; 0 means none.
	Timeout      time.Duration
	PollInterval time.Duration
	Concurrency  int
	Commit       string
	// CommitTime is when Commit was made; zero when unknown, which turns the
	// rollback guard off (the run says so once).
	CommitTime time.Time
	// AllowRollback lets a build replace a served build that may come from
	// a newer commit (the allow-rollback input).
	AllowRollback bool
	// Order is the authority on commit order (GitHub for the action, git for
	// the CLI); nil means none, and the clock rule (CommitTime) guards.
	Order Order
	// RefuseUnordered, when set, refuses the writes of an apply whose order
	// Order cannot tell, with this reason: an event with no commit time.
	RefuseUnordered string
	// Record is the record of what is deployed (the action's GitHub
	// deployments): it says which templates' builds need reading (the scope
	// input: those whose files changed since the last record), and is told
	// before the first write. Nil reads every template's builds.
	Record        Record
	Repository    string
	FailOnChanges bool
	UserAgent     string
	// AdoptGrace is how long a create keeps looking, about once a second,
	// for the build the server queues by itself before triggering one.
	// Zero means 5s; a negative value means one look only. The adapters
	// leave it zero; in-process tests shorten it.
	AdoptGrace time.Duration
	// Preview, when set, makes the run write previews: each template it
	// names (by the template's own name) is written under its preview's
	// name and description, and the templates it does not name are left out
	// (the action's preview input, for a pull request's changed templates).
	Preview map[string]PreviewIdentity
	// After, when set, is the run this one follows in the same step (the
	// action's check, before its previews): when it found its files with
	// the same Root, Patterns, IfNoFilesFound and Templates, they are taken
	// as it read and checked them, and what its API (the same APIURL)
	// answered about a spec is not asked again.
	After *Result
}

// withDefaults fills the zero values that have defaults, and checks what a
// mode needs.
func (c Config) withDefaults() (Config, error) {
	if c.APIURL == "" {
		c.APIURL = DefaultAPIURL
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.BuildMode == "" {
		c.BuildMode = plan.BuildChanged
	}
	if c.AdoptGrace == 0 {
		c.AdoptGrace = defaultAdoptGrace
	}
	if c.Timeout < 0 {
		return c, Usagef("timeout must not be negative")
	}
	switch c.Mode {
	case ModeValidate:
	case ModePlan, ModeApply:
		if c.APIKey == "" {
			return c, Usagef("mode %s needs an API key: the api-key input, or MIOSA_API_KEY for the CLI "+
				"(for a local try, the CLI's --emulator needs none); without one use mode validate", c.Mode)
		}
		if c.Mode == ModeApply && c.Commit == "" {
			return c, Usagef("apply needs a commit to derive idempotency keys from: the commit-sha input or GITHUB_SHA; " +
				"the CLI reads git HEAD, so pass --commit-sha or run inside a git checkout")
		}
	default:
		return c, Usagef("mode %q is not one of validate, plan, apply", c.Mode)
	}
	return c, nil
}

// Reporter receives progress lines as the run goes. Implementations make
// the text safe for their medium; the run calls it from one goroutine at a
// time.
type Reporter interface {
	Info(msg string)
	Warn(msg string)
	Notice(msg string)
	// Plan shows the plan before any write.
	Plan(p plan.Plan)
	// Mask is told, before anything shows them, each value in the specs
	// that looks like a credential, so that the medium can hide it (the
	// runner's add-mask).
	Mask(secret string)
}
