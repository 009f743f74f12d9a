package cli

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/miosa-dev/sandbox-templates-action/internal/gitinfo"
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
	"github.com/miosa-dev/sandbox-templates-action/internal/report"
	"github.com/miosa-dev/sandbox-templates-action/internal/run"
	"github.com/miosa-dev/sandbox-templates-action/internal/settings"
	"github.com/miosa-dev/sandbox-templates-action/internal/textsafe"
)

// syncFlags are the flags plan and apply share: the settings table's CLI
// settings, named like the action's inputs, and the CLI's own.
type syncFlags struct {
	raw                          map[string]string // table settings given on the command line
	dir, repository, summaryFile string
	jsonOut, emulator            bool
}

// settingFlag is one table setting as a flag: repeatable for lines (and
// comma-separated for templates), valueless for booleans.
type settingFlag struct {
	s   settings.Setting
	raw map[string]string
}

func (f settingFlag) String() string {
	if f.raw == nil {
		return ""
	}
	return f.raw[f.s.Name]
}

func (f settingFlag) Set(v string) error {
	if f.s.Kind != settings.Lines {
		f.raw[f.s.Name] = v
		return nil
	}
	if f.s.Name == settings.Templates {
		v = strings.ReplaceAll(v, ",", "\n")
	}
	if old, ok := f.raw[f.s.Name]; ok {
		v = old + "\n" + v
	}
	f.raw[f.s.Name] = v
	return nil
}

func (f settingFlag) IsBoolFlag() bool { return f.s.Kind == settings.Bool }

func registerSync(fs *flag.FlagSet, mode string) *syncFlags {
	f := &syncFlags{raw: map[string]string{}}
	fs.StringVar(&f.dir, "dir", "", "repository root (default $GITHUB_WORKSPACE, else the working directory)")
	for _, s := range settings.ForCLI(mode) {
		usage := strings.ReplaceAll(s.Usage, "`", "")
		switch {
		case s.Name == settings.APIURL:
			usage += " (default $MIOSA_API_URL, else " + s.Default + ")"
		case s.Name == settings.CommitSHA:
			usage = "commit that idempotency keys derive from (default git rev-parse HEAD in the root)"
		case s.Kind == settings.Lines:
			usage += "; repeatable"
			if s.Name == settings.Templates {
				usage += " or comma-separated"
			}
			if s.Default != "" {
				usage += " (default " + strings.ReplaceAll(s.Default, "\n", " and ") + ")"
			}
		case s.Default != "" && s.Kind != settings.Bool:
			usage += " (default " + s.Default + ")"
		}
		fs.Var(settingFlag{s: s, raw: f.raw}, s.Name, usage)
	}
	fs.StringVar(&f.repository, "repository", "", "owner/name that idempotency keys derive from (default $GITHUB_REPOSITORY, else \"local\")")
	fs.BoolVar(&f.jsonOut, "json", false, "print the result as one JSON object instead of text")
	fs.StringVar(&f.summaryFile, "summary-file", "", "also write the Markdown job summary to this file")
	fs.BoolVar(&f.emulator, "emulator", false, "run against a built-in emulator of the Miosa API on 127.0.0.1 (no credentials needed)")
	return f
}

// values reads the table's settings for mode: flags first, then the
// environment for the API's URL and key (never a flag: a key on a command
// line ends up in shell history), then the table's defaults.
func (f *syncFlags) values(mode string, getenv func(string) string) (settings.Values, error) {
	list := append(settings.ForCLI(mode), mustLookup(settings.APIKey))
	return settings.Parse(list, func(name string) (string, bool) {
		if v, ok := f.raw[name]; ok {
			return v, true
		}
		switch name {
		case settings.APIURL:
			v := getenv("MIOSA_API_URL")
			return v, v != ""
		case settings.APIKey:
			v := getenv("MIOSA_API_KEY")
			return v, v != ""
		}
		return "", false
	}, func(name string) string {
		if name == settings.APIKey {
			return "MIOSA_API_KEY"
		}
		return "--" + name
	})
}

func mustLookup(name string) settings.Setting {
	s, ok := settings.Lookup(name)
	if !ok {
		panic("cli: no setting " + name)
	}
	return s
}

func runPlan(ctx context.Context, env *Env, args []string) int {
	return runSync(ctx, env, args, run.ModePlan,
		"Reads the template files, validates them (offline schema, then the server's schema and validate\n"+
			"endpoint), reads what the server serves, and prints what apply would do, with each change as a diff.\n"+
			"Writes nothing. Needs MIOSA_API_KEY.\n"+
			"Exit status: 0 ok, 1 invalid files, API failure or (with --fail-on-changes) pending changes, 2 bad command line.")
}

func runApply(ctx context.Context, env *Env, args []string) int {
	return runSync(ctx, env, args, run.ModeApply,
		"Validates every file first (nothing is written if one is invalid), then creates missing templates and\n"+
			"builds the ones whose served build is of another spec, failed or missing. Idempotency keys derive from\n"+
			"the commit, the spec and the build each write replaces, so a re-run after success writes nothing.\n"+
			"A build that would replace one made after the commit is refused unless --allow-rollback.\n"+
			"Needs MIOSA_API_KEY.\n"+
			"Exit status: 0 ok, 1 invalid files, API failure, failed build or timeout, 2 bad command line.")
}

func runSync(ctx context.Context, env *Env, args []string, mode run.Mode, about string) int {
	fs := flagSet(string(mode))
	f := registerSync(fs, string(mode))
	if code, ok := parse(env, fs, "[flags]", about, args); !ok {
		return code
	}
	root, err := rootDir(f.dir, env.Getenv)
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s: %v\n", mode, err)
		return ExitUsage
	}
	v, err := f.values(string(mode), env.Getenv)
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s: %v\n", mode, err)
		return ExitUsage
	}
	cfg := v.RunConfig()
	if f.emulator {
		url, stop, err := startEmulator()
		if err != nil {
			fmt.Fprintf(env.Stderr, "%s: %v\n", mode, err)
			return ExitProblems
		}
		defer stop()
		cfg.APIURL, cfg.APIKey = url, emulatorKey
		fmt.Fprintf(env.Stderr, "Using the built-in emulator at %s (nothing leaves this machine)\n", url)
	}
	// The CLI's own rules: git HEAD is the commit, the repository name comes
	// from the flag or GITHUB_REPOSITORY.
	repo := gitinfo.Repo{Root: root}
	commit := v.String(settings.CommitSHA)
	if commit == "" {
		commit = repo.Head(ctx)
	}
	if commit == "" && f.emulator {
		commit = "local"
	}
	cfg.Root, cfg.Mode, cfg.Commit, cfg.UserAgent = root, mode, commit, UserAgent()
	cfg.Repository = cmp.Or(f.repository, env.Getenv("GITHUB_REPOSITORY"), "local")
	if t, ok := repo.CommitTime(ctx, commit); ok {
		cfg.CommitTime = t
		// Commit order from git: the deploy target is --target-ref, else
		// the branch origin/HEAD names.
		target := v.String(settings.TargetRef)
		if target == "" {
			var err error
			if target, err = repo.DefaultTarget(ctx); err != nil && mode != run.ModeValidate {
				fmt.Fprintln(env.Stderr, textsafe.LogLine(fmt.Sprintf("warning: commit order: %v; falling back to the commit's time", err)))
			}
		}
		if target != "" {
			cfg.Order = gitinfo.Order{Repo: repo, Target: target, This: commit}
		}
	}
	res, err := run.Do(ctx, cfg, textReporter{env: env})
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s: %v\n", mode, err)
		return ExitUsage
	}
	if f.summaryFile != "" {
		if err := os.WriteFile(f.summaryFile, []byte(report.Summary(res)), 0o644); err != nil {
			fmt.Fprintf(env.Stderr, "%s: write summary: %v\n", mode, err)
		}
	}
	if f.jsonOut {
		report.JSON(env.Stdout, res)
	} else {
		report.Text(env.Stdout, res)
	}
	return res.ExitCode()
}

// textReporter prints progress to stderr, one safe line at a time.
type textReporter struct{ env *Env }

func (r textReporter) Info(msg string) {
	for _, l := range strings.Split(strings.TrimRight(msg, "\n"), "\n") {
		fmt.Fprintln(r.env.Stderr, textsafe.LogLine(l))
	}
}
func (r textReporter) Warn(msg string) { fmt.Fprintln(r.env.Stderr, textsafe.LogLine("warning: "+msg)) }
func (r textReporter) Notice(msg string) {
	fmt.Fprintln(r.env.Stderr, textsafe.LogLine("notice: "+msg))
}
func (r textReporter) Plan(p plan.Plan) { r.Info("Plan:\n" + report.PlanText(p)) }

// Mask does nothing: a terminal has no masking; the plan's renderings mask
// credential-looking values themselves.
func (textReporter) Mask(string) {}
