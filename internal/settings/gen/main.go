// Command gen writes the settings table into action.yml's inputs and the
// README's Inputs table: go generate ./internal/settings.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/miosa-dev/sandbox-templates-action/internal/settings"
)

func main() {
	root := flag.String("root", ".", "repository root")
	flag.Parse()
	if err := run(*root); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(root string) error {
	for _, f := range []struct{ file, start, end, part string }{
		{"action.yml", "inputs:", "outputs:", settings.ActionInputs() + "\n"},
		{"README.md", "| input | default | meaning |", "", settings.ReadmeInputs()},
	} {
		path := filepath.Join(root, f.file)
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out, err := settings.Splice(string(raw), f.start, f.end, f.part)
		if err != nil {
			return fmt.Errorf("%s: %w", f.file, err)
		}
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			return err
		}
	}
	return nil
}
