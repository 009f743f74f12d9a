package cli

import (
	"context"

	"github.com/miosa-dev/sandbox-templates-action/internal/schema"
)

// runSchema prints the embedded build_spec schema.
func runSchema(_ context.Context, env *Env, args []string) int {
	fs := flagSet("schema")
	if code, ok := parse(env, fs, "", "Prints the embedded JSON Schema (draft 2020-12) of build_spec, for editors such as yaml-language-server.", args); !ok {
		return code
	}
	if _, err := env.Stdout.Write(schema.Embedded()); err != nil {
		return ExitProblems
	}
	return ExitOK
}
