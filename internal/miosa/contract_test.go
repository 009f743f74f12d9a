package miosa_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
)

// startEmulator serves an emulator over real HTTP and returns a client of it.
func startEmulator(t testing.TB, mod func(*emulator.Options), copts func(*miosa.Options)) (*emulator.Server, *miosa.Client, *sleeper) {
	t.Helper()
	opts := emulator.NewOptions()
	opts.BuildDuration = 0 // builds are terminal on the next request
	// The contract tests check that client metadata round-trips when a
	// server keeps it; the emulator's default drops it, as Miosa's does.
	opts.ClientMetadata = true
	if mod != nil {
		mod(&opts)
	}
	emu := emulator.New(opts)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	sl := &sleeper{}
	o := miosa.Options{BaseURL: srv.URL + "/api/v1", APIKey: canaryKey, UserAgent: testUA, Sleep: sl.sleep}
	if copts != nil {
		copts(&o)
	}
	c, err := miosa.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return emu, c, sl
}

var (
	validSpec   = map[string]any{"from": "node:22-bookworm", "steps": []any{map[string]any{"run": "npm ci"}}}
	invalidSpec = map[string]any{"size": "enormous", "previewPort": 70000}
)

// TestContract runs every operation against the emulator under each of the
// response variants the API page lists.
func TestContract(t *testing.T) {
	t.Parallel()
	variants := map[string]emulator.Variant{
		"defaults": {},
		"data envelopes": {List: "data", Get: "data", Schema: "data", Validate: "422", ValidateData: true,
			ListBuilds: "data", Errors: "flat"},
		"default list, alias rows, legacy states": {List: "default", Aliases: "rows", Validate: "strings",
			ListBuilds: "bare", States: "legacy", Errors: "message"},
		"legacy-complete, detail errors":  {States: "legacy-complete", Errors: "detail"},
		"error strings, bare list builds": {ListBuilds: "bare", Errors: "strings"},
	}
	for name, v := range variants {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			emu, c, _ := startEmulator(t, func(o *emulator.Options) { o.Variant = v }, nil)
			contractRun(t, emu, c)
		})
	}
}

func contractRun(t *testing.T, emu *emulator.Server, c *miosa.Client) {
	ctx := context.Background()

	rows, err := c.ListTemplates(ctx, false)
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if !slices.ContainsFunc(rows, func(r miosa.ListRow) bool { return r.BuiltIn && r.ID != "" && r.Name != "" }) {
		t.Errorf("list has no built-in template: %+v", rows)
	}
	withAliases, err := c.ListTemplates(ctx, true)
	if err != nil {
		t.Fatalf("list with aliases: %v", err)
	}
	if len(withAliases) != len(rows) {
		t.Errorf("list with aliases has %d rows, without %d: alias rows were not folded", len(withAliases), len(rows))
	}
	if !slices.ContainsFunc(withAliases, func(r miosa.ListRow) bool { return len(r.Aliases) > 0 }) {
		t.Errorf("no row has aliases: %+v", withAliases)
	}

	schemaDoc, err := c.BuildSpecSchema(ctx)
	if err != nil {
		t.Fatalf("schema: %v", err)
	}
	var schemaObj map[string]any
	if err := json.Unmarshal(schemaDoc, &schemaObj); err != nil || schemaObj["data"] != nil {
		t.Errorf("schema is not a bare JSON object (%v): %.80s", err, schemaDoc)
	}

	good, err := c.Validate(ctx, validSpec)
	if err != nil || !good.Valid || len(good.Errors) != 0 {
		t.Errorf("validate valid spec = %+v, %v; want valid", good, err)
	}
	bad, err := c.Validate(ctx, invalidSpec)
	if err != nil || bad.Valid || len(bad.Errors) == 0 {
		t.Errorf("validate invalid spec = %+v, %v; want invalid with errors", bad, err)
	}

	create := miosa.CreateTemplate{Name: "web", Description: "Web app", BuildSpec: validSpec, Metadata: map[string]string{"repo": "o/r"}}
	tpl, err := c.CreateTemplate(ctx, "11111111-1111-5111-8111-111111111111", create)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if tpl.ID == "" || tpl.Name != "web" || tpl.Status != "draft" || tpl.Replayed {
		t.Errorf("create = %+v", tpl)
	}
	again, err := c.CreateTemplate(ctx, "11111111-1111-5111-8111-111111111111", create)
	if err != nil {
		t.Fatalf("create replay: %v", err)
	}
	if !again.Replayed || again.ID != tpl.ID {
		t.Errorf("create replay = %+v, want Replayed with id %s", again, tpl.ID)
	}
	edited := create
	edited.BuildSpec = map[string]any{"from": "node:20"}
	_, err = c.CreateTemplate(ctx, "11111111-1111-5111-8111-111111111111", edited)
	if !miosa.IsPayloadMismatch(err) || !strings.Contains(err.Error(), "different request body") {
		t.Errorf("create with edited body: err = %v, want an explained payload mismatch", err)
	}

	for _, id := range []string{tpl.ID, "web"} {
		got, err := c.GetTemplate(ctx, id)
		if err != nil {
			t.Fatalf("get %s: %v", id, err)
		}
		if got.ID != tpl.ID || got.BuildSpec["from"] != "node:22-bookworm" || got.Metadata["repo"] != "o/r" {
			t.Errorf("get %s = %+v", id, got)
		}
	}
	if _, err := c.GetTemplate(ctx, "no-such-template"); !miosa.IsNotFound(err) {
		t.Errorf("get missing: err = %v, want not found", err)
	}

	builds, err := c.ListBuilds(ctx, tpl.ID)
	if err != nil {
		t.Fatalf("list builds: %v", err)
	}
	if len(builds) != 1 || builds[0].TemplateID != tpl.ID {
		t.Errorf("list builds after create = %+v, want the one auto build", builds)
	}

	req := miosa.CreateBuild{BuildSpec: map[string]any{"from": "node:22-bookworm", "env": map[string]any{"A": "1"}},
		Metadata: map[string]string{"commit": "abc123"}}
	b, err := c.CreateBuild(ctx, tpl.ID, "22222222-2222-5222-8222-222222222222", req)
	if err != nil {
		t.Fatalf("create build: %v", err)
	}
	if b.ID == "" || b.TemplateID != tpl.ID || b.Replayed || b.Terminal() {
		t.Errorf("create build = %+v", b)
	}
	b2, err := c.CreateBuild(ctx, tpl.ID, "22222222-2222-5222-8222-222222222222", req)
	if err != nil || !b2.Replayed || b2.ID != b.ID {
		t.Errorf("create build replay = %+v, %v; want Replayed with id %s", b2, err, b.ID)
	}
	got, err := c.GetBuild(ctx, b.ID)
	if err != nil {
		t.Fatalf("get build: %v", err)
	}
	if got.State != miosa.StateReady || !got.Terminal() || got.Metadata["commit"] != "abc123" {
		t.Errorf("get build = %+v, want ready with the commit metadata", got)
	}
	if _, err := c.GetBuild(ctx, "no-such-build"); !miosa.IsNotFound(err) {
		t.Errorf("get missing build: err = %v, want not found", err)
	}

	counters := emu.Counters()
	if counters.TemplatesCreated != 1 || counters.BuildsCreated != 2 || counters.Replays != 2 || counters.Mismatches != 1 {
		t.Errorf("counters = created %d, builds %d, replays %d, mismatches %d; want 1, 2, 2, 1",
			counters.TemplatesCreated, counters.BuildsCreated, counters.Replays, counters.Mismatches)
	}
}

// TestContractFaults drives the retry policy with the emulator's faults and
// checks, on the server side, that no write happened twice.
func TestContractFaults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	setup := func(t *testing.T, rules ...emulator.Rule) (*emulator.Server, *miosa.Client, *sleeper, string) {
		t.Helper()
		emu, c, sl := startEmulator(t, nil, nil)
		tpl, err := c.CreateTemplate(ctx, "k-create", miosa.CreateTemplate{Name: "web", BuildSpec: validSpec})
		if err != nil {
			t.Fatal(err)
		}
		emu.Configure(func(o *emulator.Options) { o.Faults.Rules = rules })
		return emu, c, sl, tpl.ID
	}
	build := func(c *miosa.Client, id string) (*miosa.Build, error) {
		return c.CreateBuild(ctx, id, "k-build", miosa.CreateBuild{BuildSpec: validSpec})
	}

	t.Run("503 503 then success, one build", func(t *testing.T) {
		t.Parallel()
		emu, c, sl, id := setup(t, emulator.Rule{Endpoint: "create_build", Kind: emulator.FaultStatus, Statuses: []int{503, 503}})
		if _, err := build(c, id); err != nil {
			t.Fatal(err)
		}
		cn := emu.Counters()
		if cn.Requests["create_build"] != 3 || cn.BuildsCreated != 2 || len(sl.all()) != 2 {
			t.Errorf("create_build requests %d, builds %d, waits %d; want 3, 2 (auto + 1), 2",
				cn.Requests["create_build"], cn.BuildsCreated, len(sl.all()))
		}
		var keys []string
		for _, r := range emu.Requests() {
			if r.Endpoint == "create_build" {
				keys = append(keys, r.IdempotencyKey)
			}
		}
		if diff := cmp.Diff([]string{"k-build", "k-build", "k-build"}, keys); diff != "" {
			t.Errorf("keys (-want +got):\n%s", diff)
		}
	})
	t.Run("dropped after commit, replayed", func(t *testing.T) {
		t.Parallel()
		emu, c, _, id := setup(t, emulator.Rule{Endpoint: "create_build", Kind: emulator.FaultDropAfter, Count: 1})
		b, err := build(c, id)
		if err != nil {
			t.Fatal(err)
		}
		cn := emu.Counters()
		if !b.Replayed || cn.BuildsCreated != 2 || cn.Replays != 1 {
			t.Errorf("replayed %t, builds %d, replays %d; want true, 2, 1", b.Replayed, cn.BuildsCreated, cn.Replays)
		}
	})
	t.Run("429 with Retry-After", func(t *testing.T) {
		t.Parallel()
		for _, in := range []string{"header", "body"} {
			_, c, sl, id := setup(t, emulator.Rule{Endpoint: "get", Kind: emulator.FaultStatus, Status: 429, Count: 1,
				RetryAfter: 2 * time.Second, RetryAfterIn: in})
			if _, err := c.GetTemplate(ctx, id); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]time.Duration{2 * time.Second}, sl.all()); diff != "" {
				t.Errorf("%s: waits (-want +got):\n%s", in, diff)
			}
		}
	})
	t.Run("429 beyond the cap fails at once", func(t *testing.T) {
		t.Parallel()
		emu, c, _, id := setup(t, emulator.Rule{Endpoint: "get", Kind: emulator.FaultStatus, Status: 429, RetryAfter: 24 * time.Hour})
		_, err := c.GetTemplate(ctx, id)
		if err == nil || !strings.Contains(err.Error(), "beyond the 1m0s cap") {
			t.Errorf("err = %v", err)
		}
		if n := emu.Counters().Requests["get"]; n != 1 {
			t.Errorf("get requests %d, want 1", n)
		}
	})
	t.Run("validate 503 retried like a GET", func(t *testing.T) {
		t.Parallel()
		emu, c, _, _ := setup(t, emulator.Rule{Endpoint: "validate", Kind: emulator.FaultStatus, Status: 503, Count: 2})
		if _, err := c.Validate(ctx, validSpec); err != nil {
			t.Errorf("err = %v", err)
		}
		if n := emu.Counters().Requests["validate"]; n != 3 {
			t.Errorf("validate requests %d, want 3", n)
		}
	})
	t.Run("echoed key is redacted", func(t *testing.T) {
		t.Parallel()
		_, c, _, id := setup(t, emulator.Rule{Kind: emulator.FaultEchoAuth})
		_, err := c.GetTemplate(ctx, id)
		if err == nil {
			t.Fatal("no error")
		}
		assertNoKey(t, "error", err.Error())
		assertNoKey(t, "error %#v", fmt.Sprintf("%#v", err))
	})
	t.Run("huge body", func(t *testing.T) {
		t.Parallel()
		_, c, _, id := setup(t, emulator.Rule{Endpoint: "list_builds", Kind: emulator.FaultHugeBody})
		if _, err := c.ListBuilds(ctx, id); !errors.Is(err, miosa.ErrResponseTooLarge) {
			t.Errorf("err = %v, want ErrResponseTooLarge", err)
		}
	})
	t.Run("malformed json", func(t *testing.T) {
		t.Parallel()
		_, c, _, id := setup(t, emulator.Rule{Endpoint: "get", Kind: emulator.FaultMalformedJSON})
		if _, err := c.GetTemplate(ctx, id); !errors.Is(err, miosa.ErrMalformedResponse) {
			t.Errorf("err = %v, want ErrMalformedResponse", err)
		}
	})
	t.Run("unknown build state is in progress", func(t *testing.T) {
		t.Parallel()
		_, c, _, id := setup(t, emulator.Rule{Endpoint: "list_builds", Kind: emulator.FaultUnknownState, State: "teleporting"})
		builds, err := c.ListBuilds(ctx, id)
		if err != nil || len(builds) == 0 {
			t.Fatalf("builds %+v, err %v", builds, err)
		}
		if builds[0].State != "teleporting" || builds[0].Terminal() {
			t.Errorf("build = %+v, want state teleporting, not terminal", builds[0])
		}
	})
	t.Run("redirect", func(t *testing.T) {
		t.Parallel()
		_, c, _, id := setup(t, emulator.Rule{Endpoint: "get", Kind: emulator.FaultRedirect,
			Location: "http://127.0.0.1:1/api/v1/sandbox-templates/web"})
		_, err := c.GetTemplate(ctx, id)
		if !errors.Is(err, miosa.ErrRedirect) || !strings.Contains(err.Error(), "127.0.0.1:1") {
			t.Errorf("err = %v, want ErrRedirect naming 127.0.0.1:1", err)
		}
	})
	t.Run("hostile ids", func(t *testing.T) {
		t.Parallel()
		emu, c, _ := startEmulator(t, func(o *emulator.Options) {
			o.Faults.Rules = []emulator.Rule{{Endpoint: "create", Kind: emulator.FaultHostileIDs}}
		}, nil)
		tpl, err := c.CreateTemplate(ctx, "k", miosa.CreateTemplate{Name: "odd", BuildSpec: validSpec})
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.GetTemplate(ctx, tpl.ID)
		if err != nil || got.ID != tpl.ID {
			t.Errorf("get %q = %+v, %v", tpl.ID, got, err)
		}
		if _, err := c.ListBuilds(ctx, tpl.ID); err != nil {
			t.Errorf("list builds of %q: %v", tpl.ID, err)
		}
		if n := emu.Counters().TemplatesCreated; n != 1 {
			t.Errorf("templates created %d, want 1", n)
		}
	})
}
