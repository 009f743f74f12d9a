package run

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
)

// lines records what a run reports.
type lines struct {
	mu                   sync.Mutex
	info, warns, notices []string
}

func (l *lines) Info(m string)   { l.mu.Lock(); l.info = append(l.info, m); l.mu.Unlock() }
func (l *lines) Warn(m string)   { l.mu.Lock(); l.warns = append(l.warns, m); l.mu.Unlock() }
func (l *lines) Notice(m string) { l.mu.Lock(); l.notices = append(l.notices, m); l.mu.Unlock() }
func (l *lines) Plan(plan.Plan)  {}
func (l *lines) Mask(string)     {}

func count(msgs []string, sub string) int {
	n := 0
	for _, m := range msgs {
		if strings.Contains(m, sub) {
			n++
		}
	}
	return n
}

// server serves the emulator behind overrides: pattern -> status and body.
func server(t *testing.T, emu *emulator.Server, overrides map[string]func(w http.ResponseWriter, r *http.Request)) string {
	t.Helper()
	mux := http.NewServeMux()
	for pattern, h := range overrides {
		mux.HandleFunc(pattern, h)
	}
	mux.Handle("/", emu)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/api/v1"
}

func answer(status int, body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

const notFound = `{"error":{"code":"NOT_FOUND","message":"Not Found"}}`

var threeFiles = map[string]string{
	"sandbox-templates/a.yaml": "build_spec:\n  from: node:22\n  size: small\n",
	"sandbox-templates/b.yaml": "build_spec:\n  from: python:3.12\n  steps:\n    - run: pip install uv\n",
	"sandbox-templates/c.yaml": "description: c\nbuild_spec:\n  from: golang:1.26\n",
}

// Without a validate endpoint the run warns once, plans in full, writes,
// and a later run at a new commit plans every template unchanged.
func TestNoValidateEndpoint(t *testing.T) {
	t.Parallel()
	emu := emulator.New(emulator.NewOptions())
	url := server(t, emu, map[string]func(http.ResponseWriter, *http.Request){
		"POST /api/v1/sandbox-templates/validate": answer(http.StatusNotFound, notFound),
	})
	root := writeFiles(t, threeFiles)
	cfg := Config{Root: root, Mode: ModeApply, APIKey: "msk_test", APIURL: url, Commit: "c1", Repository: "acme/x"}
	var l lines
	res, err := Do(context.Background(), cfg, &l)
	if err != nil || res.Status != StatusSuccess {
		t.Fatalf("apply: %v %s %v", err, res.Status, res.Problems())
	}
	if res.Plan.Count(plan.Create) != 3 || emu.Counters().TemplatesCreated != 3 {
		t.Errorf("plan %q, %d templates created, want 3 creates", res.Plan.Summary(), emu.Counters().TemplatesCreated)
	}
	if n := count(l.warns, "no validate endpoint"); n != 1 {
		t.Errorf("%d warnings about the validate endpoint, want 1: %q", n, l.warns)
	}
	if count(l.info, "the server has no validate endpoint") != 1 {
		t.Errorf("the validation line does not say the endpoint is missing: %q", l.info)
	}
	cfg.Commit = "c2"
	before := emu.Counters()
	res, _ = Do(context.Background(), cfg, quiet{})
	if res.Status != StatusSuccess || res.Plan.Count(plan.Unchanged) != 3 || emu.Counters().Writes != before.Writes {
		t.Errorf("second run: %s, plan %q, %d writes; want 3 unchanged and no write", res.Status, res.Plan.Summary(), emu.Counters().Writes-before.Writes)
	}
}

// Without a schema endpoint the run says once what it checked against, and
// says nothing about the schema before a fatal error.
func TestNoSchemaEndpoint(t *testing.T) {
	t.Parallel()
	emu := emulator.New(emulator.NewOptions())
	url := server(t, emu, map[string]func(http.ResponseWriter, *http.Request){
		"GET /api/v1/sandbox-templates/build-spec": answer(http.StatusNotFound, notFound),
	})
	root := writeFiles(t, threeFiles)
	var l lines
	res, _ := Do(context.Background(), Config{Root: root, Mode: ModePlan, APIKey: "msk_test", APIURL: url, Commit: "c1"}, &l)
	if res.Status != StatusSuccess {
		t.Fatalf("plan: %s %v", res.Status, res.Problems())
	}
	if n := count(l.warns, "no build-spec schema endpoint"); n != 1 {
		t.Errorf("%d schema warnings, want 1: %q", n, l.warns)
	}
	if count(l.info, "against the embedded schema") != 1 || count(l.info, "server's schema") != 0 {
		t.Errorf("validation line does not name the embedded schema: %q", l.info)
	}

	// A bad key: the run fails on it, with no schema warning first.
	bad := server(t, emu, map[string]func(http.ResponseWriter, *http.Request){
		"GET /api/v1/sandbox-templates/build-spec": answer(http.StatusUnauthorized, `{"error":{"code":"UNAUTHORIZED","message":"bad key"}}`),
		"GET /api/v1/sandbox-templates":            answer(http.StatusUnauthorized, `{"error":{"code":"UNAUTHORIZED","message":"bad key"}}`),
	})
	var l2 lines
	res, _ = Do(context.Background(), Config{Root: root, Mode: ModePlan, APIKey: "msk_test", APIURL: bad, Commit: "c1"}, &l2)
	if res.Status != StatusFailed || len(l2.warns) != 0 {
		t.Errorf("bad key: status %s, warnings %q; want failed and no schema warning", res.Status, l2.warns)
	}
}

// A create's 422 answers become positioned diagnostics; the legacy field
// name never shows.
func TestCreateRejectionsArePositioned(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, field, message string
		line                       int
	}{
		{"invalid build spec", `{"error":{"code":"INVALID_BUILDSPEC","message":"invalid build spec"},"errors":[{"code":"REQUIRED","field":"steps[0].run","message":"is required"}]}`,
			"build_spec.steps[0].run", "is required (REQUIRED)", 4},
		{"changeset", `{"error":{"code":"VALIDATION_FAILED","message":"validation failed"},"errors":{"name":["can't be blank"]}}`,
			"name", "rejected by the server: can't be blank", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			emu := emulator.New(emulator.NewOptions())
			url := server(t, emu, map[string]func(http.ResponseWriter, *http.Request){
				"POST /api/v1/sandbox-templates/validate": answer(http.StatusNotFound, notFound),
				"POST /api/v1/sandbox-templates":          answer(http.StatusUnprocessableEntity, tt.body),
			})
			root := writeFiles(t, map[string]string{"sandbox-templates/t.yaml": "build_spec:\n  from: node:22\n  steps:\n    - run: npm ci\n"})
			res, _ := Do(context.Background(), Config{Root: root, Mode: ModeApply, APIKey: "msk_test", APIURL: url, Commit: "c1"}, quiet{})
			if res.Status != StatusFailed {
				t.Fatalf("status %s, want failed", res.Status)
			}
			var got []diag.Diagnostic
			for _, d := range res.Diagnostics {
				if d.Rule == "server" {
					got = append(got, d)
				}
			}
			if len(got) != 1 || got[0].Path != "sandbox-templates/t.yaml" || got[0].Field != tt.field || got[0].Message != tt.message || got[0].Line != tt.line {
				t.Errorf("diagnostics %+v, want one at line %d on %s: %s", got, tt.line, tt.field, tt.message)
			}
			if len(res.Problems()) != 0 {
				t.Errorf("problems %q: the rejection belongs in the diagnostics", res.Problems())
			}
		})
	}
}

// A create that meets a template that now exists (a race) plans it again
// from a fresh read, whichever collision body the server sends.
func TestCreateCollisionReplans(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"modern": `{"error":{"code":"VALIDATION_FAILED","message":"validation failed"},"errors":{"slug":["a template with this name already exists"]}}`,
		"legacy": `{"error":{"code":"VALIDATION_FAILED","message":"validation failed"},"errors":{"tenant_id":["has already been taken"]}}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			opts := emulator.NewOptions()
			opts.BuildDuration = 0
			emu := emulator.New(opts)
			root := writeFiles(t, map[string]string{"sandbox-templates/t.yaml": "build_spec:\n  from: node:22\n"})
			direct := server(t, emu, nil)
			if res, _ := Do(context.Background(), Config{Root: root, Mode: ModeApply, APIKey: "msk_test", APIURL: direct, Commit: "c1"}, quiet{}); res.Status != StatusSuccess {
				t.Fatalf("first apply: %s %v", res.Status, res.Problems())
			}
			// Another run's view: the list predates that create.
			url := server(t, emu, map[string]func(http.ResponseWriter, *http.Request){
				"GET /api/v1/sandbox-templates":  answer(http.StatusOK, `[]`),
				"POST /api/v1/sandbox-templates": answer(http.StatusUnprocessableEntity, body),
			})
			res, _ := Do(context.Background(), Config{Root: root, Mode: ModeApply, APIKey: "msk_test", APIURL: url, Commit: "c2"}, quiet{})
			if res.Status != StatusSuccess || len(res.Builds) != 1 || res.Builds[0].Made {
				t.Fatalf("racing apply: %s %v builds %+v; want success reporting the serving build", res.Status, res.Problems(), res.Builds)
			}
			if it := res.Plan.Items[0]; it.Action != plan.Unchanged {
				t.Errorf("plan item %+v, want unchanged after the fresh read", it)
			}
			for _, p := range append(res.Problems(), res.Warnings...) {
				if strings.Contains(p, "tenant_id") {
					t.Errorf("the legacy field name shows: %q", p)
				}
			}
			if c := emu.Counters(); c.TemplatesCreated != 1 || c.BuildsCreated != 1 {
				t.Errorf("%d templates %d builds, want 1 and 1", c.TemplatesCreated, c.BuildsCreated)
			}
		})
	}
}

// A build that has already failed when a run without wait ends is a
// warning with its code and message, not only a table row.
func TestFailedBuildWithoutWaitWarns(t *testing.T) {
	t.Parallel()
	opts := emulator.NewOptions()
	opts.BuildDuration = 0
	opts.Outcomes = map[string]emulator.Outcome{"t": {ErrorCode: "BUILD_STEP_FAILED", ErrorMessage: "step 1 `npm ci` exited 1: ENOENT package-lock.json"}}
	emu := emulator.New(opts)
	root := writeFiles(t, map[string]string{"sandbox-templates/t.yaml": "build_spec:\n  from: node:22\n  steps:\n    - run: npm ci\n"})
	url := server(t, emu, nil)
	var l lines
	res, _ := Do(context.Background(), Config{Root: root, Mode: ModeApply, APIKey: "msk_test", APIURL: url, Commit: "c1"}, &l)
	// With zero build time the build is terminal when the create's
	// list_builds reads it.
	if res.Status != StatusSuccess || len(res.Builds) != 1 || res.Builds[0].State != "failed" {
		t.Fatalf("status %s %v builds %+v, want success with one failed build", res.Status, res.Problems(), res.Builds)
	}
	if count(l.warns, "BUILD_STEP_FAILED: step 1 `npm ci` exited 1: ENOENT package-lock.json") == 0 {
		t.Errorf("no warning naming the failure: %q", l.warns)
	}
}

// With a key, validate mode lists the templates first: a base URL without
// /api/v1 fails there, with the client's hint, instead of passing as
// "no schema endpoint" and "no validate endpoint" warnings.
func TestValidateModeWrongBaseURLFails(t *testing.T) {
	t.Parallel()
	emu := emulator.New(emulator.NewOptions())
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	root := writeFiles(t, map[string]string{"sandbox-templates/a.yaml": "build_spec:\n  from: node:22\n"})
	rep := &lines{}
	res, err := Do(context.Background(), Config{Root: root, Mode: ModeValidate, APIKey: "msk_test", APIURL: srv.URL}, rep)
	if err != nil {
		t.Fatal(err)
	}
	problems := strings.Join(res.Problems(), "\n")
	if res.Status != StatusFailed || !strings.Contains(problems, "/api/v1") || len(rep.warns) != 0 {
		t.Errorf("status %s, problems %q, warnings %q: want failed, a hint naming /api/v1, no warning", res.Status, problems, rep.warns)
	}
}
