// Command sandbox-templates-action is the GitHub Action's binary (the
// Dockerfile and `go run .` build it); cmd/sandbox-templates is the same
// program under the CLI's name. Both call internal/entry.
package main

import "github.com/miosa-dev/sandbox-templates-action/internal/entry"

// version is stamped at build time with -ldflags "-X main.version=v1.2.3".
var version string

func main() { entry.Main(version) }
