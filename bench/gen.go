package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// images are the base images the generated templates cycle through.
var images = []string{"node:22-bookworm", "python:3.12-slim", "golang:1.23-bookworm", "ubuntu:24.04"}

// templateName is the name of the i-th generated template.
func templateName(prefix string, i int) string { return fmt.Sprintf("%s-%04d", prefix, i) }

// templateSpec is the build_spec of the i-th generated template.
func templateSpec(i int) map[string]any {
	return map[string]any{
		"from": images[i%len(images)],
		"size": "small",
		"steps": []any{
			map[string]any{"run": "apt-get update && apt-get install -y curl git"},
			map[string]any{"run": fmt.Sprintf("echo template %d > /etc/bench-id", i)},
			map[string]any{"run": "useradd -m dev || true"},
		},
		"env":         map[string]any{"CI": "1", "BENCH_ID": fmt.Sprintf("%04d", i)},
		"previewPort": int64(3000 + i%100),
	}
}

// templateYAML is the file a user would write for the i-th template.
func templateYAML(prefix string, i int) string {
	return fmt.Sprintf(`name: %s
description: Generated template %d for the benchmark
metadata:
  team: bench
build_spec:
  from: %s
  size: small
  steps:
    - run: apt-get update && apt-get install -y curl git
    - run: echo template %d > /etc/bench-id
    - run: useradd -m dev || true
  env:
    CI: "1"
    BENCH_ID: "%04d"
  previewPort: %d
`, templateName(prefix, i), i, images[i%len(images)], i, i, 3000+i%100)
}

// writeWorkspace writes n template files under dir/sandbox-templates.
func writeWorkspace(dir, prefix string, n int) error {
	sub := filepath.Join(dir, "sandbox-templates")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		return fmt.Errorf("workspace: %w", err)
	}
	for i := range n {
		p := filepath.Join(sub, templateName(prefix, i)+".yaml")
		if err := os.WriteFile(p, []byte(templateYAML(prefix, i)), 0o644); err != nil {
			return fmt.Errorf("workspace: %w", err)
		}
	}
	return nil
}

// changeTemplate changes the i-th template file of the workspace dir: its
// build spec gains a workdir.
func changeTemplate(dir, prefix string, i int) error {
	p := filepath.Join(dir, "sandbox-templates", templateName(prefix, i)+".yaml")
	raw, err := os.ReadFile(p)
	if err != nil {
		return fmt.Errorf("change %s: %w", templateName(prefix, i), err)
	}
	return os.WriteFile(p, append(raw, "  workdir: /srv\n"...), 0o644)
}

// sizes is how many distinct build_spec sizes the first n templates name.
func sizes(n int) int {
	seen := map[any]bool{}
	for i := range n {
		seen[templateSpec(i)["size"]] = true
	}
	return len(seen)
}

// writeBodies writes the JSON request bodies the shell loop posts: for each
// template NAME.create.json (POST /sandbox-templates) and NAME.build.json
// (POST /sandbox-templates/{id}/builds). Converting YAML to JSON beforehand
// keeps the conversion out of the shell loop's time, which favours it.
func writeBodies(dir, prefix string, n int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bodies: %w", err)
	}
	for i := range n {
		name := templateName(prefix, i)
		create := map[string]any{
			"name":        name,
			"description": fmt.Sprintf("Generated template %d for the benchmark", i),
			"metadata":    map[string]string{"team": "bench"},
			"build_spec":  templateSpec(i),
		}
		build := map[string]any{"build_spec": templateSpec(i)}
		for suffix, body := range map[string]any{".create.json": create, ".build.json": build} {
			raw, err := json.Marshal(body)
			if err != nil {
				return fmt.Errorf("bodies: %w", err)
			}
			if err := os.WriteFile(filepath.Join(dir, name+suffix), raw, 0o644); err != nil {
				return fmt.Errorf("bodies: %w", err)
			}
		}
	}
	return nil
}
