package e2e

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
	goldenfile "github.com/miosa-dev/sandbox-templates-action/internal/golden"
	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
)

// The live contract test (issue 15) checks the contract against a real
// Miosa account: go test ./e2e -run Live -timeout 60m, with MIOSA_LIVE=1
// and MIOSA_API_KEY set. TestLiveScenarioOnEmulator runs the same scenario
// against the emulator in every go test run, so the scenario cannot rot.

// liveShapes is the fixture of response shapes that a live run writes and
// the emulator's answers are diffed against.
const liveShapes = "../testdata/live/shapes.json"

// livePrefix starts the name of every template the live test makes; it
// deletes nothing else.
const livePrefix = "sta-live-"

// buildsUnavailable is the fleet-wide condition in which every build fails
// at once while the template stays a draft.
const buildsUnavailable = "BUILDS_TEMPORARILY_UNAVAILABLE"

func TestLive(t *testing.T) {
	key := os.Getenv("MIOSA_API_KEY")
	if os.Getenv("MIOSA_LIVE") != "1" || key == "" {
		t.Skip("live contract test: set MIOSA_LIVE=1 and MIOSA_API_KEY=msk_... (and MIOSA_API_URL for a server other than " +
			miosa.DefaultBaseURL + ") and run go test ./e2e -run Live -timeout 60m; it makes one template " + livePrefix +
			"<random>, at most three builds of it, and deletes it")
	}
	apiURL := cmp.Or(os.Getenv("MIOSA_API_URL"), miosa.DefaultBaseURL)
	u, err := url.Parse(apiURL)
	if err != nil {
		t.Fatalf("MIOSA_API_URL: %v", err)
	}
	res := liveScenario(t, liveTarget{url: apiURL, key: key, name: liveName(t), poll: 5 * time.Second, buildTimeout: 20 * time.Minute})
	writeShapes(t, shapeFixture{Source: u.Host, Conditions: res.conditions, Shapes: res.shapes})
	t.Logf("wrote %s; git diff shows how this server's answers differ from the committed record", liveShapes)
}

// The live scenario against the emulator, for both outcomes of the first
// build. The ready run's shapes must match the committed fixture.
func TestLiveScenarioOnEmulator(t *testing.T) {
	t.Parallel()
	for _, outcome := range []string{"ready", buildsUnavailable} {
		t.Run(outcome, func(t *testing.T) {
			t.Parallel()
			name := liveName(t)
			e := startEmulator(t, func(o *emulator.Options) {
				o.BuildDuration = 300 * time.Millisecond
				if outcome != "ready" {
					o.Outcomes = map[string]emulator.Outcome{name: {ErrorCode: outcome}}
				}
			})
			key := "msk_live_" + randomHex(t, 10)
			res := liveScenario(t, liveTarget{url: e.URL, key: key, name: name, poll: 50 * time.Millisecond, buildTimeout: 10 * time.Second})
			c := e.Counters()
			if c.TemplatesCreated != 1 || c.TemplatesDeleted != 1 || c.Requests["delete"] != 1 {
				t.Errorf("emulator counted %d created, %d deleted, %d delete requests; want 1 each", c.TemplatesCreated, c.TemplatesDeleted, c.Requests["delete"])
			}
			if outcome != "ready" {
				if !slices.Contains(res.conditions, buildsUnavailable) {
					t.Errorf("conditions %v, want %s recorded", res.conditions, buildsUnavailable)
				}
				return
			}
			got := shapeFixture{Source: "emulator", Conditions: res.conditions, Shapes: res.shapes}
			if goldenfile.Update() {
				writeShapes(t, got)
				t.Logf("golden: rewrote %s", liveShapes)
				return
			}
			want := readShapes(t)
			if diff := gocmp.Diff(want.Shapes, got.Shapes); diff != "" {
				t.Errorf("the emulator's answers differ from %s (recorded from %s) (-fixture +emulator):\n%s\n"+
					"If the fixture came from a live run, make the emulator answer like the server; if it came from the emulator, refresh it with -update.",
					liveShapes, want.Source, diff)
			}
		})
	}
}

// liveTarget is the server a scenario runs against.
type liveTarget struct {
	url, key     string
	name         string // the template to make, livePrefix + random
	poll         time.Duration
	buildTimeout time.Duration
}

// liveResult is what a scenario recorded.
type liveResult struct {
	shapes     map[string][]string
	conditions []string // known server conditions met, such as buildsUnavailable
}

// live is one run of the scenario.
type live struct {
	t      *testing.T
	tgt    liveTarget
	proxy  string        // API base URL of the recording proxy
	client *miosa.Client // through the proxy
	dir    string        // the repository the action reads
	id     string        // the template's id, once made
	res    liveResult
}

// liveScenario runs the live contract against tgt: doctor; a create by the
// action and exactly one build; a re-run at the same commit (no new build
// when the first is ready, exactly one when it failed); a changed spec at a
// new commit and exactly one new build; the delete of the template. Every
// answer passes a recording proxy that keeps the keys of its body.
func liveScenario(t *testing.T, tgt liveTarget) liveResult {
	t.Helper()
	if !strings.HasPrefix(tgt.name, livePrefix) {
		t.Fatalf("template name %q does not start with %q", tgt.name, livePrefix)
	}
	rec := &shapeRecorder{shapes: map[string]map[string]bool{}}
	l := &live{t: t, tgt: tgt, proxy: rec.start(t, tgt.url), dir: t.TempDir()}
	c, err := miosa.New(miosa.Options{BaseURL: l.proxy, APIKey: tgt.key, UserAgent: "sandbox-templates-action/live-test"})
	if err != nil {
		t.Fatal(err)
	}
	l.client = c
	t.Cleanup(l.cleanup) // after a failure too; the proxy closes after it

	l.doctor()
	l.readOnlyCalls()

	commit1 := randomHex(t, 20)
	l.writeSpec("echo sandbox-templates-action live test, first spec")
	l.apply(commit1)
	builds := l.builds(1, "after the create")
	first := l.wait(builds[0].ID)

	l.apply(commit1)
	want := 1
	if first.State != miosa.StateReady {
		want = 2 // a failed build is rebuilt once
	}
	builds = l.builds(want, "after a re-run at the same commit with the first build "+first.State)
	if want == 2 {
		l.wait(builds[0].ID)
	}

	l.writeSpec("echo sandbox-templates-action live test, second spec")
	l.apply(randomHex(t, 20))
	builds = l.builds(want+1, "after a changed spec at a new commit")
	changed := l.wait(builds[0].ID)
	if spec, _ := json.Marshal(changed.BuildSpec); !strings.Contains(string(spec), "second spec") {
		t.Errorf("the newest build's spec %s is not the changed one", spec)
	}

	l.delete()
	l.res.shapes = rec.result()
	l.noLeak("the recorded shapes", fmt.Sprint(l.res.shapes))
	return l.res
}

// doctor runs the doctor command against the server itself and requires that
// the action can work there.
func (l *live) doctor() {
	out, code := l.run(l.tgt.url, "doctor", "--json")
	var r struct {
		OK     bool `json:"ok"`
		Checks []struct {
			Name, Status, Message, Hint string
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		l.t.Fatalf("doctor --json: %v\n%s", err, out)
	}
	for _, c := range r.Checks {
		l.t.Logf("doctor: %-5s %-10s %s", c.Status, c.Name, strings.TrimSuffix(c.Message+"; "+c.Hint, "; "))
	}
	if code != 0 || !r.OK {
		l.t.Fatalf("doctor says the action cannot work here (exit %d)", code)
	}
}

// readOnlyCalls asks the endpoints the action reads but the scenario's
// writes do not reach, so that their shapes are recorded too.
func (l *live) readOnlyCalls() {
	ctx := context.Background()
	if _, err := l.client.ListTemplates(ctx, true); err != nil {
		l.t.Fatalf("list with aliases: %v", err)
	}
	if _, err := l.client.BuildSpecSchema(ctx); err != nil && !miosa.IsNotFound(err) {
		l.t.Errorf("build-spec schema: %v", err)
	}
	if _, err := l.client.Validate(ctx, map[string]any{"from": "alpine:3.20"}); err != nil && !miosa.IsNotFound(err) {
		l.t.Errorf("validate: %v", err)
	}
	if _, err := l.client.Validate(ctx, map[string]any{"size": "huge"}); err != nil && !miosa.IsNotFound(err) {
		l.t.Errorf("validate an invalid spec: %v", err)
	}
}

// writeSpec writes the one template file, with a tiny spec.
func (l *live) writeSpec(step string) {
	body := fmt.Sprintf("name: %s\ndescription: throwaway template of the sandbox-templates-action live contract test\n"+
		"build_spec:\n  from: alpine:3.20\n  steps:\n    - run: %s\n", l.tgt.name, step)
	p := filepath.Join(l.dir, "sandbox-templates", l.tgt.name+".yaml")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		l.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		l.t.Fatal(err)
	}
}

// apply runs the action's binary at commit, through the proxy, and learns
// the template's id.
func (l *live) apply(commit string) {
	out, code := l.run(l.proxy, "apply", "--dir", l.dir, "--commit-sha", commit, "--repository", "miosa-dev/sandbox-templates-action-live-test",
		"--json", "--timeout", "10m")
	var r struct {
		Status      string            `json:"status"`
		TemplateIDs map[string]string `json:"template_ids"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != 0 {
		l.t.Fatalf("apply at %s: exit %d, %v\n%s", commit, code, err, out)
	}
	id := r.TemplateIDs[l.tgt.name]
	if id == "" || (l.id != "" && id != l.id) {
		l.t.Fatalf("apply at %s: template id %q (before: %q)", commit, id, l.id)
	}
	l.id = id
}

// run runs the binary with the key and url, and returns its stdout.
func (l *live) run(apiURL string, args ...string) (string, int) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = []string{"MIOSA_API_KEY=" + l.tgt.key, "MIOSA_API_URL=" + apiURL, "PATH=" + os.Getenv("PATH"), "HOME=" + l.t.TempDir()}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		l.t.Fatalf("run %s: %v", args[0], err)
	}
	l.noLeak(args[0]+" output", stdout.String()+stderr.String())
	if stderr.Len() > 0 {
		l.t.Logf("%s stderr:\n%s", args[0], stderr.String())
	}
	return stdout.String(), code
}

// builds lists the template's builds, newest first, and requires n of them.
func (l *live) builds(n int, when string) []miosa.Build {
	bs, err := l.client.ListBuilds(context.Background(), l.id)
	if err != nil {
		l.t.Fatalf("list builds %s: %v", when, err)
	}
	if len(bs) != n {
		var states []string
		for _, b := range bs {
			states = append(states, b.ID+" "+b.State)
		}
		l.t.Fatalf("%d builds %s, want %d: %v", len(bs), when, n, states)
	}
	return bs
}

// wait polls a build until it ends. A build failed with buildsUnavailable
// is a known server condition and is recorded; another failure is an error
// of the contract (the spec is tiny).
func (l *live) wait(id string) *miosa.Build {
	deadline := time.Now().Add(l.tgt.buildTimeout)
	for {
		b, err := l.client.GetBuild(context.Background(), id)
		if err != nil {
			l.t.Fatalf("get build %s: %v", id, err)
		}
		if b.Terminal() {
			switch {
			case b.State == miosa.StateReady:
			case b.ErrorCode == buildsUnavailable:
				l.t.Logf("build %s failed with %s, a known server condition: %s", id, b.ErrorCode, b.ErrorMessage)
				if !slices.Contains(l.res.conditions, buildsUnavailable) {
					l.res.conditions = append(l.res.conditions, buildsUnavailable)
				}
			default:
				l.t.Errorf("build %s ended %s: %s %s (log %s)", id, b.State, b.ErrorCode, b.ErrorMessage, b.LogURL)
			}
			return b
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("build %s still %s after %s", id, b.State, l.tgt.buildTimeout)
		}
		time.Sleep(l.tgt.poll)
	}
}

// delete deletes the template the scenario made, by the id the action
// reported, and checks that it is gone. It is the project's only delete.
func (l *live) delete() {
	if err := l.deleteTemplate(l.id); err != nil {
		l.t.Fatalf("delete %s: %v", l.tgt.name, err)
	}
	if _, err := l.client.GetTemplate(context.Background(), l.id); !miosa.IsNotFound(err) {
		l.t.Errorf("get after delete: %v, want not found", err)
	}
	l.id = ""
}

// deleteTemplate deletes id, waiting while the server answers 409 (a build
// is still active).
func (l *live) deleteTemplate(id string) error {
	deadline := time.Now().Add(l.tgt.buildTimeout)
	for {
		err := l.client.DeleteTemplate(context.Background(), id)
		if !miosa.IsConflict(err) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(l.tgt.poll)
	}
}

// cleanup deletes what a failed run left: only templates with the
// generated name, found in a fresh list.
func (l *live) cleanup() {
	rows, err := l.client.ListTemplates(context.Background(), false)
	if err != nil {
		l.t.Errorf("cleanup: list: %v; delete the template %s by hand", err, l.tgt.name)
		return
	}
	for _, r := range rows {
		if r.BuiltIn || r.Name != l.tgt.name || !strings.HasPrefix(r.Name, livePrefix) {
			continue
		}
		if err := l.deleteTemplate(r.ID); err != nil && !miosa.IsNotFound(err) {
			l.t.Errorf("cleanup: delete %s (%s): %v; delete it by hand", r.Name, r.ID, err)
			continue
		}
		l.t.Logf("cleanup: deleted %s (%s), which the run left", r.Name, r.ID)
	}
}

// noLeak fails the test when s holds the key or 8 characters of it.
func (l *live) noLeak(what, s string) {
	for i := 0; i+8 <= len(l.tgt.key); i++ {
		if strings.Contains(s, l.tgt.key[i:i+8]) {
			l.t.Fatalf("%s holds a part of the key", what)
		}
	}
}

func liveName(t *testing.T) string { return livePrefix + randomHex(t, 4) }

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// shapeRecorder is a reverse proxy in front of the API that records the
// keys of every answer's body, by endpoint and status. Rate limiting (429)
// and server errors (5xx) are not recorded: they come and go.
type shapeRecorder struct {
	prefix string // the API's base path, e.g. /api/v1
	mu     sync.Mutex
	shapes map[string]map[string]bool // "create 201" -> key paths
}

// start serves the proxy and returns its API base URL.
func (rec *shapeRecorder) start(t *testing.T, apiURL string) string {
	target, err := url.Parse(strings.TrimRight(apiURL, "/"))
	if err != nil {
		t.Fatal(err)
	}
	rec.prefix = target.Path
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host, pr.Out.Host = target.Scheme, target.Host, target.Host
			pr.Out.Header.Del("Accept-Encoding") // bodies arrive readable
		},
		ModifyResponse: rec.record,
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return srv.URL + target.Path
}

func (rec *shapeRecorder) record(res *http.Response) error {
	body, err := io.ReadAll(io.LimitReader(res.Body, miosa.MaxBodySize+1))
	res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil || res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500 {
		return nil
	}
	name := fmt.Sprintf("%s %d", endpointOf(res.Request.Method, strings.TrimPrefix(res.Request.URL.Path, rec.prefix)), res.StatusCode)
	paths := map[string]bool{}
	var v any
	switch {
	case len(bytes.TrimSpace(body)) == 0:
		paths["(no body)"] = true
	case json.Unmarshal(body, &v) != nil:
		paths["(not JSON)"] = true
	default:
		keyPaths(v, "", paths)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.shapes[name] == nil {
		rec.shapes[name] = map[string]bool{}
	}
	for p := range paths {
		rec.shapes[name][p] = true
	}
	return nil
}

func (rec *shapeRecorder) result() map[string][]string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	out := map[string][]string{}
	for name, paths := range rec.shapes {
		for p := range paths {
			out[name] = append(out[name], p)
		}
		slices.Sort(out[name])
	}
	return out
}

// endpointOf names a request as the emulator's counters do.
func endpointOf(method, path string) string {
	seg := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(seg) == 1 && seg[0] == "sandbox-templates":
		return map[string]string{"GET": "list", "POST": "create"}[method]
	case len(seg) == 2 && seg[0] == "sandbox-templates" && seg[1] == "build-spec" && method == "GET":
		return "schema"
	case len(seg) == 2 && seg[0] == "sandbox-templates" && seg[1] == "validate" && method == "POST":
		return "validate"
	case len(seg) == 2 && seg[0] == "sandbox-templates":
		return map[string]string{"GET": "get", "DELETE": "delete"}[method]
	case len(seg) == 3 && seg[0] == "sandbox-templates" && seg[2] == "builds":
		return map[string]string{"GET": "list_builds", "POST": "create_build"}[method]
	case len(seg) == 2 && seg[0] == "sandbox-template-builds" && method == "GET":
		return "get_build"
	}
	return method + " other"
}

// openMaps are objects whose keys are data rather than field names; only
// the keys the server or this tool define are recorded, the others as "*".
var openMaps = map[string][]string{
	"env":      nil,
	"metadata": {"events", "managed_by", "commit_sha", "commit_time", "spec_digest", "repository"},
}

// keyPaths adds the key paths of v under prefix: "data.build_spec.from",
// "data[].id" for the elements of an array (the union of their keys), and
// "[]" for a bare array.
func keyPaths(v any, prefix string, out map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		known, open := openMaps[prefix[strings.LastIndexAny(prefix, ".]")+1:]]
		for k, child := range x {
			if open && !slices.Contains(known, k) {
				k = "*"
			}
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			out[p] = true
			if k != "*" {
				keyPaths(child, p, out)
			}
		}
	case []any:
		p := prefix + "[]"
		out[p] = true
		for _, el := range x {
			keyPaths(el, p, out)
		}
	}
}

// shapeFixture is the file liveShapes.
type shapeFixture struct {
	Comment    string              `json:"comment"`
	Source     string              `json:"source"`     // the API host of the run that wrote it, or "emulator"
	Conditions []string            `json:"conditions"` // known server conditions that run met
	Shapes     map[string][]string `json:"shapes"`     // "endpoint status" -> key paths of the body
}

func writeShapes(t *testing.T, f shapeFixture) {
	t.Helper()
	f.Comment = "Keys (never values) of each answer body the live contract test saw, by endpoint and status. " +
		"Written by go test ./e2e -run Live with MIOSA_LIVE=1; TestLiveScenarioOnEmulator diffs the emulator's answers against it."
	if f.Conditions == nil {
		f.Conditions = []string{}
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(liveShapes), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(liveShapes, append(data, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readShapes(t *testing.T) shapeFixture {
	t.Helper()
	data, err := os.ReadFile(liveShapes)
	if err != nil {
		t.Fatalf("%v (run go test ./e2e -run LiveScenarioOnEmulator -update to create it)", err)
	}
	var f shapeFixture
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("%s: %v", liveShapes, err)
	}
	return f
}
