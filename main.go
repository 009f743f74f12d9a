// Command sandbox-templates validates Miosa sandbox template files and keeps
// Miosa in step with them; it runs as a GitHub Action and as a CLI.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/miosa-dev/sandbox-templates-action/internal/cli"
)

// version is stamped at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	cli.Version = version
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
