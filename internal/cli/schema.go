package cli

import (
	"context"

	"github.com/miosa-dev/sandbox-templates-action/internal/schema"
)

// runSchema prints the embedded build_spec schema, or with --file the
// schema of a whole template file.
func runSchema(_ context.Context, env *Env, args []string) int {
	fs := flagSet("schema")
	file := fs.Bool("file", false, "print the schema of a whole template file (name, description, metadata, build_spec) instead")
	about := "Prints the embedded JSON Schema (draft 2020-12) of build_spec. With --file, prints the schema of a\n" +
		"whole template file, for editors: save it as template.schema.json and start each template file with\n" +
		"# yaml-language-server: $schema=../template.schema.json"
	if code, ok := parse(env, fs, "[--file]", about, args); !ok {
		return code
	}
	doc := schema.Embedded()
	if *file {
		doc = schema.File()
	}
	if _, err := env.Stdout.Write(doc); err != nil {
		return ExitProblems
	}
	return ExitOK
}
