package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
	"github.com/miosa-dev/sandbox-templates-action/internal/github/githubtest"
)

// A user's week with scope auto and the deployment record, against the
// emulator with the real server's defaults (emulator.NewOptions: builds
// take 2 s, a create queues its own build): quick pushes whose runs finish
// out of order, reverts, re-runs of old runs of every event, builds and
// deletes by hand, runs at once, another tool's deployments, a force-push,
// a path change and wait: false. After every run, each deployment of this
// action whose status is success must be true: every template serves the
// file of the deployment's commit (recordHolds); the newest one, when in
// progress, must be true of every template it does not name as pending.

// week is one repository on a fake GitHub (reached through a proxy that can
// hold a request) syncing to one emulator.
type week struct {
	e     *emu
	g     *gitHub
	proxy *ghProxy
	files map[string]map[string]string // commit -> its tree
	shas  []string                     // main's commits, oldest first
}

func newWeek(t *testing.T, files map[string]string) *week {
	t.Helper()
	w := &week{e: startEmulator(t, func(o *emulator.Options) { *o = emulator.NewOptions() }), g: newGitHub(t),
		files: map[string]map[string]string{}}
	w.proxy = newGHProxy(t, w.g.URL())
	w.commit(t, files)
	return w
}

// commit commits files as main's next commit.
func (w *week) commit(t *testing.T, files map[string]string) string {
	t.Helper()
	sha := w.g.commit("main", files)
	w.files[sha] = maps.Clone(files)
	w.shas = append(w.shas, sha)
	return sha
}

// push commits the head's tree with changes (an empty content deletes).
func (w *week) push(t *testing.T, changes map[string]string) string {
	t.Helper()
	files := maps.Clone(w.files[w.head()])
	for p, c := range changes {
		if c == "" {
			delete(files, p)
		} else {
			files[p] = c
		}
	}
	return w.commit(t, files)
}

func (w *week) head() string { return w.shas[len(w.shas)-1] }

// env is the runner's environment of a run of event for commit sha.
func (w *week) env(t *testing.T, event, sha string) map[string]string {
	t.Helper()
	env := w.g.env(t, event, sha, eventPayload(event, sha))
	env["GITHUB_API_URL"] = w.proxy.URL
	return env
}

// start starts a run of event at commit sha, checked out as it is.
func (w *week) start(ctx context.Context, t *testing.T, event, sha string, env, in map[string]string) *process {
	t.Helper()
	all := w.env(t, event, sha)
	maps.Copy(all, env)
	return startAction(ctx, t, newWorkspace(t, w.files[sha]), all, ghInputs(w.e, in))
}

// run runs event at commit sha to its end, wants exit code, and checks
// the record.
func (w *week) run(t *testing.T, code int, what, event, sha string, env, in map[string]string) step {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	before := w.statuses()
	s := w.start(ctx, t, event, sha, env, in).wait(t)
	if s.Code != code {
		t.Fatalf("%s: exit %d, want %d\n%s", what, s.Code, code, s.log())
	}
	w.recordHolds(t, what, before)
	return s
}

// template is a template file's spec, as far as these tests vary it.
type template struct{ From, Run string }

// tpl is a template file of that spec.
func tpl(from, run string) string {
	return fmt.Sprintf("build_spec:\n  from: %s\n  steps:\n    - run: %s\n", from, run)
}

// weekTemplates are a, b and c.
func weekTemplates() map[string]string {
	return map[string]string{"sandbox-templates/a.yaml": tpl("node:22", "echo a"),
		"sandbox-templates/b.yaml": tpl("node:22", "echo b"), "sandbox-templates/c.yaml": tpl("node:22", "echo c")}
}

// wants are the templates a commit's files describe, by name.
func (w *week) wants(t *testing.T, sha string) map[string]template {
	t.Helper()
	out := map[string]template{}
	for p, body := range w.files[sha] {
		if !strings.HasPrefix(p, "sandbox-templates/") || !strings.HasSuffix(p, ".yaml") {
			continue
		}
		var f struct {
			BuildSpec struct {
				From  string `yaml:"from"`
				Steps []struct {
					Run string `yaml:"run"`
				} `yaml:"steps"`
			} `yaml:"build_spec"`
		}
		if err := yaml.Unmarshal([]byte(body), &f); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		tp := template{From: f.BuildSpec.From}
		if len(f.BuildSpec.Steps) > 0 {
			tp.Run = f.BuildSpec.Steps[0].Run
		}
		out[strings.TrimSuffix(path.Base(p), ".yaml")] = tp
	}
	return out
}

// serving is what each of the repository's templates serves now: the spec
// of its current build when the template is ready, by name.
func (w *week) serving() map[string]template {
	st := w.e.State()
	builds := map[string]emulator.BuildState{}
	for _, b := range st.Builds {
		builds[b.ID] = b
	}
	out := map[string]template{}
	for _, tp := range st.Templates {
		b, ok := builds[tp.CurrentBuildID]
		if tp.Status != "ready" || !ok || b.State != "ready" {
			continue
		}
		got := template{}
		got.From, _ = b.BuildSpec["from"].(string)
		if steps, _ := b.BuildSpec["steps"].([]any); len(steps) > 0 {
			if s, ok := steps[0].(map[string]any); ok {
				got.Run, _ = s["run"].(string)
			}
		}
		out[tp.Slug] = got
	}
	return out
}

// ourRecord is what this action writes in a deployment's payload.
type ourRecord struct {
	Tool    string   `json:"tool"`
	Pending []string `json:"pending"`
}

// ours are this action's deployments, oldest first, with their payloads.
func (w *week) ours() ([]githubtest.Deployment, []ourRecord) {
	var deps []githubtest.Deployment
	var recs []ourRecord
	for _, d := range w.g.Deployments() {
		var rec ourRecord
		if json.Unmarshal(d.Payload, &rec) == nil && rec.Tool == "sandbox-templates-action" {
			deps, recs = append(deps, d), append(recs, rec)
		}
	}
	return deps, recs
}

// statuses counts the statuses of every deployment, by id: what recordHolds
// compares with to find the statuses a run wrote.
func (w *week) statuses() map[int64]int {
	out := map[int64]int{}
	for _, d := range w.g.Deployments() {
		out[d.ID] = len(d.Statuses)
	}
	return out
}

// recordHolds fails the test when a deployment of this action says what
// the server does not serve: the newest one, a success while a template
// does not serve its file at the deployment's commit, or in progress while
// a template it does not name as pending does not; or any deployment that
// got the status success since before (statuses) while a template does not
// serve its file.
func (w *week) recordHolds(t *testing.T, when string, before map[int64]int) {
	t.Helper()
	serving := w.serving()
	deps, recs := w.ours()
	for i, d := range deps {
		newest := i == len(deps)-1
		written := len(d.Statuses) > before[d.ID] && d.State() == "success"
		if !written && !(newest && (d.State() == "success" || d.State() == "in_progress")) {
			continue
		}
		for name, want := range w.wants(t, d.SHA) {
			if d.State() == "in_progress" && slices.Contains(recs[i].Pending, name) {
				continue
			}
			if got, ok := serving[name]; !ok || got != want {
				t.Errorf("after %s: deployment %d of %s is %s, but %s serves %+v (served: %v), its file there %+v",
					when, d.ID, d.SHA[:7], d.State(), name, got, ok, want)
			}
		}
	}
}

// servesHead fails the test unless every template serves main's head.
func (w *week) servesHead(t *testing.T, when string) {
	t.Helper()
	serving := w.serving()
	for name, want := range w.wants(t, w.head()) {
		if got := serving[name]; got != want {
			t.Errorf("after %s: %s serves %+v, main's head holds %+v", when, name, got, want)
		}
	}
}

// newest is the newest deployment of this action.
func (w *week) newest(t *testing.T) githubtest.Deployment {
	t.Helper()
	deps, _ := w.ours()
	if len(deps) == 0 {
		t.Fatal("no deployment")
	}
	return deps[len(deps)-1]
}

// settle waits until every build is ready, failed or cancelled.
func (w *week) settle(t *testing.T) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if !slices.ContainsFunc(w.e.State().Builds, func(b emulator.BuildState) bool {
			return !slices.Contains([]string{"ready", "failed", "cancelled"}, b.State)
		}) {
			return
		}
	}
	t.Fatal("builds still running after a minute")
}

// buildsOf counts the builds of the template name with each spec.
func (w *week) buildsOf(name string) map[template]int {
	out := map[template]int{}
	for _, b := range w.e.State().Builds {
		if b.TemplateName != name {
			continue
		}
		var tp template
		tp.From, _ = b.BuildSpec["from"].(string)
		if steps, _ := b.BuildSpec["steps"].([]any); len(steps) > 0 {
			if s, ok := steps[0].(map[string]any); ok {
				tp.Run, _ = s["run"].(string)
			}
		}
		out[tp]++
	}
	return out
}

// noDuplicateBuilds fails the test when a template was built twice with
// one spec, except the specs in again (a revert builds its spec anew).
func (w *week) noDuplicateBuilds(t *testing.T, again ...template) {
	t.Helper()
	for _, name := range []string{"a", "b", "c", "d"} {
		for tp, n := range w.buildsOf(name) {
			if n > 1 && !slices.Contains(again, tp) {
				t.Errorf("%s was built %d times with %+v", name, n, tp)
			}
		}
	}
}

// hold is a request held until opened: armed, the first matching request
// waits after it is handled (emulator) or before it is sent on (GitHub).
type hold struct {
	armed  atomic.Bool
	hit    chan struct{}
	open   chan struct{}
	opened sync.Once
}

func newHold() *hold {
	h := &hold{hit: make(chan struct{}), open: make(chan struct{})}
	h.armed.Store(true)
	return h
}

// take reports whether this request is the one held, and holds it.
func (h *hold) take() {
	if h.armed.CompareAndSwap(true, false) {
		close(h.hit)
		<-h.open
	}
}

// reached waits until the held request arrived.
func (h *hold) reached(t *testing.T, what string) {
	t.Helper()
	select {
	case <-h.hit:
	case <-time.After(time.Minute):
		t.Fatalf("%s never came", what)
	}
}

// release lets the held request go on.
func (h *hold) release() { h.opened.Do(func() { close(h.open) }) }

// holdEmulator holds the first request to endpoint after it is handled.
func (w *week) holdEmulator(t *testing.T, endpoint string) *hold {
	h := newHold()
	t.Cleanup(h.release)
	w.e.Configure(func(o *emulator.Options) {
		o.OnHandled = func(r emulator.RequestRecord) {
			if r.Endpoint == endpoint {
				h.take()
			}
		}
	})
	return h
}

// ghProxy is the fake GitHub seen through a proxy that can hold the first
// deployment write.
type ghProxy struct {
	URL  string
	mu   sync.Mutex
	held *hold
}

func newGHProxy(t *testing.T, target string) *ghProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &ghProxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		h := p.held
		p.mu.Unlock()
		if h != nil && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/deployments") {
			h.take()
		}
		rp.ServeHTTP(rw, r)
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// holdDeploymentCreate holds the next request that creates a deployment.
func (p *ghProxy) holdDeploymentCreate(t *testing.T) *hold {
	h := newHold()
	t.Cleanup(h.release)
	p.mu.Lock()
	p.held = h
	p.mu.Unlock()
	return h
}

// Quick successive pushes whose runs finish out of order: c1 changes a,
// c2 changes b. c1's run writes a and, while a builds, c2's run runs to
// its end (it reads a, which c1's deployment names as pending, finds c1's
// build of the same spec, builds b and records c2). c1's run ends last:
// it judged b from the list before c2 built it, so it must not record
// that c1's files are served. Nothing is built twice, and the next push
// reads only what changed.
func TestWeekPushesFinishOutOfOrder(t *testing.T) {
	t.Parallel()
	w := newWeek(t, weekTemplates())
	w.run(t, 0, "c0", "push", w.head(), nil, waitIn)
	c1 := w.push(t, map[string]string{"sandbox-templates/a.yaml": tpl("node:22", "echo a1")})
	c2 := w.push(t, map[string]string{"sandbox-templates/b.yaml": tpl("node:22", "echo b2")})
	held := w.holdEmulator(t, "create_build")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	before := w.statuses()
	first := w.start(ctx, t, "push", c1, nil, waitIn)
	held.reached(t, "c1's build of a")
	second := w.run(t, 0, "c2, while c1's run waits", "push", c2, nil, waitIn)
	if !strings.Contains(second.Stdout, "Recorded deployment") {
		t.Errorf("c2's run recorded no deployment:\n%s", second.Stdout)
	}
	held.release()
	s := first.wait(t)
	if s.Code != 0 || !strings.Contains(s.Stdout, "marked inactive: another run marked deployment") {
		t.Fatalf("c1: exit %d, want its deployment marked inactive\n%s", s.Code, s.log())
	}
	w.recordHolds(t, "c1's run, ending last", before)
	w.servesHead(t, "both runs")
	w.noDuplicateBuilds(t)
	if d := w.newest(t); d.SHA != c2 || d.State() != "success" {
		t.Errorf("the newest deployment is of %s, %s; want c2's, success", d.SHA[:7], d.State())
	}
	c3 := w.push(t, map[string]string{"README.md": "docs\n"})
	reads := w.e.Counters().Requests["list_builds"]
	next := w.run(t, 0, "c3", "push", c3, nil, waitIn)
	if reads := w.e.Counters().Requests["list_builds"] - reads; reads != 0 || !strings.Contains(next.Stdout, "Scope: the builds of 0 of 3") {
		t.Errorf("c3: %d build reads, want none\n%s", reads, next.Stdout)
	}
}

// A revert pushed while the run of the change is about to write: c1
// changes a, c2 reverts it. c1's run passed its commit-order check (main
// was at c1) and is about to mark its writes when c2 is pushed; c2's run
// finds c0's deployment the newest, judges a from the list (its file is
// c0's again) and waits; c1's run then builds a and records c1. c2's run
// must not record c2 on what it read before c1's writes: a serves c1's
// spec. The next push reads a (changed since c1's deployment) and builds
// the revert.
func TestWeekRevertRacesTheChange(t *testing.T) {
	t.Parallel()
	w := newWeek(t, weekTemplates())
	w.run(t, 0, "c0", "push", w.head(), nil, waitIn)
	c1 := w.push(t, map[string]string{"sandbox-templates/a.yaml": tpl("node:22", "echo a1")})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	mark := w.proxy.holdDeploymentCreate(t)
	before := w.statuses()
	first := w.start(ctx, t, "push", c1, nil, waitIn)
	mark.reached(t, "c1's mark before its writes")
	c2 := w.push(t, map[string]string{"sandbox-templates/a.yaml": tpl("node:22", "echo a")})
	validated := w.holdEmulator(t, "validate")
	second := w.start(ctx, t, "push", c2, nil, waitIn)
	validated.reached(t, "c2's validate")
	mark.release()
	if s := first.wait(t); s.Code != 0 || !strings.Contains(s.Stdout, "Recorded deployment") {
		t.Fatalf("c1: exit %d\n%s", s.Code, s.log())
	}
	validated.release()
	s := second.wait(t)
	if s.Code != 0 || !strings.Contains(s.Stdout, "Deployment not recorded: another run marked deployment") {
		t.Fatalf("c2: exit %d, want no deployment recorded\n%s", s.Code, s.log())
	}
	w.recordHolds(t, "c2's run, which read before c1's writes", before)
	c3 := w.push(t, map[string]string{"README.md": "docs\n"})
	w.run(t, 0, "c3", "push", c3, nil, waitIn)
	w.servesHead(t, "the push after the race")
	w.noDuplicateBuilds(t, template{"node:22", "echo a"})
}

// A revert, in sequence: c1 changes a (recorded), c2 reverts it; c2's run
// reads a (changed since c1's deployment) and builds c0's spec again. A
// quick revert while c1's build is still in progress (wait: false) reads a
// too: c1's deployment names it as pending.
func TestWeekRevert(t *testing.T) {
	weekSweep(t)
	t.Parallel()
	for _, quick := range []bool{false, true} {
		t.Run(fmt.Sprintf("quick=%v", quick), func(t *testing.T) {
			t.Parallel()
			w := newWeek(t, weekTemplates())
			w.run(t, 0, "c0", "push", w.head(), nil, waitIn)
			c1 := w.push(t, map[string]string{"sandbox-templates/a.yaml": tpl("node:24", "echo a")})
			in := waitIn
			if quick {
				in = nil
			}
			w.run(t, 0, "c1", "push", c1, nil, in)
			c2 := w.push(t, map[string]string{"sandbox-templates/a.yaml": tpl("node:22", "echo a")})
			s := w.run(t, 0, "c2, the revert", "push", c2, nil, waitIn)
			if !strings.Contains(s.Stdout, "Scope: the builds of 1 of 3") || s.Outputs["changed-templates"] != `["a"]` {
				t.Errorf("the revert: changed %s\n%s", s.Outputs["changed-templates"], s.Stdout)
			}
			w.servesHead(t, "the revert")
			if d := w.newest(t); d.SHA != c2 || d.State() != "success" {
				t.Errorf("the newest deployment is of %s, %s; want c2's, success", d.SHA[:7], d.State())
			}
			w.noDuplicateBuilds(t, template{"node:22", "echo a"})
		})
	}
}

// Re-runs of old runs of every event, after a newer commit was recorded:
// none builds, creates or rolls back anything, and none records a
// deployment that is not true. Re-runs of the newest commit's runs build
// nothing either.
func TestWeekRerunsOfOldRuns(t *testing.T) {
	weekSweep(t)
	t.Parallel()
	w := newWeek(t, weekTemplates())
	c0 := w.head()
	w.g.Tag("v1", c0)
	w.g.Release("v1", false, true)
	w.run(t, 0, "c0", "push", c0, nil, waitIn)
	c1 := w.push(t, map[string]string{"sandbox-templates/a.yaml": tpl("node:22", "echo a1")})
	w.g.Tag("v2", c1)
	w.g.Release("v2", false, true)
	w.run(t, 0, "c1", "push", c1, nil, waitIn)
	writes := w.e.Counters().Writes
	for _, sha := range []string{c0, c1} {
		tag := map[string]string{c0: "v1", c1: "v2"}[sha]
		for _, event := range []string{"push", "workflow_run", "schedule", "workflow_dispatch", "release"} {
			env := map[string]string{}
			switch event {
			case "workflow_run":
				env["GITHUB_SHA"] = w.head() // the default branch's head; the payload names the commit
			case "release":
				env["GITHUB_REF"] = "refs/tags/" + tag
			}
			what := fmt.Sprintf("a re-run of %s's %s run", sha[:7], event)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			before := w.statuses()
			all := w.env(t, event, sha)
			if event == "release" {
				all = w.g.env(t, event, sha, map[string]any{"release": map[string]any{"tag_name": tag}})
				all["GITHUB_API_URL"] = w.proxy.URL
			}
			maps.Copy(all, env)
			s := startAction(ctx, t, newWorkspace(t, w.files[sha]), all, ghInputs(w.e, waitIn)).wait(t)
			cancel()
			if s.Code != 0 {
				t.Fatalf("%s: exit %d\n%s", what, s.Code, s.log())
			}
			w.recordHolds(t, what, before)
			if got := w.e.Counters().Writes; got != writes {
				t.Errorf("%s wrote %d times\n%s", what, got-writes, s.Stdout)
				writes = got
			}
			w.servesHead(t, what)
		}
	}
	if d := w.newest(t); d.SHA != c1 {
		t.Errorf("the newest deployment is of %s, want c1's", d.SHA[:7])
	}
}

// A build made by hand with another spec on a template whose file did not
// change (drift): a push judges it from its ready row and records its
// commit (scope auto cannot see it; the docs say so, and that the nightly
// full run repairs it). A build by hand that failed leaves the row failed:
// the push reads that template and repairs it.
func TestWeekBuildByHand(t *testing.T) {
	weekSweep(t)
	t.Parallel()
	w := newWeek(t, weekTemplates())
	first := w.run(t, 0, "c0", "push", w.head(), nil, waitIn)
	var ids map[string]string
	first.json(t, "template-ids", &ids)
	buildByHand(t, w.e, ids["b"], map[string]any{"from": "node:20", "steps": []any{map[string]any{"run": "echo by hand"}}})
	w.settle(t)
	c1 := w.push(t, map[string]string{"README.md": "docs\n"})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	push := w.start(ctx, t, "push", c1, nil, waitIn).wait(t)
	if push.Code != 0 || w.serving()["b"].Run != "echo by hand" || !strings.Contains(push.Stdout, "Scope: the builds of 0 of 3") {
		t.Fatalf("the push after drift: exit %d, b serves %+v\n%s", push.Code, w.serving()["b"], push.Stdout)
	}
	w.run(t, 0, "the nightly run", "schedule", c1, nil, waitIn)
	w.servesHead(t, "the nightly run")
	if _, err := w.e.SeedBuild(ids["c"], emulator.BuildSeed{State: "failed", ErrorCode: "BUILD_STEP_FAILED",
		BuildSpec: map[string]any{"from": "node:20"}}); err != nil {
		t.Fatal(err)
	}
	c2 := w.push(t, map[string]string{"README.md": "more docs\n"})
	s := w.run(t, 0, "the push after a failed build by hand", "push", c2, nil, waitIn)
	if !strings.Contains(s.Stdout, "Scope: the builds of 1 of 3 template(s) are read (0 changed since the deployment of") {
		t.Errorf("the failed row was not read:\n%s", s.Stdout)
	}
	w.servesHead(t, "the push after a failed build by hand")
}

// A template deleted on the server is made again under scope auto: by the
// next push, and by a re-run of the recorded commit itself.
func TestWeekDeletedTemplate(t *testing.T) {
	weekSweep(t)
	t.Parallel()
	w := newWeek(t, weekTemplates())
	first := w.run(t, 0, "c0", "push", w.head(), nil, waitIn)
	var ids map[string]string
	first.json(t, "template-ids", &ids)
	if err := w.e.DeleteTemplate(ids["b"]); err != nil {
		t.Fatal(err)
	}
	w.run(t, 0, "a re-run of c0", "push", w.head(), nil, waitIn)
	w.servesHead(t, "a re-run of c0 after b was deleted")
	var again map[string]string
	st := w.run(t, 0, "another re-run of c0", "push", w.head(), nil, waitIn)
	st.json(t, "template-ids", &again)
	if err := w.e.DeleteTemplate(again["c"]); err != nil {
		t.Fatal(err)
	}
	c1 := w.push(t, map[string]string{"README.md": "docs\n"})
	w.run(t, 0, "c1", "push", c1, nil, waitIn)
	w.servesHead(t, "the push after c was deleted")
	if n := len(w.e.State().Templates); n != 3 {
		t.Errorf("%d templates, want 3", n)
	}
	w.noDuplicateBuilds(t, template{"node:22", "echo b"}, template{"node:22", "echo c"})
}

// Two runs at once: of one commit (a push and its re-run), which build a
// once and record it; and of two commits, after which every deployment
// this action says is a success is true.
func TestWeekRunsAtOnce(t *testing.T) {
	weekSweep(t)
	t.Parallel()
	t.Run("one commit", func(t *testing.T) {
		t.Parallel()
		w := newWeek(t, weekTemplates())
		w.run(t, 0, "c0", "push", w.head(), nil, waitIn)
		c1 := w.push(t, map[string]string{"sandbox-templates/a.yaml": tpl("node:22", "echo a1")})
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		before := w.statuses()
		ps := []*process{w.start(ctx, t, "push", c1, nil, waitIn), w.start(ctx, t, "workflow_run", c1, nil, waitIn)}
		for i, p := range ps {
			if s := p.wait(t); s.Code != 0 {
				t.Fatalf("run %d: exit %d\n%s", i, s.Code, s.log())
			}
		}
		w.recordHolds(t, "two runs of c1", before)
		w.servesHead(t, "two runs of c1")
		w.noDuplicateBuilds(t)
		if d := w.newest(t); d.SHA != c1 || d.State() != "success" {
			t.Errorf("the newest deployment is of %s, %s; want c1's, success", d.SHA[:7], d.State())
		}
	})
	t.Run("two commits", func(t *testing.T) {
		t.Parallel()
		w := newWeek(t, weekTemplates())
		w.run(t, 0, "c0", "push", w.head(), nil, waitIn)
		c1 := w.push(t, map[string]string{"sandbox-templates/a.yaml": tpl("node:22", "echo a1")})
		c2 := w.push(t, map[string]string{"sandbox-templates/b.yaml": tpl("node:22", "echo b2")})
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		before := w.statuses()
		ps := []*process{w.start(ctx, t, "push", c1, nil, waitIn), w.start(ctx, t, "push", c2, nil, waitIn)}
		for i, p := range ps {
			if s := p.wait(t); s.Code != 0 {
				t.Fatalf("run %d: exit %d\n%s", i, s.Code, s.log())
			}
		}
		w.recordHolds(t, "runs of c1 and c2 at once", before)
		c3 := w.push(t, map[string]string{"README.md": "docs\n"})
		w.run(t, 0, "c3", "push", c3, nil, waitIn)
		w.servesHead(t, "the push after")
	})
}

// Another tool's deployments to the same environment are never this
// action's base: one of this very commit, a success, would otherwise say
// nothing changed. Its success makes GitHub mark this action's deployment
// inactive, so the run reads every template.
func TestWeekForeignDeployment(t *testing.T) {
	weekSweep(t)
	t.Parallel()
	w := newWeek(t, weekTemplates())
	w.run(t, 0, "c0", "push", w.head(), nil, waitIn)
	c1 := w.push(t, map[string]string{"sandbox-templates/b.yaml": tpl("node:22", "echo b1")})
	for _, payload := range []string{`{}`, `{"tool":"another-deployer","templates":["a","b","c"]}`} {
		body := fmt.Sprintf(`{"ref":%q,"environment":"sandbox-templates","payload":%s,"auto_merge":false,"required_contexts":[]}`, c1, payload)
		var d struct{ ID int64 }
		ghPost(t, w.g.URL()+"/repos/acme/platform/deployments", body, &d)
		ghPost(t, fmt.Sprintf("%s/repos/acme/platform/deployments/%d/statuses", w.g.URL(), d.ID), `{"state":"success"}`, nil)
	}
	s := w.run(t, 0, "c1 after another tool's deployment of it", "push", c1, nil, waitIn)
	if !strings.Contains(s.Stdout, "Scope: the builds of all 3 template(s) are read") || w.serving()["b"].Run != "echo b1" {
		t.Errorf("the run after another tool's deployment: b serves %+v\n%s", w.serving()["b"], s.Stdout)
	}
	w.servesHead(t, "c1")
}

// ghPost posts body to the fake GitHub and decodes the answer into out.
func ghPost(t *testing.T, u, body string, out any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+ghToken)
	req.Header.Set("User-Agent", "another-deployer")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST %s: %s", u, resp.Status)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
}

// A force-push makes the last deployment's commit no ancestor of main:
// the run reads every template and deploys what main holds, and a re-run
// of the commit that was pushed away writes nothing.
func TestWeekForcePush(t *testing.T) {
	weekSweep(t)
	t.Parallel()
	w := newWeek(t, weekTemplates())
	c0 := w.head()
	w.run(t, 0, "c0", "push", c0, nil, waitIn)
	c1 := w.push(t, map[string]string{"sandbox-templates/a.yaml": tpl("node:22", "echo a1")})
	w.run(t, 0, "c1", "push", c1, nil, waitIn)
	files := maps.Clone(w.files[c0])
	files["sandbox-templates/b.yaml"] = tpl("node:22", "echo b-forced")
	forced := w.g.Commit([]string{c0}, files)
	w.g.SetBranch("main", forced)
	w.files[forced] = files
	w.shas = append(w.shas, forced)
	s := w.run(t, 0, "the force-push", "push", forced, nil, waitIn)
	if !strings.Contains(s.Stdout, "does not descend from") {
		t.Errorf("the force-push did not read every template:\n%s", s.Stdout)
	}
	w.servesHead(t, "the force-push")
	writes := w.e.Counters().Writes
	w.run(t, 0, "a re-run of c1", "push", c1, nil, waitIn)
	if w.e.Counters().Writes != writes {
		t.Error("the re-run of the commit pushed away wrote")
	}
	w.servesHead(t, "a re-run of c1")
}

// A path change reads every template (the deployment never saw the files
// the new patterns add); the next run with the same path narrows again.
func TestWeekPathChange(t *testing.T) {
	weekSweep(t)
	t.Parallel()
	w := newWeek(t, weekTemplates())
	w.run(t, 0, "c0", "push", w.head(), nil, waitIn)
	c1 := w.push(t, map[string]string{"more/d.yaml": tpl("node:22", "echo d")})
	in := map[string]string{"path": "sandbox-templates/*.yaml\nmore/*.yaml", "wait": "true", "poll-interval": "1s"}
	s := w.run(t, 0, "c1 with another path", "push", c1, nil, in)
	if !strings.Contains(s.Stdout, "the path input differs") || w.serving()["d"].Run != "echo d" {
		t.Errorf("the path change: d serves %+v\n%s", w.serving()["d"], s.Stdout)
	}
	c2 := w.push(t, map[string]string{"more/d.yaml": tpl("node:22", "echo d2")})
	s = w.run(t, 0, "c2", "push", c2, nil, in)
	if !strings.Contains(s.Stdout, "Scope: the builds of 1 of 4") || w.serving()["d"].Run != "echo d2" {
		t.Errorf("the next push: d serves %+v\n%s", w.serving()["d"], s.Stdout)
	}
}

// wait: false, then later pushes: the first leaves its deployment in
// progress naming a's build; a push while it builds reads a and records
// nothing; a push after it is ready records success. A build that fails
// after its run ended is read by the next push (its deployment still names
// it as pending), which builds it again.
func TestWeekWaitFalse(t *testing.T) {
	weekSweep(t)
	t.Parallel()
	w := newWeek(t, weekTemplates())
	w.run(t, 0, "c0", "push", w.head(), nil, waitIn)
	c1 := w.push(t, map[string]string{"sandbox-templates/a.yaml": tpl("node:22", "echo a1")})
	s := w.run(t, 0, "c1, wait: false", "push", c1, nil, nil)
	if d := w.newest(t); d.SHA != c1 || d.State() != "in_progress" || !strings.Contains(s.Stdout, "is in progress") {
		t.Fatalf("c1: the newest deployment is of %s, %s\n%s", d.SHA[:7], d.State(), s.Stdout)
	}
	c2 := w.push(t, map[string]string{"README.md": "docs\n"})
	s = w.run(t, 0, "c2 while a builds", "push", c2, nil, nil)
	if !strings.Contains(s.Stdout, "1 building when it was recorded") {
		t.Errorf("c2 did not read a:\n%s", s.Stdout)
	}
	w.settle(t)
	c3 := w.push(t, map[string]string{"README.md": "more docs\n"})
	s = w.run(t, 0, "c3 after a is ready", "push", c3, nil, nil)
	if d := w.newest(t); d.SHA != c3 || d.State() != "success" {
		t.Errorf("c3: the newest deployment is of %s, %s\n%s", d.SHA[:7], d.State(), s.Stdout)
	}
	w.servesHead(t, "c3")

	w.e.Configure(func(o *emulator.Options) {
		o.Outcomes = map[string]emulator.Outcome{"b": {ErrorCode: "BUILD_STEP_FAILED"}}
	})
	c4 := w.push(t, map[string]string{"sandbox-templates/b.yaml": tpl("node:22", "echo b4")})
	w.run(t, 0, "c4, wait: false, whose build fails later", "push", c4, nil, nil)
	w.settle(t)
	w.e.Configure(func(o *emulator.Options) { o.Outcomes = nil })
	c5 := w.push(t, map[string]string{"README.md": "docs again\n"})
	s = w.run(t, 0, "c5 after b's build failed", "push", c5, nil, waitIn)
	if !strings.Contains(s.Stdout, "1 building when it was recorded") || s.Outputs["changed-templates"] != `["b"]` {
		t.Errorf("c5 did not read and build b again:\n%s", s.Stdout)
	}
	w.servesHead(t, "c5")
	c6 := w.push(t, map[string]string{"README.md": "docs once more\n"})
	w.run(t, 0, "c6", "push", c6, nil, waitIn)
	w.servesHead(t, "c6")
}

// A teammate's template with the repository's template's display name
// (list rows carry no slug): the push judges neither from the list, and
// names the repository's own template in its outputs, as a full read does.
// Once the repository's own template is deleted by hand, the teammate's row
// alone shows that name, ready: a push takes it for the repository's (scope
// auto cannot see it; the docs say so) and the nightly full run makes the
// repository's own template again.
func TestWeekDisplayNameTwin(t *testing.T) {
	t.Parallel()
	w := newWeek(t, weekTemplates())
	mate, err := w.e.SeedTemplate(emulator.TemplateSeed{Name: "b", Slug: "b-playground", BuildSpec: map[string]any{"from": "python:3.12"}})
	if err != nil {
		t.Fatal(err)
	}
	first := w.run(t, 0, "c0", "push", w.head(), nil, waitIn)
	var ids map[string]string
	first.json(t, "template-ids", &ids)
	if ids["b"] == mate.ID {
		t.Fatalf("c0 names the teammate's template")
	}
	c1 := w.push(t, map[string]string{"README.md": "docs\n"})
	s := w.run(t, 0, "c1", "push", c1, nil, waitIn)
	var again map[string]string
	s.json(t, "template-ids", &again)
	if again["b"] != ids["b"] || !strings.Contains(s.Stdout, "1 whose display name another template shows too") {
		t.Errorf("c1: template-ids b = %s, want the repository's own %s (the teammate's is %s)\n%s", again["b"], ids["b"], mate.ID, s.Stdout)
	}
	if err := w.e.DeleteTemplate(ids["b"]); err != nil {
		t.Fatal(err)
	}
	c2 := w.push(t, map[string]string{"README.md": "more docs\n"})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if s := w.start(ctx, t, "push", c2, nil, waitIn).wait(t); s.Code != 0 || w.e.Counters().TemplatesCreated != 3 {
		t.Errorf("the push after the delete: exit %d, %d templates created; want 0 and 3 (the deletion is not seen)\n%s", s.Code, w.e.Counters().TemplatesCreated, s.Stdout)
	}
	w.run(t, 0, "the nightly run", "schedule", c2, nil, waitIn)
	w.servesHead(t, "the nightly run")
	if err := w.e.DeleteTemplate(mate.ID); err != nil {
		t.Fatalf("the teammate's template is gone: %v", err)
	}
}

// weekSweep skips a scenario of this file unless WEEK_SWEEP is set, as
// .ci/run and CI set it: each is also covered by the unit tests of the
// scope and the record (internal/ghaction) or by e2e/week_final_test.go, and
// together they would take a plain `go test ./...` over a minute. The
// scenarios that caught a bug (pushes out of order, a revert racing the
// change, a display-name twin) always run.
func weekSweep(t *testing.T) {
	t.Helper()
	if os.Getenv("WEEK_SWEEP") == "" {
		t.Skip("WEEK_SWEEP is not set")
	}
}
