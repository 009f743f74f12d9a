// Command sandbox-templates validates Miosa sandbox template files and keeps
// Miosa in step with them: the CLI, installed with
//
//	go install github.com/miosa-dev/sandbox-templates-action/cmd/sandbox-templates@latest
//
// It is the same program as the module root's (the action's binary); both
// call internal/entry.
package main

import "github.com/miosa-dev/sandbox-templates-action/internal/entry"

// version is stamped at build time with -ldflags "-X main.version=v1.2.3".
var version string

func main() { entry.Main(version) }
