package buildfail_test

import (
	"testing"

	"github.com/miosa-dev/sandbox-templates-action/internal/buildfail"
	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
)

// appYAML has four steps; the second and the fourth run the same command.
const appYAML = `name: app
description: the app
build_spec:
  from: node:22-bookworm
  steps:
    - run: apt-get update
    - run: npm ci
    - run: |
        npm run build
        npm test
    - run: npm ci
`

// parse reads a template file with spec.Parse, failing on any problem.
func parse(t *testing.T, file, data string) *spec.Template {
	t.Helper()
	tpl, diags := spec.Parse(file, []byte(data))
	if tpl == nil || len(diags) > 0 {
		t.Fatalf("parse %s: %v", file, diags)
	}
	return tpl
}

func TestLocate(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"app.yaml":     appYAML,
		"flow.yaml":    "build_spec: {from: alpine:3.20, steps: [{run: echo a}, {run: echo b}]}\n",
		"runtime.yaml": "name: rt\nbuild_spec:\n  runtime: node\n  version: \"20\"\n",
		"ticks.yaml":   "build_spec:\n  from: alpine:3.20\n  steps:\n    - run: echo `date`\n    - run: \"true\"\n",
	}
	tests := []struct {
		name, file, code, msg string
		line, col             int
		field                 string
	}{
		{"Miosa's form", "app.yaml", "BUILD_STEP_FAILED", "step 2 `npm ci` exited 1: ENOENT package-lock.json", 7, 12, "build_spec.steps[1].run"},
		{"capitalised with a colon", "app.yaml", "BUILD_STEP_FAILED", "Step 1: apt-get update exited 100", 6, 12, "build_spec.steps[0].run"},
		{"parenthesised command", "app.yaml", "BUILD_STEP_FAILED", "step 3 (`npm run build`) exited 2", 8, 12, "build_spec.steps[2].run"},
		{"hash and count", "app.yaml", "BUILD_STEP_FAILED", "build failed at step #3/4: exit 2", 8, 12, "build_spec.steps[2].run"},
		{"no space", "app.yaml", "BUILD_STEP_FAILED", "step2 failed", 7, 12, "build_spec.steps[1].run"},
		{"first line of a block scalar", "app.yaml", "BUILD_STEP_FAILED", "step 3 `npm run build` exited 2: tsc error", 8, 12, "build_spec.steps[2].run"},
		{"whole block scalar", "app.yaml", "BUILD_STEP_FAILED", "step 3 `npm run build\nnpm test` exited 2", 8, 12, "build_spec.steps[2].run"},
		{"quote matches the step named", "app.yaml", "BUILD_STEP_FAILED", "step 4 `npm ci` exited 1", 11, 12, "build_spec.steps[3].run"},
		{"quote of another step wins", "app.yaml", "BUILD_STEP_FAILED", "step 1 `npm ci` exited 1", 7, 12, "build_spec.steps[1].run"},
		{"quote wins over a number past the last step, nearest match", "app.yaml", "BUILD_STEP_FAILED", "step 5 `npm ci` exited 1", 11, 12, "build_spec.steps[3].run"},
		{"quote of no step keeps the number", "app.yaml", "BUILD_STEP_FAILED", "step 2 `yarn install` exited 1", 7, 12, "build_spec.steps[1].run"},
		{"quote later in the message is not the command", "app.yaml", "BUILD_STEP_FAILED", "step 2 exited 1: `npm ci` needs a lockfile", 7, 12, "build_spec.steps[1].run"},
		{"no error code", "app.yaml", "", "step 2 `npm ci` exited 1", 7, 12, "build_spec.steps[1].run"},
		{"code in lower case", "app.yaml", "build_step_failed", "step 2 `npm ci` exited 1", 7, 12, "build_spec.steps[1].run"},
		{"number past the last step", "app.yaml", "BUILD_STEP_FAILED", "step 9 exited 1", 3, 1, "build_spec"},
		{"step 0", "app.yaml", "BUILD_STEP_FAILED", "step 0 exited 1", 3, 1, "build_spec"},
		{"huge number", "app.yaml", "BUILD_STEP_FAILED", "step 99999999999999999999 exited 1", 3, 1, "build_spec"},
		{"no step named", "app.yaml", "BUILD_STEP_FAILED", "image build exited 1: emulated failure", 3, 1, "build_spec"},
		{"steps is not a step", "app.yaml", "BUILD_STEP_FAILED", "steps 2 and 3 were skipped", 3, 1, "build_spec"},
		{"other code", "app.yaml", "BUILDS_TEMPORARILY_UNAVAILABLE", "Template builds are being upgraded. Your template was saved as a draft and will build once this ships.", 3, 1, "build_spec"},
		{"other code naming a step", "app.yaml", "REGISTRY_TIMEOUT", "step 2 `npm ci`: registry timed out", 3, 1, "build_spec"},
		{"flow style", "flow.yaml", "BUILD_STEP_FAILED", "step 2 `echo b` exited 1", 1, 62, "build_spec.steps[1].run"},
		{"flow style build_spec key", "flow.yaml", "OUT_OF_DISK", "no space left", 1, 1, "build_spec"},
		{"spec without steps", "runtime.yaml", "BUILD_STEP_FAILED", "step 1 `npm ci` exited 1", 2, 1, "build_spec"},
		{"command holding a backtick", "ticks.yaml", "BUILD_STEP_FAILED", "step 2 ``echo `date` `` exited 1", 4, 12, "build_spec.steps[0].run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tpl := parse(t, tt.file, files[tt.file])
			line, col, field := buildfail.Locate(tpl, tt.code, tt.msg)
			if line != tt.line || col != tt.col || field != tt.field {
				t.Errorf("Locate = %d:%d %q, want %d:%d %q", line, col, field, tt.line, tt.col, tt.field)
			}
		})
	}
}

func TestLocateNil(t *testing.T) {
	t.Parallel()
	if line, col, field := buildfail.Locate(nil, "BUILD_STEP_FAILED", "step 1 `x` exited 1"); line != 0 || col != 0 || field != "build_spec" {
		t.Errorf("Locate(nil) = %d:%d %q, want 0:0 \"build_spec\"", line, col, field)
	}
}
