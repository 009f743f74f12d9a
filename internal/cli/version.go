package cli

import (
	"context"
	"fmt"
)

// Version is the release version, stamped at build time by main.
var Version = "dev"

// UserAgent names this tool and its version in API requests.
func UserAgent() string { return "sandbox-templates-action/" + Version }

func runVersion(_ context.Context, env *Env, args []string) int {
	fs := flagSet("version")
	if code, ok := parse(env, fs, "", "Prints the version.", args); !ok {
		return code
	}
	fmt.Fprintln(env.Stdout, Version)
	return ExitOK
}
