package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/apply"
	"github.com/miosa-dev/sandbox-templates-action/internal/ghaction"
	"github.com/miosa-dev/sandbox-templates-action/internal/gitinfo"
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
	"github.com/miosa-dev/sandbox-templates-action/internal/textsafe"
)

// syncFlags are the flags plan and apply share; they are named like the
// action's inputs.
type syncFlags struct {
	dir, apiURL, build, commit, repository, summaryFile string
	paths, names                                        *listFlag
	wait, failOnChanges, jsonOut, allowRollback         bool
	timeout, pollInterval                               time.Duration
	concurrency                                         int
	emulator                                            bool
}

func registerSync(fs *flag.FlagSet, mode string, getenv func(string) string) *syncFlags {
	f := &syncFlags{paths: &listFlag{}, names: &listFlag{comma: true}}
	fs.StringVar(&f.dir, "dir", "", "repository root (default $GITHUB_WORKSPACE, else the working directory)")
	fs.Var(f.paths, "path", "glob of template files, relative to the root (repeatable; default sandbox-templates/*.yaml and *.yml)")
	fs.Var(f.names, "templates", "only these template names (repeatable or comma-separated; default all)")
	apiURL := getenv("MIOSA_API_URL")
	if apiURL == "" {
		apiURL = apply.DefaultAPIURL
	}
	fs.StringVar(&f.apiURL, "api-url", apiURL, "Miosa API base URL (default $MIOSA_API_URL, else the public API)")
	fs.StringVar(&f.build, "build", string(plan.BuildChanged), "when to build existing templates: changed, always or never")
	fs.StringVar(&f.commit, "commit-sha", "", "commit that idempotency keys derive from (default $GITHUB_SHA, else git rev-parse HEAD in the root)")
	fs.StringVar(&f.repository, "repository", getenv("GITHUB_REPOSITORY"), "owner/name that idempotency keys derive from (default $GITHUB_REPOSITORY, else \"local\")")
	fs.IntVar(&f.concurrency, "concurrency", 8, "parallel API calls (1 to 64)")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Minute, "deadline for the whole run (0: none)")
	fs.BoolVar(&f.jsonOut, "json", false, "print the result as one JSON object instead of text")
	fs.StringVar(&f.summaryFile, "summary-file", "", "also write the Markdown job summary to this file")
	fs.BoolVar(&f.emulator, "emulator", false, "run against a built-in emulator of the Miosa API on 127.0.0.1 (no credentials needed)")
	fs.BoolVar(&f.allowRollback, "allow-rollback", false, "let a build replace a served build made after this commit (a newer commit's, or one made by hand)")
	if mode == apply.ModeApply {
		fs.BoolVar(&f.wait, "wait", false, "wait for this run's builds; fail if one fails or the timeout passes")
		fs.DurationVar(&f.pollInterval, "poll-interval", 10*time.Second, "time between build status checks while waiting")
	} else {
		fs.BoolVar(&f.failOnChanges, "fail-on-changes", false, "exit 1 when changes are pending (a drift check)")
	}
	return f
}

func runPlan(ctx context.Context, env *Env, args []string) int {
	return runSync(ctx, env, args, apply.ModePlan,
		"Reads the template files, validates them (offline schema, then the server's schema and validate\n"+
			"endpoint), reads the remote templates and their builds, and prints what apply would do.\n"+
			"Writes nothing. Needs MIOSA_API_KEY.\n"+
			"Exit status: 0 ok, 1 invalid files, API failure or (with --fail-on-changes) pending changes, 2 bad command line.")
}

func runApply(ctx context.Context, env *Env, args []string) int {
	return runSync(ctx, env, args, apply.ModeApply,
		"Validates every file first (nothing is written if one is invalid), then creates missing templates and\n"+
			"triggers builds of changed ones with idempotency keys derived from the commit, so a re-run at the\n"+
			"same commit creates and builds nothing new. Needs MIOSA_API_KEY.\n"+
			"Exit status: 0 ok, 1 invalid files, API failure, failed build or timeout, 2 bad command line.")
}

func runSync(ctx context.Context, env *Env, args []string, mode, about string) int {
	fs := flagSet(mode)
	f := registerSync(fs, mode, env.Getenv)
	if code, ok := parse(env, fs, "[flags]", about, args); !ok {
		return code
	}
	root, err := rootDir(f.dir, env.Getenv)
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s: %v\n", mode, err)
		return ExitUsage
	}
	if f.concurrency < 1 || f.concurrency > 64 {
		fmt.Fprintf(env.Stderr, "%s: --concurrency %d is not from 1 to 64\n", mode, f.concurrency)
		return ExitUsage
	}
	key := env.Getenv("MIOSA_API_KEY")
	if f.emulator {
		url, stop, err := startEmulator()
		if err != nil {
			fmt.Fprintf(env.Stderr, "%s: %v\n", mode, err)
			return ExitProblems
		}
		defer stop()
		f.apiURL, key = url, emulatorKey
		fmt.Fprintf(env.Stderr, "Using the built-in emulator at %s (nothing leaves this machine)\n", url)
	}
	if key == "" {
		fmt.Fprintf(env.Stderr, "%s: set MIOSA_API_KEY (for a local try: run `sandbox-templates emulator` and use any key starting with msk_)\n", mode)
		return ExitUsage
	}
	commit := f.commit
	if commit == "" {
		commit = env.Getenv("GITHUB_SHA")
	}
	repo := gitinfo.Repo{Root: root}
	if commit == "" {
		commit = repo.Head(ctx)
	}
	if commit == "" && f.emulator {
		commit = "local"
	}
	if commit == "" && mode == apply.ModeApply {
		fmt.Fprintf(env.Stderr, "%s: no commit to derive idempotency keys from: pass --commit-sha or run inside a git checkout\n", mode)
		return ExitUsage
	}
	cfg := apply.Config{
		Root: root, Patterns: f.paths.values, Templates: f.names.values, Mode: mode,
		APIKey: key, APIURL: f.apiURL, BuildMode: plan.BuildMode(f.build),
		Wait: f.wait, Timeout: f.timeout, PollInterval: f.pollInterval, Concurrency: f.concurrency,
		Commit: commit, Repository: f.repository, FailOnChanges: f.failOnChanges, UserAgent: UserAgent(),
		AllowRollback: f.allowRollback, AdoptGrace: apply.AdoptGraceEnv(env.Getenv),
	}
	if t, ok := repo.CommitTime(ctx, commit); ok {
		cfg.CommitTime = t
		cfg.History = func(ctx context.Context, file string) []string { return repo.SpecDigests(ctx, commit, file) }
	}
	if cfg.Repository == "" {
		cfg.Repository = "local"
	}
	res, err := apply.Run(ctx, cfg, textReporter{env: env})
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s: %v\n", mode, err)
		return ExitUsage
	}
	if f.summaryFile != "" {
		if err := os.WriteFile(f.summaryFile, []byte(ghaction.Summary(res, commit)), 0o644); err != nil {
			fmt.Fprintf(env.Stderr, "%s: write summary: %v\n", mode, err)
		}
	}
	if f.jsonOut {
		printJSON(env, res)
	} else {
		printText(env, res)
	}
	if res.OK() {
		return ExitOK
	}
	return ExitProblems
}

// textReporter prints progress to stderr, one safe line at a time.
type textReporter struct{ env *Env }

func (r textReporter) Info(msg string) {
	for _, l := range strings.Split(strings.TrimRight(msg, "\n"), "\n") {
		fmt.Fprintln(r.env.Stderr, textsafe.LogLine(l))
	}
}
func (r textReporter) Warn(msg string)   { fmt.Fprintln(r.env.Stderr, textsafe.LogLine("warning: "+msg)) }
func (r textReporter) Notice(msg string) { fmt.Fprintln(r.env.Stderr, textsafe.LogLine("notice: "+msg)) }

func printText(env *Env, res *apply.Result) {
	w := env.Stdout
	for _, d := range res.Diagnostics {
		fmt.Fprintln(w, textsafe.LogLine(d.String()))
	}
	for _, p := range res.Problems {
		fmt.Fprintln(w, textsafe.LogLine("error: "+p))
	}
	if len(res.Builds) > 0 {
		fmt.Fprintln(w, "\nBuilds:")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TEMPLATE\tACTION\tBUILD\tSTATE\tDETAILS")
		for _, b := range res.Builds {
			details := strings.TrimSpace(b.ErrorCode + " " + b.ErrorMessage)
			switch {
			case b.Replayed:
				details = strings.TrimSpace("made by an earlier attempt " + details)
			case !b.Made:
				details = strings.TrimSpace("already there " + details)
			}
			// Each cell is a log line's worth: the first one starts the line.
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", textsafe.LogLine(b.Name), b.Action, textsafe.LogLine(b.BuildID), textsafe.LogLine(b.State), textsafe.LogLine(details))
		}
		tw.Flush()
	}
	fmt.Fprintln(w, "\nOutputs:")
	for _, kv := range ghaction.Outputs(res) {
		fmt.Fprintln(w, textsafe.LogLine("  "+kv[0]+"="+kv[1]))
	}
	fmt.Fprintf(w, "\nStatus: %s (%s, %s)\n", res.Status, res.Plan.Summary(), res.Duration.Round(time.Millisecond))
}

func printJSON(env *Env, res *apply.Result) {
	outputs := map[string]string{}
	for _, kv := range ghaction.Outputs(res) {
		outputs[kv[0]] = kv[1]
	}
	doc := map[string]any{
		"status":       res.Status,
		"mode":         res.Mode,
		"plan":         res.Plan,
		"builds":       res.Builds,
		"template_ids": res.TemplateIDs,
		"problems":     nonNil(res.Problems),
		"diagnostics":  nonNilDiags(res),
		"outputs":      outputs,
	}
	enc := json.NewEncoder(env.Stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(doc)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilDiags(res *apply.Result) any {
	if res.Diagnostics == nil {
		return []any{}
	}
	return res.Diagnostics
}
