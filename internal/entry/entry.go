// Package entry is the program's one entry point, shared by the two main
// packages: the module root (what `go run .`, the Dockerfile and the tests
// build) and cmd/sandbox-templates (what `go install
// github.com/miosa-dev/sandbox-templates-action/cmd/sandbox-templates@latest`
// installs as sandbox-templates). It picks the adapter: the action when
// GITHUB_ACTIONS is true and there are no arguments, else the CLI.
package entry

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/miosa-dev/sandbox-templates-action/internal/cli"
	"github.com/miosa-dev/sandbox-templates-action/internal/ghaction"
)

// Main runs the program and exits with its code. version is what the build
// stamped into main ("" or "dev" when nothing was: the build information
// then says).
func Main(version string) {
	cli.SetVersion(version)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var code int
	if len(os.Args) == 1 && os.Getenv("GITHUB_ACTIONS") == "true" {
		// The action: inputs from INPUT_* variables, outputs to the runner's files.
		code = ghaction.Main(ctx, os.Getenv, os.Stdout, cli.UserAgent())
	} else {
		code = cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	}
	stop()
	os.Exit(code)
}
