// Package cli is the command line of sandbox-templates-action: a table of
// subcommands (validate, schema, ...) with their flags, output and exit
// codes. main.go calls Main.
package cli
