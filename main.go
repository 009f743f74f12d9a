// Command sandbox-templates validates Miosa sandbox template files and keeps
// Miosa in step with them; it runs as a GitHub Action and as a CLI.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/miosa-dev/sandbox-templates-action/internal/cli"
	"github.com/miosa-dev/sandbox-templates-action/internal/ghaction"
)

// version is stamped at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	cli.Version = version
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
