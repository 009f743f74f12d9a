package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/miosa-dev/sandbox-templates-action/internal/run"
)

// Exit codes of Main: the run's, which the action shares.
const (
	ExitOK       = run.ExitOK     // success, no problems
	ExitProblems = run.ExitFailed // problems found in the templates, or the run failed
	ExitUsage    = run.ExitUsage  // bad command line
)

// Env is what a subcommand may use of the outside world.
type Env struct {
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
}

// Command is one subcommand.
type Command struct {
	Name    string                                                 // as typed: "validate"
	Summary string                                                 // one line for the command list
	Run     func(ctx context.Context, env *Env, args []string) int // args after the name; returns an exit code
}

// commands is the table of subcommands, in the order help lists them.
func commands() []Command {
	return []Command{
		{Name: "validate", Summary: "check template files offline against the embedded schema", Run: runValidate},
		{Name: "plan", Summary: "show what apply would do, reading the remote state (needs MIOSA_API_KEY)", Run: runPlan},
		{Name: "apply", Summary: "create templates and trigger builds, idempotent per commit (needs MIOSA_API_KEY)", Run: runApply},
		{Name: "doctor", Summary: "check, read-only, what the Miosa server supports with your key (run it first with a new key)", Run: runDoctor},
		{Name: "schema", Summary: "print the embedded build_spec JSON Schema (--file: of a whole template file)", Run: runSchema},
		{Name: "emulator", Summary: "serve a local emulator of the Miosa API for trying things without credentials", Run: runEmulator},
		{Name: "version", Summary: "print the version", Run: runVersion},
		{Name: "help", Summary: "show help for a command", Run: runHelp},
	}
}

// Main runs the command line args (without the program name) and returns the
// exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	env := &Env{Stdout: stdout, Stderr: stderr, Getenv: getenv}
	if len(args) == 0 {
		usage(stderr)
		return ExitUsage
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		name = "help"
	}
	for _, c := range commands() {
		if c.Name == name {
			return c.Run(ctx, env, args[1:])
		}
	}
	fmt.Fprintf(stderr, "sandbox-templates: unknown command %q\n\n", name)
	usage(stderr)
	return ExitUsage
}

// usage writes the list of commands.
func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: sandbox-templates <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Keeps Miosa sandbox templates in step with sandbox-templates/*.yaml.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.Name, c.Summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, `Run "sandbox-templates help <command>" for a command's flags.`)
}

// runHelp prints the command list, or one command's help.
func runHelp(ctx context.Context, env *Env, args []string) int {
	if len(args) == 0 {
		usage(env.Stdout)
		return ExitOK
	}
	for _, c := range commands() {
		if c.Name == args[0] && c.Name != "help" {
			return c.Run(ctx, env, []string{"--help"})
		}
	}
	if args[0] == "help" {
		usage(env.Stdout)
		return ExitOK
	}
	fmt.Fprintf(env.Stderr, "help: unknown command %q\n\n", args[0])
	usage(env.Stderr)
	return ExitUsage
}

// flagSet makes a flag set whose errors and help the caller prints.
func flagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parse parses args for a command. When it returns ok false, the caller
// returns code: help was printed (ExitOK) or the flags were wrong
// (ExitUsage).
func parse(env *Env, fs *flag.FlagSet, synopsis, about string, args []string) (code int, ok bool) {
	printUsage := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: sandbox-templates %s\n\n%s\n", strings.TrimSpace(fs.Name()+" "+synopsis), about)
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintln(w, "\nFlags:")
			fs.SetOutput(w)
			fs.PrintDefaults()
			fs.SetOutput(io.Discard)
		}
	}
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		printUsage(env.Stdout)
		return ExitOK, false
	case err != nil:
		fmt.Fprintf(env.Stderr, "%s: %v\n\n", fs.Name(), err)
		printUsage(env.Stderr)
		return ExitUsage, false
	case fs.NArg() > 0:
		fmt.Fprintf(env.Stderr, "%s: unexpected argument %q\n\n", fs.Name(), fs.Arg(0))
		printUsage(env.Stderr)
		return ExitUsage, false
	}
	return ExitOK, true
}

// listFlag is a repeatable flag; each value may also hold several entries
// separated by newlines (and, when comma is set, commas).
type listFlag struct {
	values []string
	comma  bool
}

func (l *listFlag) String() string { return strings.Join(l.values, ",") }

func (l *listFlag) Set(s string) error {
	seps := "\n"
	if l.comma {
		seps = "\n,"
	}
	for _, v := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(seps, r) }) {
		if v = strings.TrimSpace(v); v != "" {
			l.values = append(l.values, v)
		}
	}
	return nil
}

// rootDir is the repository root: --dir, else GITHUB_WORKSPACE, else the
// working directory.
func rootDir(dir string, getenv func(string) string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	if ws := getenv("GITHUB_WORKSPACE"); ws != "" {
		return ws, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	return wd, nil
}
