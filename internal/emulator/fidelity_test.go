package emulator_test

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
)

// TestRenderedKeys pins the exact keys of every rendering, by default (the
// server's) and with ClientMetadata (the older form).
func TestRenderedKeys(t *testing.T) {
	t.Parallel()
	for _, keep := range []bool{false, true} {
		t.Run("client metadata "+strconv.FormatBool(keep), func(t *testing.T) {
			t.Parallel()
			o := defaults()
			o.ClientMetadata = keep
			e := setup(t, o)
			plus := func(keys []string) []string {
				if !keep {
					return keys
				}
				out := append([]string{}, keys...)
				out = append(out, "metadata")
				return sortedCopy(out)
			}
			body := map[string]any{"name": "web", "metadata": map[string]any{"repo": "o/r"}, "build_spec": spec("node:22")}
			created := e.req("POST", "/api/v1/sandbox-templates", body).must(t, http.StatusCreated).data(t)
			id := created["id"].(string)
			b := e.req("POST", "/api/v1/sandbox-templates/"+id+"/builds", map[string]any{"metadata": map[string]any{"commit": "abc"}}).
				must(t, http.StatusCreated).data(t)
			e.clock.Advance(time.Minute)
			got := e.req("GET", "/api/v1/sandbox-templates/"+id, nil).must(t, http.StatusOK).obj(t)
			var row map[string]any
			for _, r := range e.req("GET", "/api/v1/sandbox-templates?page_size=100", nil).must(t, http.StatusOK).list(t) {
				if r["id"] == id {
					row = r
				}
			}
			builds := e.builds(id)
			oneBuild := e.req("GET", "/api/v1/sandbox-template-builds/"+b["id"].(string), nil).must(t, http.StatusOK).data(t)
			for name, tc := range map[string]struct {
				obj  map[string]any
				want []string
			}{
				"create": {created, plus(templateKeys)}, "get": {got, plus(templateKeys)}, "list row": {row, plus(catalogKeys)},
				"create_build": {b, buildKeys}, "list_builds": {builds[0], buildKeys}, "get_build": {oneBuild, buildKeys},
			} {
				if diff := cmp.Diff(tc.want, keysOf(tc.obj)); diff != "" {
					t.Errorf("%s keys (-want +got):\n%s", name, diff)
				}
			}
			md := oneBuild["metadata"].(map[string]any)
			if _, ok := md["events"].([]any); !ok {
				t.Errorf("build metadata lacks events: %v", md)
			}
			if (md["commit"] == "abc") != keep || len(md) != map[bool]int{false: 1, true: 2}[keep] {
				t.Errorf("build metadata %v with client metadata %v", md, keep)
			}
			if keep && (got["metadata"].(map[string]any)["repo"] != "o/r" || row["metadata"].(map[string]any)["repo"] != "o/r") {
				t.Errorf("template metadata %v, row metadata %v", got["metadata"], row["metadata"])
			}
			// The stored metadata is the same either way.
			if st := e.emu.State(); st.Templates[0].Metadata["repo"] != "o/r" || st.Builds[1].Metadata["commit"] != "abc" {
				t.Errorf("state %+v", st)
			}
		})
	}
}

func sortedCopy(s []string) []string {
	m := map[string]any{}
	for _, k := range s {
		m[k] = true
	}
	return keysOf(m)
}

func TestBuiltInCatalogue(t *testing.T) {
	t.Parallel()
	e := setup(t, defaults())
	rows := e.req("GET", "/api/v1/sandbox-templates?page_size=100", nil).must(t, http.StatusOK).list(t)
	if len(rows) != 22 {
		t.Fatalf("%d rows, want the 22 built-ins", len(rows))
	}
	short := regexp.MustCompile(`^[a-z][a-z0-9-]{1,15}$`)
	seen, defaults := map[string]bool{}, 0
	for _, r := range rows {
		id, _ := r["id"].(string)
		if !short.MatchString(id) || seen[id] || r["built_in"] != true || r["status"] != "active" || r["image_id"] == nil {
			t.Errorf("row %v: id short %v, seen %v, built_in %v, status %v, image %v", id, short.MatchString(id), seen[id], r["built_in"], r["status"], r["image_id"])
		}
		seen[id] = true
		if r["default"] == true {
			defaults++
		}
		got := e.req("GET", "/api/v1/sandbox-templates/"+id, nil).must(t, http.StatusOK).obj(t)
		if got["id"] != id || got["slug"] != id || got["built_in"] != true {
			t.Errorf("get %s = %v %v %v", id, got["id"], got["slug"], got["built_in"])
		}
	}
	if defaults != 1 {
		t.Errorf("%d default templates, want 1", defaults)
	}
}

// TestTemplateStatusSemantics follows a template through a ready build, a
// failed rebuild and a good one.
func TestTemplateStatusSemantics(t *testing.T) {
	t.Parallel()
	e := setup(t, defaults())
	id := e.create("web", spec("node:22"))["id"].(string)
	get := func() map[string]any {
		t.Helper()
		return e.req("GET", "/api/v1/sandbox-templates/"+id, nil).must(t, http.StatusOK).obj(t)
	}
	check := func(when, status string, image, current any) {
		t.Helper()
		g := get()
		if g["status"] != status || g["image_id"] != image || g["current_build_id"] != current {
			t.Errorf("%s: status %v image %v current %v; want %s %v %v", when, g["status"], g["image_id"], g["current_build_id"], status, image, current)
		}
	}
	check("queued", "draft", nil, nil)
	e.clock.Advance(5 * time.Second)
	check("building", "draft", nil, nil)
	e.clock.Advance(5 * time.Second)
	first := e.builds(id)[0]
	check("ready", "ready", first["image_id"], first["id"])

	e.config(`{"outcomes":{"web":{"error_code":"OUT_OF_DISK","fail_first":2}}}`)
	second := e.req("POST", "/api/v1/sandbox-templates/"+id+"/builds", map[string]any{}).must(t, http.StatusCreated).data(t)
	e.clock.Advance(5 * time.Second)
	check("rebuilding", "ready", first["image_id"], first["id"])
	e.clock.Advance(5 * time.Second)
	check("rebuild failed", "failed", first["image_id"], second["id"])

	// fail_first 2 counts every build of the name: the auto build was the
	// first, so the third build succeeds.
	third := e.req("POST", "/api/v1/sandbox-templates/"+id+"/builds", map[string]any{}).must(t, http.StatusCreated).data(t)
	e.clock.Advance(10 * time.Second)
	b3 := e.req("GET", "/api/v1/sandbox-template-builds/"+third["id"].(string), nil).must(t, http.StatusOK).data(t)
	check("rebuilt", "ready", b3["image_id"], third["id"])
}

func TestMissingEndpoints(t *testing.T) {
	t.Parallel()
	valid := map[string]any{"build_spec": map[string]any{"from": "x"}}
	tests := []struct {
		name                   string
		opts                   func(*emulator.Options)
		config                 string
		validate, schemaStatus int
	}{
		{name: "both present", validate: 200, schemaStatus: 200},
		{name: "no validate", opts: func(o *emulator.Options) { o.NoValidate = true }, validate: 404, schemaStatus: 200},
		{name: "no schema", opts: func(o *emulator.Options) { o.NoSchema = true }, validate: 200, schemaStatus: 404},
		{name: "neither, by config", config: `{"no_validate":true,"no_schema":true}`, validate: 404, schemaStatus: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := defaults()
			if tt.opts != nil {
				tt.opts(&o)
			}
			e := setup(t, o)
			if tt.config != "" {
				e.config(tt.config)
			}
			for _, r := range []struct {
				got  resp
				want int
			}{
				{e.req("POST", "/api/v1/sandbox-templates/validate", valid), tt.validate},
				{e.req("GET", "/api/v1/sandbox-templates/build-spec", nil), tt.schemaStatus},
			} {
				r.got.must(t, r.want)
				if r.want == 404 {
					errObj := r.got.obj(t)["error"].(map[string]any)
					if errObj["code"] != "NOT_FOUND" || errObj["message"] == "" {
						t.Errorf("404 body %s", r.got.body)
					}
				}
			}
			if c := e.emu.Counters(); c.Requests["validate"] != 1 || c.Requests["schema"] != 1 {
				t.Errorf("requests %v", c.Requests)
			}
		})
	}
}

// TestCreateValidatesItself: without the validate endpoint, create and
// create_build still reject a bad spec with Miosa's error list.
func TestCreateValidatesItself(t *testing.T) {
	t.Parallel()
	type fe struct{ Code, Field, Message string }
	tests := []struct {
		name  string
		build bool // create_build instead of create
		spec  any
		want  []fe // Message "" means any
	}{
		{"create without from", false, map[string]any{"steps": []any{map[string]any{"run": "x"}}}, []fe{{"REQUIRED", "from", "is required"}}},
		{"create without a step's run", false, map[string]any{"from": "x", "steps": []any{map[string]any{}}}, []fe{{"REQUIRED", "steps[0].run", "is required"}}},
		{"create without build_spec", false, nil, []fe{{"REQUIRED", "build_spec", "is required"}}},
		{"create with a bad size and port", false, map[string]any{"from": "x", "size": "huge", "previewPort": 0}, []fe{{"INVALID", "previewPort", ""}, {"INVALID", "size", ""}}},
		{"create with an unknown key", false, map[string]any{"from": "x", "form": 1}, []fe{{"UNKNOWN_KEY", "form", ""}}},
		{"create with a string spec", false, "node:22", []fe{{"INVALID", "build_spec", ""}}},
		{"create_build with a number for from", true, map[string]any{"from": 3}, []fe{{"INVALID", "from", ""}}},
		{"create_build with a bad env", true, map[string]any{"from": "x", "env": map[string]any{"A": []any{}}}, []fe{{"INVALID", "env.A", ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := defaults()
			o.NoValidate, o.NoSchema = true, true
			e := setup(t, o)
			path, body := "/api/v1/sandbox-templates", map[string]any{"name": "web"}
			if tt.build {
				path = "/api/v1/sandbox-templates/" + e.create("web", spec("x"))["id"].(string) + "/builds"
				body = map[string]any{}
			}
			if tt.spec != nil {
				body["build_spec"] = tt.spec
			}
			before := e.emu.Counters()
			r := e.req("POST", path, body).must(t, http.StatusUnprocessableEntity)
			var got struct {
				Error  struct{ Code string }
				Errors []map[string]any
			}
			if err := json.Unmarshal(r.body, &got); err != nil {
				t.Fatalf("%v: %s", err, r.body)
			}
			if got.Error.Code != "INVALID_BUILDSPEC" || len(got.Errors) != len(tt.want) {
				t.Fatalf("body %s", r.body)
			}
			for i, w := range tt.want {
				g := got.Errors[i]
				if diff := cmp.Diff([]string{"code", "field", "message"}, keysOf(g)); diff != "" {
					t.Errorf("error keys (-want +got):\n%s", diff)
				}
				msg, _ := g["message"].(string)
				if g["code"] != w.Code || g["field"] != w.Field || msg == "" || (w.Message != "" && msg != w.Message) {
					t.Errorf("errors[%d] = %v, want %+v", i, g, w)
				}
			}
			if c := e.emu.Counters(); c.Writes != before.Writes || c.BuildsCreated != before.BuildsCreated {
				t.Errorf("a rejected request wrote: %+v", c)
			}
		})
	}
}

func TestCollisionForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		legacy bool
		want   map[string][]string
	}{
		{false, map[string][]string{"slug": {"a template with this name already exists"}}},
		{true, map[string][]string{"tenant_id": {"has already been taken"}}},
	}
	for _, tt := range tests {
		t.Run("legacy "+strconv.FormatBool(tt.legacy), func(t *testing.T) {
			t.Parallel()
			o := defaults()
			o.LegacyCollision = tt.legacy
			e := setup(t, o)
			e.create("web", spec("node:22"))
			e.create("web", spec("node:24")) // a draft is replaced in place, never a collision
			e.clock.Advance(time.Minute)
			r := e.req("POST", "/api/v1/sandbox-templates", map[string]any{"name": "web", "build_spec": spec("node:26")}).
				must(t, http.StatusUnprocessableEntity)
			var got struct {
				Error  struct{ Code string }
				Errors map[string][]string
			}
			if err := json.Unmarshal(r.body, &got); err != nil {
				t.Fatal(err)
			}
			if got.Error.Code != "VALIDATION_FAILED" || !cmp.Equal(tt.want, got.Errors) {
				t.Errorf("collision body %s", r.body)
			}
			if c := e.emu.Counters(); c.TemplatesCreated != 1 || c.TemplatesUpserted != 1 || c.BuildsCreated != 2 {
				t.Errorf("counters %+v", c)
			}
		})
	}
}

func TestBuildStepFailed(t *testing.T) {
	t.Parallel()
	three := map[string]any{"from": "node:22", "steps": []any{
		map[string]any{"run": "apt-get install -y curl"}, map[string]any{"run": "pip install uv"}, map[string]any{"run": "npm ci"}}}
	tests := []struct {
		name    string
		outcome emulator.Outcome
		spec    map[string]any
		want    string
	}{
		{"last step by default", emulator.Outcome{}, three, "step 3 `npm ci` exited 1: ENOENT package-lock.json"},
		{"first step", emulator.Outcome{FailStep: 1}, three, "step 1 `apt-get install -y curl` exited 1: emulated failure"},
		{"second step", emulator.Outcome{FailStep: 2}, three, "step 2 `pip install uv` exited 1: No matching distribution found"},
		{"past the last step", emulator.Outcome{FailStep: 9}, three, "step 3 `npm ci` exited 1: ENOENT package-lock.json"},
		{"message override", emulator.Outcome{ErrorMessage: "boom"}, three, "boom"},
		{"multi-line run", emulator.Outcome{}, map[string]any{"from": "x", "steps": []any{map[string]any{"run": "npm ci\nnpm test"}}},
			"step 1 `npm ci` exited 1: ENOENT package-lock.json"},
		{"no steps", emulator.Outcome{}, map[string]any{"runtime": "node", "version": "20"}, "image build exited 1: emulated failure"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := defaults()
			tt.outcome.ErrorCode = "BUILD_STEP_FAILED"
			o.Outcomes = map[string]emulator.Outcome{"web": tt.outcome}
			e := setup(t, o)
			id := e.create("web", tt.spec)["id"].(string)
			e.clock.Advance(time.Minute)
			b := e.builds(id)[0]
			if b["state"] != "failed" || b["error_code"] != "BUILD_STEP_FAILED" || b["error_message"] != tt.want {
				t.Errorf("build %v %v %q, want failed BUILD_STEP_FAILED %q", b["state"], b["error_code"], b["error_message"], tt.want)
			}
		})
	}
}

func TestBuildsTemporarilyUnavailable(t *testing.T) {
	t.Parallel()
	const msg = "Template builds are being upgraded. Your template was saved as a draft and will build once this ships."
	for _, first := range []int{0, 1} {
		t.Run("fail first "+strconv.Itoa(first), func(t *testing.T) {
			t.Parallel()
			o := defaults()
			o.Outcomes = map[string]emulator.Outcome{"web": {ErrorCode: "BUILDS_TEMPORARILY_UNAVAILABLE", FailFirst: first}}
			e := setup(t, o)
			created := e.create("web", spec("node:22"))
			id := created["id"].(string)
			if created["status"] != "draft" || created["current_build_id"] != nil {
				t.Errorf("create answer status %v current %v, want draft and null", created["status"], created["current_build_id"])
			}
			// Failed at once: no clock advance.
			b := e.builds(id)[0]
			var events []string
			for _, ev := range b["metadata"].(map[string]any)["events"].([]any) {
				events = append(events, ev.(map[string]any)["event"].(string))
			}
			if b["state"] != "failed" || b["error_code"] != "BUILDS_TEMPORARILY_UNAVAILABLE" || b["error_message"] != msg ||
				b["started_at"] != nil || b["finished_at"] == nil || b["duration_ms"] != float64(0) || !cmp.Equal([]string{"queued", "failed"}, events) {
				t.Errorf("build %v", b)
			}
			tmpl := e.req("GET", "/api/v1/sandbox-templates/"+id, nil).must(t, http.StatusOK).obj(t)
			if tmpl["status"] != "draft" || tmpl["current_build_id"] != b["id"] || tmpl["image_id"] != nil {
				t.Errorf("template status %v current %v image %v; want draft, the failed build, null", tmpl["status"], tmpl["current_build_id"], tmpl["image_id"])
			}
			// A later build is possible.
			next := e.req("POST", "/api/v1/sandbox-templates/"+id+"/builds", map[string]any{}).must(t, http.StatusCreated).data(t)
			e.clock.Advance(time.Minute)
			got := e.req("GET", "/api/v1/sandbox-template-builds/"+next["id"].(string), nil).must(t, http.StatusOK).data(t)
			tmpl = e.req("GET", "/api/v1/sandbox-templates/"+id, nil).must(t, http.StatusOK).obj(t)
			wantState, wantStatus := "ready", "ready"
			if first == 0 {
				wantState, wantStatus = "failed", "draft"
			}
			if got["state"] != wantState || tmpl["status"] != wantStatus || tmpl["current_build_id"] != next["id"] {
				t.Errorf("later build %v, template %v current %v; want %s, %s, %v", got["state"], tmpl["status"], tmpl["current_build_id"], wantState, wantStatus, next["id"])
			}
		})
	}
}

func TestFailFirst(t *testing.T) {
	t.Parallel()
	tests := []struct {
		first int
		want  []string // states of builds 1..4
	}{
		{0, []string{"failed", "failed", "failed", "failed"}},
		{1, []string{"failed", "ready", "ready", "ready"}},
		{3, []string{"failed", "failed", "failed", "ready"}},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.first), func(t *testing.T) {
			t.Parallel()
			o := defaults()
			o.Outcomes = map[string]emulator.Outcome{"web": {ErrorCode: "REGISTRY_TIMEOUT", FailFirst: tt.first}}
			e := setup(t, o)
			id := e.create("web", spec("node:22"))["id"].(string)
			for i := range 3 {
				if i == 1 {
					e.emu.ResetCounters() // does not restart the count of builds
				}
				e.req("POST", "/api/v1/sandbox-templates/"+id+"/builds", map[string]any{}).must(t, http.StatusCreated)
			}
			e.clock.Advance(time.Minute)
			var got []string
			for _, b := range e.emu.State().Builds {
				got = append(got, b.State)
				if (b.State == "failed") != (b.ErrorCode == "REGISTRY_TIMEOUT") {
					t.Errorf("build %+v", b)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("states (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("flag", func(t *testing.T) {
		t.Parallel()
		o, _, err := emulator.ParseFlags([]string{"--fail-template", "web=REGISTRY_TIMEOUT:1", "--build-duration", "0s"})
		if err != nil {
			t.Fatal(err)
		}
		e := setup(t, o)
		id := e.create("web", spec("node:22"))["id"].(string)
		e.req("POST", "/api/v1/sandbox-templates/"+id+"/builds", map[string]any{}).must(t, http.StatusCreated)
		builds := e.builds(id)
		if builds[1]["state"] != "failed" || builds[0]["state"] != "ready" {
			t.Errorf("states %v then %v, want failed then ready", builds[1]["state"], builds[0]["state"])
		}
	})
}

// fetch GETs a URL with optional header pairs.
func (e *env) fetch(url string, headers ...string) (*http.Response, string) {
	e.t.Helper()
	r, err := http.NewRequest("GET", url, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	res, err := e.client.Do(r)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return res, string(b)
}

func TestLogURLs(t *testing.T) {
	t.Parallel()
	t.Run("off", func(t *testing.T) {
		t.Parallel()
		e := setup(t, defaults())
		id := e.create("web", spec("node:22"))["id"].(string)
		if b := e.builds(id)[0]; b["log_url"] != nil {
			t.Errorf("log_url %v, want null by default", b["log_url"])
		}
	})
	o := defaults()
	o.LogURLs = true
	o.Outcomes = map[string]emulator.Outcome{"bad": {ErrorCode: "BUILD_STEP_FAILED", FailStep: 2}}
	e := setup(t, o)
	twoSteps := map[string]any{"from": "node:22", "steps": []any{map[string]any{"run": "npm i -g pnpm"}, map[string]any{"run": "npm ci"}, map[string]any{"run": "npm test"}}}
	id := e.create("web", twoSteps)["id"].(string)
	bad := e.create("bad", twoSteps)["id"].(string)
	b := e.builds(id)[0]
	logURL, _ := b["log_url"].(string)
	if logURL != e.srv.URL+"/__emulator/logs/"+b["id"].(string) {
		t.Fatalf("log_url %q", logURL)
	}
	res, early := e.fetch(logURL)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") ||
		!strings.Contains(early, "queued") || strings.Contains(early, "step 1") {
		t.Errorf("log of a queued build: %d %q %q", res.StatusCode, res.Header.Get("Content-Type"), early)
	}
	e.clock.Advance(time.Minute)
	_, full := e.fetch(logURL)
	lines := strings.Split(strings.TrimSuffix(full, "\n"), "\n")
	if len(lines) < 20 || !strings.Contains(full, "step 1/3: npm i -g pnpm") || !strings.Contains(full, "step 3/3: npm test") ||
		!strings.Contains(lines[len(lines)-1], "ready: image "+e.builds(id)[0]["image_id"].(string)) {
		t.Errorf("%d lines:\n%s", len(lines), full)
	}
	_, failed := e.fetch(e.builds(bad)[0]["log_url"].(string))
	fl := strings.Split(strings.TrimSuffix(failed, "\n"), "\n")
	if last := fl[len(fl)-1]; !strings.HasSuffix(last, "error BUILD_STEP_FAILED: step 2 `npm ci` exited 1: ENOENT package-lock.json") ||
		strings.Contains(failed, "step 3/3") || strings.Contains(failed, "certifying") {
		t.Errorf("failed log:\n%s", failed)
	}

	tests := []struct {
		name, rng string
		status    int
		body      string
	}{
		{"suffix range", "bytes=-40", http.StatusPartialContent, full[len(full)-40:]},
		{"suffix longer than the log", "bytes=-100000", http.StatusPartialContent, full},
		{"first bytes", "bytes=0-9", http.StatusPartialContent, full[:10]},
		{"no range", "", http.StatusOK, full},
	}
	for _, tt := range tests {
		var res *http.Response
		var body string
		if tt.rng == "" {
			res, body = e.fetch(logURL)
		} else {
			res, body = e.fetch(logURL, "Range", tt.rng)
		}
		if res.StatusCode != tt.status || body != tt.body {
			t.Errorf("%s: %d %q, want %d %q", tt.name, res.StatusCode, body, tt.status, tt.body)
		}
		if tt.status == http.StatusPartialContent && !strings.HasSuffix(res.Header.Get("Content-Range"), "/"+strconv.Itoa(len(full))) {
			t.Errorf("%s: Content-Range %q", tt.name, res.Header.Get("Content-Range"))
		}
	}
	if res, _ := e.fetch(e.srv.URL + "/__emulator/logs/nope"); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown build: %d", res.StatusCode)
	}
	if res, old := e.fetch(e.srv.URL + "/__emulator/builds/" + b["id"].(string) + "/log"); res.StatusCode != 200 || old != full {
		t.Errorf("older address: %d", res.StatusCode)
	}
	if c := e.emu.Counters(); c.Requests["log"] != 3+len(tests)+2 {
		t.Errorf("log requests %d, want %d", c.Requests["log"], 3+len(tests)+2)
	}
}

func TestRateLimitHeaders(t *testing.T) {
	t.Parallel()
	type hdr struct{ status, limit, remaining, reset, retry string }
	get := func(e *env) hdr {
		r := e.req("GET", "/api/v1/sandbox-templates", nil)
		h := r.header
		return hdr{strconv.Itoa(r.status), h.Get("X-RateLimit-Limit"), h.Get("X-RateLimit-Remaining"), h.Get("X-RateLimit-Reset"), h.Get("Retry-After")}
	}
	tests := []struct {
		name string
		args []string
		// each step: advance before the request, then the want
		steps []struct {
			advance time.Duration
			want    hdr
		}
	}{
		{"per second with headers", []string{"--rate-limit", "0.5", "--rate-burst", "2", "--rate-limit-headers"}, []struct {
			advance time.Duration
			want    hdr
		}{
			{0, hdr{"200", "2", "1", "2", ""}},
			{0, hdr{"200", "2", "0", "4", ""}},
			{0, hdr{"429", "2", "0", "4", "2"}},
			{2 * time.Second, hdr{"200", "2", "0", "4", ""}},
			{time.Minute, hdr{"200", "2", "1", "2", ""}},
		}},
		{"per minute with headers", []string{"--rate-limit", "3/m", "--rate-limit-headers"}, []struct {
			advance time.Duration
			want    hdr
		}{
			{0, hdr{"200", "3", "2", "20", ""}},
			{0, hdr{"200", "3", "1", "40", ""}},
			{0, hdr{"200", "3", "0", "60", ""}},
			{0, hdr{"429", "3", "0", "60", "20"}},
			{20 * time.Second, hdr{"200", "3", "0", "60", ""}},
		}},
		{"limit without headers", []string{"--rate-limit", "1/s"}, []struct {
			advance time.Duration
			want    hdr
		}{
			{0, hdr{"200", "", "", "", ""}},
			{0, hdr{"429", "", "", "", "1"}},
		}},
		{"headers without a limit", []string{"--rate-limit-headers"}, []struct {
			advance time.Duration
			want    hdr
		}{
			{0, hdr{"200", "", "", "", ""}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o, _, err := emulator.ParseFlags(tt.args)
			if err != nil {
				t.Fatal(err)
			}
			e := setup(t, o)
			for i, s := range tt.steps {
				e.clock.Advance(s.advance)
				if got := get(e); got != s.want {
					t.Errorf("request %d: %+v, want %+v", i+1, got, s.want)
				}
			}
		})
	}
	t.Run("401 is not counted", func(t *testing.T) {
		t.Parallel()
		o := defaults()
		o.RateLimit, o.RateLimitHeaders = 1, true
		e := setup(t, o)
		r := e.req("GET", "/api/v1/sandbox-templates", nil, "Authorization", "")
		if r.status != 401 || r.header.Get("X-RateLimit-Limit") != "" {
			t.Errorf("401: %d %v", r.status, r.header)
		}
		if got := get(e); got.status != "200" || got.remaining != "0" {
			t.Errorf("after a 401: %+v", got)
		}
	})
}

func TestResetCounters(t *testing.T) {
	t.Parallel()
	o := defaults()
	o.LogURLs = true
	e := setup(t, o)
	id := e.create("web", spec("node:22"))["id"].(string)
	b := e.builds(id)[0]
	e.req("GET", "/api/v1/sandbox-template-builds/"+b["id"].(string), nil).must(t, http.StatusOK)
	e.fetch(b["log_url"].(string))
	old := e.emu.ResetCounters()
	want := map[string]int{"create": 1, "list_builds": 1, "get_build": 1, "log": 1}
	if diff := cmp.Diff(want, old.Requests); diff != "" || old.TemplatesCreated != 1 || old.BuildsByTemplate["web"] != 1 {
		t.Errorf("counters before the reset (-want +got):\n%s%+v", diff, old)
	}
	if c := e.emu.Counters(); len(c.Requests) != 0 || c.TemplatesCreated != 0 || c.BuildsCreated != 0 {
		t.Errorf("after the reset %+v", c)
	}
	// State stays: the template is still there and builds.
	e.req("POST", "/api/v1/sandbox-templates/"+id+"/builds", map[string]any{}).must(t, http.StatusCreated)
	res, err := e.client.Post(e.srv.URL+"/__emulator/counters/reset", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var phase emulator.Counters
	if err := json.NewDecoder(res.Body).Decode(&phase); err != nil || res.StatusCode != 200 {
		t.Fatalf("%d %v", res.StatusCode, err)
	}
	if phase.Requests["create_build"] != 1 || phase.BuildsByTemplate["web"] != 1 || len(phase.Requests) != 1 {
		t.Errorf("second phase %+v", phase)
	}
	if c := e.emu.Counters(); len(c.Requests) != 0 || len(e.emu.State().Builds) != 2 {
		t.Errorf("after the HTTP reset: %+v, %d builds", c, len(e.emu.State().Builds))
	}
}
