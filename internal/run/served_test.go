package run

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
)

// R1: two templates whose creates both meet a template another run made:
// both workers re-plan concurrently. Run with -race.
func TestServedConcurrentReplansRace(t *testing.T) {
	opts := emulator.NewOptions()
	opts.BuildDuration = 0
	emu := emulator.New(opts)
	files := map[string]string{}
	for i := range 8 {
		files[fmt.Sprintf("sandbox-templates/t%d.yaml", i)] = "build_spec:\n  from: node:22\n"
	}
	root := writeFiles(t, files)
	direct := server(t, emu, nil)
	if res, _ := Do(context.Background(), Config{Root: root, Mode: ModeApply, APIKey: "msk_test", APIURL: direct, Commit: "c1"}, quiet{}); res.Status != StatusSuccess {
		t.Fatalf("first apply: %s %v", res.Status, res.Problems())
	}
	url := server(t, emu, map[string]func(http.ResponseWriter, *http.Request){
		"GET /api/v1/sandbox-templates":  answer(http.StatusOK, `[]`),
		"POST /api/v1/sandbox-templates": answer(http.StatusUnprocessableEntity, `{"error":{"code":"VALIDATION_FAILED","message":"validation failed"},"errors":{"slug":["a template with this name already exists"]}}`),
	})
	res, _ := Do(context.Background(), Config{Root: root, Mode: ModeApply, APIKey: "msk_test", APIURL: url, Commit: "c2"}, quiet{})
	if res.Status != StatusSuccess {
		t.Fatalf("racing apply: %s %v", res.Status, res.Problems())
	}
}

// R2: run A (commit c1, node:22) creates the template; before A lists the
// builds, run B (commit c2, node:24) creates the same name, which the server
// upserts (the template is still draft) and builds. A adopts its own older
// build and reports it, while the template serves B's spec.
func TestServedCreateAdoptsNonServingBuild(t *testing.T) {
	opts := emulator.NewOptions()
	opts.BuildDuration = 0
	emu := emulator.New(opts)
	emu.Configure(func(o *emulator.Options) { o.BuildDuration = 60e9 })
	direct := httptest.NewServer(emu)
	t.Cleanup(direct.Close)
	var once bool
	url := server(t, emu, map[string]func(http.ResponseWriter, *http.Request){
		"POST /api/v1/sandbox-templates": func(w http.ResponseWriter, r *http.Request) {
			rec := httptest.NewRecorder()
			emu.ServeHTTP(rec, r)
			if !once {
				once = true
				// B's create lands between A's create and A's list_builds.
				body, _ := json.Marshal(map[string]any{"name": "app", "build_spec": map[string]any{"from": "node:24"}})
				req, _ := http.NewRequest("POST", direct.URL+"/api/v1/sandbox-templates", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer msk_other_run")
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Idempotency-Key", "b-run-create")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
		},
	})
	root := writeFiles(t, map[string]string{"sandbox-templates/app.yaml": "build_spec:\n  from: node:22\n"})
	res, _ := Do(context.Background(), Config{Root: root, Mode: ModeApply, APIKey: "msk_test", APIURL: url, Commit: "c1", AdoptGrace: -1}, quiet{})
	// What does the server serve now?
	req, _ := http.NewRequest("GET", direct.URL+"/api/v1/sandbox-templates/app", nil)
	req.Header.Set("Authorization", "Bearer msk_test")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tpl struct {
		Data struct {
			BuildSpec      map[string]any `json:"build_spec"`
			CurrentBuildID *string        `json:"current_build_id"`
		} `json:"data"`
		BuildSpec map[string]any `json:"build_spec"`
	}
	json.NewDecoder(resp.Body).Decode(&tpl)
	resp.Body.Close()
	bs := tpl.Data.BuildSpec
	if bs == nil {
		bs = tpl.BuildSpec
	}
	t.Logf("status %s, builds %+v; template now has from=%v; builds of app on the server: %d", res.Status, res.Builds, bs["from"], emu.BuildsOf("app"))
	if res.Status == StatusSuccess && bs["from"] != "node:22" {
		t.Errorf("run A reports success with build-ids %v, yet the template's spec is from=%v (the newest build is B's): the output names a build that does not serve", res.BuildIDs(), bs["from"])
	}
}

// R3: a server default that moved after the build (Miosa changes what
// size: medium means) is drift: the served build no longer is what the
// file means on this server, so it is rebuilt, once, with the change named
// field by field; the next run writes nothing.
func TestServedMovedServerDefaultRebuilds(t *testing.T) {
	opts := emulator.NewOptions()
	opts.BuildDuration = 0
	emu := emulator.New(opts)
	url := server(t, emu, nil)
	root := writeFiles(t, map[string]string{"sandbox-templates/app.yaml": "build_spec:\n  from: node:22\n  size: medium\n"})
	if res, _ := Do(context.Background(), Config{Root: root, Mode: ModeApply, APIKey: "msk_test", APIURL: url, Commit: "c1"}, quiet{}); res.Status != StatusSuccess {
		t.Fatalf("first: %s %v", res.Status, res.Problems())
	}
	emu.Configure(func(o *emulator.Options) { o.Sizes = map[string][3]int{"medium": {8, 16384, 20480}} })
	for i, want := range []int{1, 0} {
		before := emu.Counters()
		res, _ := Do(context.Background(), Config{Root: root, Mode: ModeApply, APIKey: "msk_test", APIURL: url, Commit: "c2"}, quiet{})
		if w := emu.Counters().Writes - before.Writes; w != want {
			t.Errorf("run %d after the default moved: %d write(s), want %d; plan %q", i+1, w, want, planLine(res.Plan))
		}
		if i == 0 && (len(res.Plan.Items) != 1 || len(res.Plan.Items[0].Changes) != 2) {
			t.Errorf("changes %+v, want vcpu and memoryMib (diskMib stayed)", res.Plan.Items)
		}
	}
}

func planLine(p plan.Plan) string {
	var s []string
	for _, it := range p.Items {
		s = append(s, it.Name+":"+it.Action.String()+":"+it.Reason)
	}
	return strings.Join(s, "; ")
}

// cancelProxy serves the emulator, showing every build whose id is in
// cancelled as state "cancelled" (as if someone cancelled it).
func cancelProxy(t *testing.T, emu *emulator.Server, cancelled map[string]bool) string {
	t.Helper()
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if id, _ := x["id"].(string); cancelled[id] {
				if _, ok := x["state"]; ok {
					x["state"] = "cancelled"
				}
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		emu.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		var v any
		if json.Unmarshal(body, &v) == nil {
			walk(v)
			body, _ = json.Marshal(v)
		}
		for k, vv := range rec.Header() {
			if k != "Content-Length" {
				w.Header()[k] = vv
			}
		}
		w.WriteHeader(rec.Code)
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/api/v1"
}

// R4: a build of this commit's spec is cancelled; a re-run at the same
// commit sees the same base (the build before it), sends the same key, and
// the server replays the cancelled build: no new build.
func TestServedCancelledBuildIsNotRebuilt(t *testing.T) {
	opts := emulator.NewOptions()
	opts.BuildDuration = 0
	emu := emulator.New(opts)
	cancelled := map[string]bool{}
	url := cancelProxy(t, emu, cancelled)
	root := writeFiles(t, map[string]string{"sandbox-templates/app.yaml": "build_spec:\n  from: node:22\n"})
	if res, _ := Do(context.Background(), Config{Root: root, Mode: ModeApply, APIKey: "msk_test", APIURL: url, Commit: "c0"}, quiet{}); res.Status != StatusSuccess {
		t.Fatalf("c0: %s %v", res.Status, res.Problems())
	}
	root = writeFiles(t, map[string]string{"sandbox-templates/app.yaml": "build_spec:\n  from: node:24\n"})
	res, _ := Do(context.Background(), Config{Root: root, Mode: ModeApply, APIKey: "msk_test", APIURL: url, Commit: "c1"}, quiet{})
	if res.Status != StatusSuccess || len(res.Builds) != 1 {
		t.Fatalf("c1: %s %v", res.Status, res.Problems())
	}
	cancelled[res.Builds[0].BuildID] = true // someone cancels it
	before := emu.Counters()
	res, _ = Do(context.Background(), Config{Root: root, Mode: ModeApply, APIKey: "msk_test", APIURL: url, Commit: "c1"}, quiet{})
	t.Logf("re-run: status %s plan %q builds %+v", res.Status, planLine(res.Plan), res.Builds)
	if n := emu.Counters().BuildsCreated - before.BuildsCreated; n != 1 {
		t.Errorf("re-run after a cancelled build of this spec: %d new build(s), want 1; build-ids %v names a cancelled build", n, res.BuildIDs())
	}
}

// R5: build: always keys every such build "always", whatever it replaces:
// after the template moved on, a later build: always run at the same commit
// replays an old build instead of building, and reports that old build.
func TestServedBuildAlwaysReplaysOldBuild(t *testing.T) {
	opts := emulator.NewOptions()
	opts.BuildDuration = 0
	emu := emulator.New(opts)
	url := server(t, emu, nil)
	x := writeFiles(t, map[string]string{"sandbox-templates/app.yaml": "build_spec:\n  from: node:22\n"})
	y := writeFiles(t, map[string]string{"sandbox-templates/app.yaml": "build_spec:\n  from: node:24\n"})
	run := func(root, commit string, mode plan.BuildMode) *Result {
		res, _ := Do(context.Background(), Config{Root: root, Mode: ModeApply, APIKey: "msk_test", APIURL: url, Commit: commit, BuildMode: mode}, quiet{})
		if res.Status != StatusSuccess {
			t.Fatalf("%s: %s %v", commit, res.Status, res.Problems())
		}
		return res
	}
	run(x, "c1", "")                      // create, B1
	old := run(x, "c1", plan.BuildAlways) // B2, key always@c1
	run(y, "c2", "")                      // B3 (node:24)
	run(x, "c1", "")                      // B4 (node:22 again; no commit time, no guard)
	before := emu.Counters()
	res := run(x, "c1", plan.BuildAlways)
	if n := emu.Counters().BuildsCreated - before.BuildsCreated; n != 1 {
		t.Errorf("build: always made %d build(s), want 1; it reported %v (replayed=%v), the build of an earlier always run %v, not the serving one",
			n, res.BuildIDs(), res.Builds[0].Replayed, old.BuildIDs())
	}
}

// R1b: templates made elsewhere with a display name ("T 3", slug t-3): list
// rows have no slug, so every run plans them as creates, meets 422 and
// re-plans them all concurrently. Also: they are listed as unmanaged, and
// the description change found on re-plan is dropped.
func TestServedDisplayNameTemplates(t *testing.T) {
	opts := emulator.NewOptions()
	opts.BuildDuration = 0
	emu := emulator.New(opts)
	direct := httptest.NewServer(emu)
	t.Cleanup(direct.Close)
	files := map[string]string{}
	for i := range 8 {
		body, _ := json.Marshal(map[string]any{"name": fmt.Sprintf("T %d", i), "description": "old", "build_spec": map[string]any{"from": "node:22"}})
		req, _ := http.NewRequest("POST", direct.URL+"/api/v1/sandbox-templates", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer msk_test")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 201 {
			t.Fatalf("create by hand: %v %v", err, resp)
		}
		resp.Body.Close()
		files[fmt.Sprintf("sandbox-templates/t-%d.yaml", i)] = "description: new\nbuild_spec:\n  from: node:22\n"
	}
	root := writeFiles(t, files)
	url := direct.URL + "/api/v1"
	res, _ := Do(context.Background(), Config{Root: root, Mode: ModePlan, APIKey: "msk_test", APIURL: url, Commit: "c1"}, quiet{})
	t.Logf("plan: %q unmanaged %v", planLine(res.Plan), res.Plan.Unmanaged)
	if res.Plan.Count(plan.Create) != 0 || len(res.Plan.Unmanaged) != 0 || res.Plan.Count(plan.Describe) != 8 {
		t.Errorf("plan: %d creates, unmanaged %v, %d description items; want 0, none, 8", res.Plan.Count(plan.Create), res.Plan.Unmanaged, res.Plan.Count(plan.Describe))
	}
	res, _ = Do(context.Background(), Config{Root: root, Mode: ModeApply, APIKey: "msk_test", APIURL: url, Commit: "c1"}, quiet{})
	t.Logf("apply: %s plan: %q problems %v", res.Status, planLine(res.Plan), res.Problems())
	if res.Plan.Count(plan.Describe) != 8 {
		t.Errorf("%d description items, want 8", res.Plan.Count(plan.Describe))
	}
}
