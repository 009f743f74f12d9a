package buildfail_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/buildfail"
	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
	"github.com/miosa-dev/sandbox-templates-action/internal/golden"
	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
)

// releaseYAML is a template whose second step fails on the emulator.
const releaseYAML = `name: web
build_spec:
  from: node:22-bookworm
  steps:
    - run: apt-get update
    - run: npm ci
    - run: npm run build
`

// TestFailedStepOnEmulator follows a build that fails at step 2 from the
// emulator over HTTP to the annotation's position and the log shown in the
// summary.
func TestFailedStepOnEmulator(t *testing.T) {
	t.Parallel()
	opts := emulator.NewOptions()
	opts.BuildDuration = 0 // terminal on the next request
	opts.LogURLs = true
	opts.Outcomes = map[string]emulator.Outcome{"web": {ErrorCode: buildfail.CodeStepFailed, FailStep: 2}}
	at := time.Date(2026, 11, 29, 10, 38, 0, 0, time.UTC)
	opts.Clock = func() time.Time { return at }
	srv := httptest.NewServer(emulator.New(opts))
	t.Cleanup(srv.Close)
	c, err := miosa.New(miosa.Options{BaseURL: srv.URL + "/api/v1", APIKey: "msk_u_buildfail_test_key", UserAgent: "sandbox-templates-action/test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tpl := parse(t, "sandbox-templates/web.yaml", releaseYAML)
	created, err := c.CreateTemplate(ctx, "6f1d3c2e-8a9b-4c5d-9e0f-1a2b3c4d5e6f", miosa.CreateTemplate{Name: tpl.Name, BuildSpec: tpl.BuildSpec})
	if err != nil {
		t.Fatal(err)
	}
	builds, err := c.ListBuilds(ctx, created.ID)
	if err != nil || len(builds) != 1 {
		t.Fatalf("builds %v, err %v", builds, err)
	}
	b, err := c.GetBuild(ctx, builds[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if b.State != miosa.StateFailed || b.LogURL == "" {
		t.Fatalf("build %+v: want failed, with a log_url", b)
	}

	line, col, field := buildfail.Locate(tpl, b.ErrorCode, b.ErrorMessage)
	if line != 6 || col != 12 || field != "build_spec.steps[1].run" {
		t.Errorf("Locate(%q, %q) = %d:%d %q, want 6:12 on step 2's run", b.ErrorCode, b.ErrorMessage, line, col, field)
	}

	log, err := c.BuildLogTail(ctx, b.LogURL, 0)
	if err != nil {
		t.Fatal(err)
	}
	lines := buildfail.Tail(log.Text, log.Partial, buildfail.TailLines)
	if len(lines) == 0 || !strings.HasSuffix(lines[len(lines)-1], "error BUILD_STEP_FAILED: "+b.ErrorMessage) {
		t.Fatalf("tail %q: want it to end with the failure", lines)
	}
	golden.Testdata.Check(t, "emulator-summary.md", strings.ReplaceAll(buildfail.Markdown(lines), b.ID, "BUILD_ID"))
}
