package run_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
)

// BenchmarkLoad1000 loads and validates 1,000 realistic template files.
func BenchmarkLoad1000(b *testing.B) {
	root := b.TempDir()
	dir := filepath.Join(root, "sandbox-templates")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	for i := range 1000 {
		content := fmt.Sprintf(`name: tpl-%04d
description: Node 22 with pnpm, number %d
metadata:
  team: platform
build_spec:
  from: node:22-bookworm
  size: medium
  vcpu: 2
  memoryMib: 4096
  steps:
    - run: apt-get update && apt-get install -y git
    - run: npm install -g pnpm@9
    - run: pnpm config set store-dir /cache/pnpm
  env:
    CI: "1"
    NODE_ENV: development
  startCmd: pnpm dev
  previewPort: 3000
`, i, i)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("tpl-%04d.yaml", i)), []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		ts, diags := load(b, spec.Options{Root: root})
		if len(ts) != 1000 || len(diags) != 0 {
			b.Fatalf("got %d templates, %d problems", len(ts), len(diags))
		}
	}
}
