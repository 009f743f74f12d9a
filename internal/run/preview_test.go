package run

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
	"github.com/miosa-dev/sandbox-templates-action/internal/preview"
)

// A run with Preview writes the templates it names under their previews'
// names and descriptions, through the one pipeline (create, adopt, wait),
// and leaves every other template, and the templates previewed, alone.
func TestPreviewRunWritesOnlyPreviews(t *testing.T) {
	t.Parallel()
	opts := emulator.NewOptions()
	opts.BuildDuration = 0
	emu := emulator.New(opts)
	srv := httptest.NewServer(emu)
	defer srv.Close()
	root := writeFiles(t, map[string]string{
		"sandbox-templates/web.yaml": "description: Web\nbuild_spec:\n  from: node:22\n",
		"sandbox-templates/api.yaml": "build_spec:\n  from: python:3.12\n",
	})
	base := Config{Root: root, Mode: ModeApply, APIKey: "msk_test", APIURL: srv.URL + "/api/v1", Commit: "c1",
		Repository: "acme/platform", Wait: true, PollInterval: 1, AdoptGrace: -1}
	if res, err := Do(context.Background(), base, quiet{}); err != nil || !res.OK() {
		t.Fatalf("the main sync: %v %+v", err, res)
	}
	before := emu.Counters()
	cfg := base
	cfg.Commit = "head1"
	cfg.Templates = []string{"web"}
	pname, pdesc := preview.Name("web", 7, "acme/platform"), preview.Description("web", 7, "acme/platform")
	cfg.Preview = map[string]PreviewIdentity{"web": {Name: pname, Description: pdesc}}
	res, err := Do(context.Background(), cfg, quiet{})
	if err != nil || !res.OK() {
		t.Fatalf("the preview run: %v %+v", err, res)
	}
	if diff := cmp.Diff([]string{pname}, res.Changed); diff != "" {
		t.Errorf("changed (-want +got):\n%s", diff)
	}
	if len(res.Builds) != 1 || res.Builds[0].Name != pname || res.Builds[0].State != "ready" {
		t.Errorf("builds = %+v, want the preview's, ready", res.Builds)
	}
	c := emu.Counters()
	if c.TemplatesCreated-before.TemplatesCreated != 1 || c.BuildsCreated-before.BuildsCreated != 1 {
		t.Errorf("%d templates and %d builds made, want 1 and 1", c.TemplatesCreated-before.TemplatesCreated, c.BuildsCreated-before.BuildsCreated)
	}
	api, err := miosa.New(miosa.Options{BaseURL: srv.URL + "/api/v1", APIKey: "msk_test"})
	if err != nil {
		t.Fatal(err)
	}
	descs := map[string]string{}
	for _, name := range []string{"web", pname} {
		tpl, err := api.GetTemplate(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		descs[tpl.Slug] = tpl.Description
	}
	if descs[pname] != pdesc || descs["web"] != "Web" {
		t.Errorf("descriptions = %v", descs)
	}
	if len(res.Plan.Unmanaged) != 0 {
		t.Errorf("unmanaged = %v: the templates previewed are the repository's", res.Plan.Unmanaged)
	}
	// The same push again writes nothing.
	again, err := Do(context.Background(), cfg, quiet{})
	if err != nil || !again.OK() || len(again.Changed) != 0 || emu.Counters().BuildsCreated != c.BuildsCreated {
		t.Errorf("a re-run: %v, changed %v, %d more builds; want none", err, again.Changed, emu.Counters().BuildsCreated-c.BuildsCreated)
	}
	// The main sync lists the repository's previews as its own, never as
	// unmanaged; a template made by hand stays unmanaged.
	if _, err := emu.SeedTemplate(emulator.TemplateSeed{Name: "by-hand", BuildSpec: map[string]any{"from": "node:22"}}); err != nil {
		t.Fatal(err)
	}
	main, err := Do(context.Background(), base, quiet{})
	if err != nil || !main.OK() {
		t.Fatalf("the main sync again: %v %+v", err, main)
	}
	if diff := cmp.Diff([]string{"by-hand"}, main.Plan.Unmanaged); diff != "" {
		t.Errorf("unmanaged (-want +got):\n%s", diff)
	}
}

// A run that follows the check in the same step (After) takes the files
// as the check read and checked them, and the check's validate answers:
// it reads no file, asks for no schema, and sends no spec the check sent
// again; the check's own templates keep their names.
func TestPreviewRunAfterTheCheckAsksNothingTwice(t *testing.T) {
	t.Parallel()
	opts := emulator.NewOptions()
	opts.BuildDuration = 0
	emu := emulator.New(opts)
	srv := httptest.NewServer(emu)
	defer srv.Close()
	files := map[string]string{
		"sandbox-templates/api.yaml": "build_spec:\n  from: python:3.12\n",
		"sandbox-templates/web.yaml": "build_spec:\n  from: node:22\n",
	}
	root := writeFiles(t, files)
	base := Config{Root: root, Mode: ModeApply, APIKey: "msk_test", APIURL: srv.URL + "/api/v1", Commit: "c1",
		Repository: "acme/platform", Wait: true, PollInterval: 1, AdoptGrace: -1}
	if res, err := Do(context.Background(), base, quiet{}); err != nil || !res.OK() {
		t.Fatalf("the main sync: %v %+v", err, res)
	}
	changed := "build_spec:\n  from: python:3.13\n"
	if err := os.WriteFile(filepath.Join(root, "sandbox-templates/api.yaml"), []byte(changed), 0o600); err != nil {
		t.Fatal(err)
	}
	check := base
	check.Mode, check.Commit = ModePlan, "head1"
	before := emu.Counters()
	res, err := Do(context.Background(), check, quiet{})
	if err != nil || !res.OK() || len(res.Changed) != 1 {
		t.Fatalf("the check: %v %+v", err, res)
	}
	if n := emu.Counters().Requests["validate"] - before.Requests["validate"]; n != 2 {
		t.Fatalf("the check sent %d specs to validate, want the defaults' and api's", n)
	}
	// The preview run builds what the check read, not what is on disk now.
	for name := range files {
		if err := os.Remove(filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	cfg := base
	cfg.Commit, cfg.After = "head1", res
	pname := preview.Name("api", 7, "acme/platform")
	cfg.Preview = map[string]PreviewIdentity{"api": {Name: pname, Description: preview.Description("api", 7, "acme/platform")}}
	before = emu.Counters()
	pres, err := Do(context.Background(), cfg, quiet{})
	if err != nil || !pres.OK() || len(pres.Changed) != 1 || pres.Changed[0] != pname {
		t.Fatalf("the preview run: %v %+v", err, pres)
	}
	c := emu.Counters()
	for _, k := range []string{"schema", "validate"} {
		if n := c.Requests[k] - before.Requests[k]; n != 0 {
			t.Errorf("the preview run made %d %s request(s), want none: the check asked", n, k)
		}
	}
	if c.TemplatesCreated-before.TemplatesCreated != 1 {
		t.Errorf("%d templates made, want the preview", c.TemplatesCreated-before.TemplatesCreated)
	}
	var names []string
	for _, tpl := range res.Checked().Templates {
		names = append(names, tpl.Name)
	}
	if diff := cmp.Diff([]string{"api", "web"}, names); diff != "" {
		t.Errorf("the check's templates after the preview run (-want +got):\n%s", diff)
	}
}
