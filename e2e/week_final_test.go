package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
)

// A user's week, run as the runner runs the action with its default inputs
// (scope auto, wait false) against the emulator with the real server's
// defaults (emulator.NewOptions: a create queues its own build, lists are
// paged 20 by default and 100 at most), builds taking 2 s where runs race
// them and 0.3 s elsewhere. The cases the week tests (scope_week_test.go)
// run with wait: true are run here as the default inputs leave them: each
// run ends while its builds are still in progress, so the next push meets
// them.
//
// After every run, finalWeek.check asserts, on the emulator's own state:
// no template made twice, no build of one spec made twice on one template
// (but for specs a test names: a revert builds its spec anew), no rollback
// (each template's newest build is of the newest commit run so far; once
// the builds settle, it serves that spec), outputs that are valid and agree
// with the server, and every deployment of this action that a run marked
// success true of the server (each template serves its file's normalized
// spec at the deployment's commit) — the whole spec, not only from and the
// first step.

// finalWeek is a week (scope_week_test.go) with the checks above.
type finalWeek struct {
	*week
	// upTo is the index in shas of the newest commit a run was made of:
	// what the templates must end up serving.
	upTo int
	// again are the specs (normalized JSON) that may be built more than
	// once on one template, by name.
	again map[string][]string
	// drifted are templates a build made by hand left serving another spec,
	// which scope auto cannot see (docs/account-size.md).
	drifted map[string]bool
	// buildTime is how long builds take after the first run.
	buildTime time.Duration
}

// newFinalWeek is a week with real-server defaults whose builds take
// buildTime (0 to 2 s: the tests that race builds keep 2 s).
func newFinalWeek(t *testing.T, files map[string]string, buildTime time.Duration) *finalWeek {
	t.Helper()
	w := &finalWeek{week: newWeek(t, files), again: map[string][]string{}, drifted: map[string]bool{}, buildTime: buildTime}
	w.e.Configure(func(o *emulator.Options) { o.BuildDuration = buildTime })
	return w
}

// first runs the first push, c0, whose builds are ready at once (the week
// starts from a synced account), and waits for them.
func (w *finalWeek) first(t *testing.T) step {
	t.Helper()
	w.e.Configure(func(o *emulator.Options) { o.BuildDuration = 0 })
	s := w.run(t, "c0", "push", w.head(), nil)
	w.settled(t, "c0")
	w.e.Configure(func(o *emulator.Options) { o.BuildDuration = w.buildTime })
	return s
}

// run runs event at sha with the default inputs, wants exit 0 and checks
// the run.
func (w *finalWeek) run(t *testing.T, what, event, sha string, env map[string]string) step {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	before := w.statuses()
	all := w.env(t, event, sha)
	if event == "release" { // env names the tag in GITHUB_REF
		tag := strings.TrimPrefix(env["GITHUB_REF"], "refs/tags/")
		all = w.g.env(t, event, sha, map[string]any{"release": map[string]any{"tag_name": tag}})
		all["GITHUB_API_URL"] = w.proxy.URL
	}
	maps.Copy(all, env)
	s := startAction(ctx, t, newWorkspace(t, w.files[sha]), all, ghInputs(w.e, nil)).wait(t)
	if s.Code != 0 {
		t.Fatalf("%s: exit %d\n%s", what, s.Code, s.log())
	}
	w.ran(sha)
	w.check(t, what, s, sha, before)
	return s
}

// ran notes that a run of sha was made.
func (w *finalWeek) ran(sha string) {
	if i := slices.Index(w.shas, sha); i > w.upTo {
		w.upTo = i
	}
}

// check asserts, after a run of sha that began when the deployments had the
// statuses before, what the file's comment says.
func (w *finalWeek) check(t *testing.T, what string, s step, sha string, before map[int64]int) {
	t.Helper()
	st := w.stateHolds(t, what)
	w.outputsValid(t, what, s, sha, st)
	w.recordTrue(t, what, before)
}

// stateHolds checks the server's state after a run: no template made
// twice, no build of one spec made twice on one template, no rollback. It
// returns the state it checked.
func (w *finalWeek) stateHolds(t *testing.T, what string) emulator.State {
	t.Helper()
	st := w.e.State()
	newest := fwSpecs(t, w.files[w.shas[w.upTo]])
	// No template made twice.
	slugs := map[string]int{}
	for _, tp := range st.Templates {
		slugs[tp.Slug]++
	}
	for name := range newest {
		if slugs[name] > 1 {
			t.Errorf("after %s: %d templates %q", what, slugs[name], name)
		}
	}
	// No build of one spec made twice on one template, and no rollback.
	seen := map[[2]string]int{}
	latest := map[string]string{} // template id -> its newest build's spec
	for _, b := range st.Builds {
		spec := fwJSON(t, b.BuildSpec)
		seen[[2]string{b.TemplateID, spec}]++
		if n := seen[[2]string{b.TemplateID, spec}]; n == 2 && !slices.Contains(w.again[b.TemplateName], spec) {
			t.Errorf("after %s: %s was built twice with %s", what, b.TemplateName, spec)
		}
		if b.State != "cancelled" {
			latest[b.TemplateID] = spec
		}
	}
	for _, tp := range st.Templates {
		want, ours := newest[tp.Slug]
		if ours && !w.drifted[tp.Slug] && latest[tp.ID] != want {
			t.Errorf("after %s: %s's newest build is of %s, want the newest commit's %s", what, tp.Slug, latest[tp.ID], want)
		}
	}
	return st
}

// outputsValid checks a run's outputs against each other and the server.
func (w *finalWeek) outputsValid(t *testing.T, what string, s step, sha string, st emulator.State) {
	t.Helper()
	if s.Outputs["status"] != "success" {
		t.Errorf("%s: status %q, want success", what, s.Outputs["status"])
	}
	var ids, buildIDs map[string]string
	var changed []string
	var items []planOut
	var builds []struct {
		Name       string `json:"name"`
		TemplateID string `json:"template_id"`
		BuildID    string `json:"build_id"`
		Source     string `json:"source"`
	}
	s.json(t, "template-ids", &ids)
	s.json(t, "build-ids", &buildIDs)
	s.json(t, "changed-templates", &changed)
	s.json(t, "plan", &items)
	s.json(t, "builds", &builds)
	byID := map[string]emulator.TemplateState{}
	for _, tp := range st.Templates {
		byID[tp.ID] = tp
	}
	buildByID := map[string]emulator.BuildState{}
	for _, b := range st.Builds {
		buildByID[b.ID] = b
	}
	specs := fwSpecs(t, w.files[sha])
	for name, id := range ids {
		if tp, ok := byID[id]; !ok || tp.Slug != name {
			t.Errorf("%s: template-ids %s = %s, which is %q on the server", what, name, id, tp.Slug)
		}
	}
	for name := range specs {
		if _, ok := ids[name]; !ok {
			t.Errorf("%s: template-ids lacks %s: %v", what, name, ids)
		}
	}
	for name, id := range buildIDs {
		b, ok := buildByID[id]
		switch {
		case !ok || b.TemplateID != ids[name]:
			t.Errorf("%s: build-ids %s = %s, not a build of template %s", what, name, id, ids[name])
		case sha == w.head() && fwJSON(t, b.BuildSpec) != specs[name]:
			t.Errorf("%s: build-ids %s = %s, a build of %s, want the file's %s", what, name, id, fwJSON(t, b.BuildSpec), specs[name])
		}
	}
	var writes []string
	for _, it := range items {
		if it.Action == "create" || it.Action == "build" {
			writes = append(writes, it.Name)
		}
	}
	slices.Sort(writes)
	sorted := slices.Sorted(slices.Values(changed))
	if !slices.Equal(writes, sorted) || s.Outputs["changes-count"] != strconv.Itoa(len(changed)) ||
		s.Outputs["has-changes"] != strconv.FormatBool(len(changed) > 0) {
		t.Errorf("%s: changed-templates %v, changes-count %s, has-changes %s; the plan writes %v",
			what, changed, s.Outputs["changes-count"], s.Outputs["has-changes"], writes)
	}
	for _, name := range changed {
		if _, ok := buildIDs[name]; !ok {
			t.Errorf("%s: %s changed, but build-ids lacks it: %v", what, name, buildIDs)
		}
	}
	want := ""
	if len(buildIDs) == 1 {
		for _, id := range buildIDs {
			want = id
		}
	}
	if s.Outputs["build-id"] != want {
		t.Errorf("%s: build-id %q, want %q (build-ids %v)", what, s.Outputs["build-id"], want, buildIDs)
	}
	// builds: one entry per template with a build-ids entry or judged
	// from its list row.
	entries := map[string]int{}
	for _, b := range builds {
		entries[b.Name]++
		_, inBuildIDs := buildIDs[b.Name]
		if _, ok := specs[b.Name]; !ok || entries[b.Name] > 1 || b.TemplateID != ids[b.Name] ||
			!(inBuildIDs && b.BuildID == buildIDs[b.Name] || !inBuildIDs && b.Source == "list" && b.BuildID == "") {
			t.Errorf("%s: builds entry %+v disagrees with template-ids %s and build-ids %s", what, b, ids[b.Name], buildIDs[b.Name])
		}
	}
	for name := range buildIDs {
		if entries[name] == 0 {
			t.Errorf("%s: build-ids names %s, builds has no entry for it", what, name)
		}
	}
}

// recordTrue fails the test when a deployment of this action that got the
// status success since before (or the newest one, success or in progress)
// says what the server does not serve: the whole normalized spec, for
// every template of its commit (but those an in-progress one names as
// pending).
func (w *finalWeek) recordTrue(t *testing.T, what string, before map[int64]int) {
	t.Helper()
	served := fwServed(t, w.e.State())
	deps, recs := w.ours()
	for i, d := range deps {
		isNewest := i == len(deps)-1
		written := len(d.Statuses) > before[d.ID] && d.State() == "success"
		if !written && !(isNewest && (d.State() == "success" || d.State() == "in_progress")) {
			continue
		}
		for name, want := range fwSpecs(t, w.files[d.SHA]) {
			if d.State() == "in_progress" && slices.Contains(recs[i].Pending, name) {
				continue
			}
			if served[name] != want {
				t.Errorf("after %s: deployment %d of %s is %s, but %s serves %s, its file there %s",
					what, d.ID, d.SHA[:7], d.State(), name, served[name], want)
			}
		}
	}
}

// settled waits for the builds to end, then checks that every template
// serves the newest commit's spec and that the record is true.
func (w *finalWeek) settled(t *testing.T, what string) {
	t.Helper()
	w.settle(t)
	served := fwServed(t, w.e.State())
	for name, want := range fwSpecs(t, w.files[w.shas[w.upTo]]) {
		if !w.drifted[name] && served[name] != want {
			t.Errorf("after %s, settled: %s serves %s, want the newest commit's %s", what, name, served[name], want)
		}
	}
	w.recordTrue(t, what+", settled", w.statuses())
}

// allowAgain lets name be built again with the spec of file body.
func (w *finalWeek) allowAgain(t *testing.T, name, body string) {
	t.Helper()
	w.again[name] = append(w.again[name], fwSpecs(t, map[string]string{"sandbox-templates/" + name + ".yaml": body})[name])
}

// fwServed is the normalized spec each ready template serves (its current
// build, ready), by slug.
func fwServed(t *testing.T, st emulator.State) map[string]string {
	t.Helper()
	builds := map[string]emulator.BuildState{}
	for _, b := range st.Builds {
		builds[b.ID] = b
	}
	out := map[string]string{}
	for _, tp := range st.Templates {
		if b, ok := builds[tp.CurrentBuildID]; ok && tp.Status == "ready" && b.State == "ready" {
			out[tp.Slug] = fwJSON(t, b.BuildSpec)
		}
	}
	return out
}

// fwRef is a server of its own that normalizes specs as the real one does.
var fwRef = sync.OnceValue(func() *emulator.Server { return emulator.New(emulator.NewOptions()) })

var fwCache sync.Map // file body -> normalized spec JSON

// fwSpecs are the normalized specs of the template files among files, by
// name: what the server makes of each, as its validate answers.
func fwSpecs(t *testing.T, files map[string]string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for p, body := range files {
		if !strings.HasPrefix(p, "sandbox-templates/") || !strings.HasSuffix(p, ".yaml") {
			continue
		}
		name := strings.TrimSuffix(path.Base(p), ".yaml")
		if v, ok := fwCache.Load(body); ok {
			out[name] = v.(string)
			continue
		}
		var f struct {
			BuildSpec map[string]any `yaml:"build_spec"`
		}
		if err := yaml.Unmarshal([]byte(body), &f); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		raw, _ := json.Marshal(map[string]any{"build_spec": f.BuildSpec})
		req := httptest.NewRequest(http.MethodPost, "/api/v1/sandbox-templates/validate", bytes.NewReader(raw))
		req.Header.Set("Authorization", "Bearer "+testKey)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		fwRef().ServeHTTP(rec, req)
		var v struct {
			Valid     bool           `json:"valid"`
			BuildSpec map[string]any `json:"build_spec"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil || !v.Valid {
			t.Fatalf("%s: validate answered %d %s", p, rec.Code, rec.Body)
		}
		out[name] = fwJSON(t, v.BuildSpec)
		fwCache.Store(body, out[name])
	}
	return out
}

// fwJSON is a spec's canonical JSON.
func fwJSON(t *testing.T, spec map[string]any) string {
	t.Helper()
	raw, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// fwNoSecrets fails the test when a secret shows in what a run wrote
// (the log but for the runner's own add-mask lines, the summary, the
// outputs) or in a pull request comment.
func fwNoSecrets(t *testing.T, what string, s step, comments []string, secrets ...string) {
	t.Helper()
	var log []string
	for _, l := range strings.Split(s.log(), "\n") {
		if !strings.HasPrefix(l, "::add-mask::") {
			log = append(log, l)
		}
	}
	where := map[string]string{"log": strings.Join(log, "\n"), "summary": s.Summary, "outputs": s.rawOut,
		"pull request comment": strings.Join(comments, "\n")}
	for _, secret := range secrets {
		for place, text := range where {
			if strings.Contains(text, secret) {
				t.Errorf("%s: the %s shows the secret %q", what, place, secret)
			}
		}
	}
}

// 1. Two pushes seconds apart and a revert, each run right after its push
// (each ends while the builds before it are still running: wait false),
// the revert's run last. Reverting the first push's change (a, whose old
// spec is still served while its change builds) must build the old spec
// again; reverting the second's (a, changed twice, both builds running)
// must build the first's spec again: the build in progress of the reverted
// spec would otherwise land last.
func TestFinalWeekPushesAndRevert(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name       string
		c1, c2, c3 map[string]string
		again      [2]string // name, body built twice
		buildsOfA  int
	}{
		{"revert of the first push", map[string]string{"sandbox-templates/a.yaml": tpl("node:22", "echo a1")},
			map[string]string{"sandbox-templates/b.yaml": tpl("node:22", "echo b2")},
			map[string]string{"sandbox-templates/a.yaml": tpl("node:22", "echo a")}, [2]string{"a", tpl("node:22", "echo a")}, 3},
		{"revert of the second push", map[string]string{"sandbox-templates/a.yaml": tpl("node:22", "echo a1")},
			map[string]string{"sandbox-templates/a.yaml": tpl("node:24", "echo a2")},
			map[string]string{"sandbox-templates/a.yaml": tpl("node:22", "echo a1")}, [2]string{"a", tpl("node:22", "echo a1")}, 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			w := newFinalWeek(t, weekTemplates(), 2*time.Second)
			w.allowAgain(t, c.again[0], c.again[1])
			w.first(t)
			c1 := w.push(t, c.c1)
			w.run(t, "c1", "push", c1, nil)
			c2 := w.push(t, c.c2)
			w.run(t, "c2, seconds later", "push", c2, nil)
			c3 := w.push(t, c.c3)
			s := w.run(t, "c3, the revert, last", "push", c3, nil)
			if s.Outputs["changed-templates"] != `["a"]` {
				t.Errorf("the revert changed %s, want a\n%s", s.Outputs["changed-templates"], s.Stdout)
			}
			w.settled(t, "the revert")
			if n := w.e.BuildsOf("a"); n != c.buildsOfA {
				t.Errorf("%d builds of a, want %d: one per push that changed it", n, c.buildsOfA)
			}
			c4 := w.push(t, map[string]string{"README.md": "docs\n"})
			if s := w.run(t, "c4 after the revert", "push", c4, nil); s.Outputs["changed-templates"] != "[]" {
				t.Errorf("c4 changed %s, want nothing\n%s", s.Outputs["changed-templates"], s.Stdout)
			}
			if d := w.newest(t); d.SHA != c4 || d.State() != "success" {
				t.Errorf("the newest deployment is of %s, %s; want c4's, success", d.SHA[:7], d.State())
			}
		})
	}
}

// 2. Re-runs of old runs of every event while the newer commit's build is
// still running (wait false left it so), then once it is ready: none
// writes, none rolls back, and every output names what the server holds.
func TestFinalWeekOldReruns(t *testing.T) {
	t.Parallel()
	w := newFinalWeek(t, weekTemplates(), 2*time.Second)
	c0 := w.head()
	w.g.Tag("v1", c0)
	w.g.Release("v1", false, true)
	w.first(t)
	c1 := w.push(t, map[string]string{"sandbox-templates/a.yaml": tpl("node:22", "echo a1")})
	w.g.Tag("v2", c1)
	w.g.Release("v2", false, true)
	w.run(t, "c1", "push", c1, nil)
	writes := w.e.Counters().Writes
	rerun := func(when, sha, tag string) {
		for _, event := range []string{"push", "release", "workflow_run", "workflow_dispatch", "schedule"} {
			env := map[string]string{}
			switch event {
			case "workflow_run":
				env["GITHUB_SHA"] = w.head() // the default branch's head; the payload names the commit
			case "release":
				env["GITHUB_REF"] = "refs/tags/" + tag
			}
			what := fmt.Sprintf("a re-run of %s's %s run %s", sha[:7], event, when)
			s := w.run(t, what, event, sha, env)
			if got := w.e.Counters().Writes; got != writes {
				t.Errorf("%s wrote %d times\n%s", what, got-writes, s.Stdout)
				writes = got
			}
		}
	}
	rerun("while c1's build runs", c0, "v1")
	w.settled(t, "the re-runs while c1's build ran")
	rerun("after c1's build", c0, "v1")
	rerun("after c1's build", c1, "v2")
	w.settled(t, "the re-runs")
	if d := w.newest(t); d.SHA != c1 {
		t.Errorf("the newest deployment is of %s, want c1's", d.SHA[:7])
	}
}

// 3. Two runs at once with the default inputs: of one commit (its push
// and its workflow_run), and of two commits pushed seconds apart.
func TestFinalWeekRunsAtOnce(t *testing.T) {
	t.Parallel()
	for _, twoCommits := range []bool{false, true} {
		t.Run(fmt.Sprintf("two commits=%v", twoCommits), func(t *testing.T) {
			t.Parallel()
			w := newFinalWeek(t, weekTemplates(), 2*time.Second)
			w.first(t)
			c1 := w.push(t, map[string]string{"sandbox-templates/a.yaml": tpl("node:22", "echo a1")})
			runs := [][2]string{{"push", c1}, {"workflow_run", c1}}
			if twoCommits {
				c2 := w.push(t, map[string]string{"sandbox-templates/b.yaml": tpl("node:22", "echo b2")})
				runs[1] = [2]string{"push", c2}
				// Both runs read a before either writes, and their keys
				// hold their commits: each may build a1. The docs say so
				// (how-it-decides.md, "One deploy target, one concurrency
				// group"); the examples' concurrency group keeps such runs
				// apart. Never more than one build each.
				w.allowAgain(t, "a", tpl("node:22", "echo a1"))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			before := w.statuses()
			var ps []*process
			for _, r := range runs {
				ps = append(ps, w.start(ctx, t, r[0], r[1], nil, nil))
			}
			for i, p := range ps {
				s := p.wait(t)
				if s.Code != 0 {
					t.Fatalf("run %d: exit %d\n%s", i, s.Code, s.log())
				}
				w.ran(runs[i][1])
				w.outputsValid(t, fmt.Sprintf("run %d of %s", i, runs[i][1][:7]), s, runs[i][1], w.e.State())
			}
			w.stateHolds(t, "both runs")
			w.recordTrue(t, "both runs", before)
			if n := w.e.BuildsOf("a"); n > 1+len(runs) || !twoCommits && n != 2 {
				t.Errorf("%d builds of a, want the first and one per run at most (one for runs of one commit)", n)
			}
			w.settled(t, "both runs")
			c3 := w.push(t, map[string]string{"README.md": "docs\n"})
			w.run(t, "c3", "push", c3, nil)
			w.settled(t, "c3")
		})
	}
}

// pullRequest opens (or pushes to) pull request #7 from feature, which
// holds main's head with changes, and runs the action on its merge commit
// with the default inputs (mode auto: plan). It returns the step and the
// pull request's comments.
func (w *finalWeek) pullRequest(t *testing.T, changes map[string]string) (step, []string) {
	t.Helper()
	w.g.SetBranch("feature", w.head())
	head := w.g.Push("feature", changes)
	files := maps.Clone(w.files[w.head()])
	maps.Copy(files, changes)
	merge := w.g.Commit([]string{w.head(), head}, files)
	w.g.SetPullHead("acme/platform", 7, head)
	env := w.g.env(t, "pull_request", merge, map[string]any{"action": "synchronize", "number": 7, "pull_request": map[string]any{
		"number": 7,
		"head":   map[string]any{"sha": head, "ref": "feature", "repo": map[string]any{"full_name": "acme/platform"}},
		"base":   map[string]any{"sha": w.head(), "ref": "main", "repo": map[string]any{"full_name": "acme/platform"}},
	}})
	env["GITHUB_REF"] = "refs/pull/7/merge"
	writes := w.e.Counters().Writes
	s := runAction(t, newWorkspace(t, files), env, ghInputs(w.e, nil))
	if s.Code != 0 || w.e.Counters().Writes != writes {
		t.Fatalf("the pull request's run: exit %d, %d writes\n%s", s.Code, w.e.Counters().Writes-writes, s.log())
	}
	var bodies []string
	for _, c := range w.g.Comments("acme/platform", 7) {
		bodies = append(bodies, c.Body)
	}
	return s, bodies
}

// 4. A build made by hand between pushes: (a) adding fields to b's spec,
// (b) holding secrets in b's env. A pull request that changes b shows the
// drift in its comment. Then, while the last deployment is a success (a
// push found every build ready), the next push of an unrelated file judges
// b from its ready row (docs/account-size.md, "What scope auto cannot
// see": it records its commit though b drifted), and the nightly schedule
// run reads every template and rebuilds b once. While the last deployment
// is still in progress (wait false left b pending), the push reads b and
// rebuilds it itself. Either way the push after builds nothing and records
// a true success, and no secret reaches a log, a summary, the outputs or
// the comment.
func TestFinalWeekBuildByHand(t *testing.T) {
	t.Parallel()
	secrets := []string{"hunter2", "npm_0123456789abcdefABCDEF"}
	for _, c := range []struct {
		name    string
		added   map[string]any // fields the build by hand adds to b's spec
		shown   string         // what the pull request's comment names
		success bool           // the last deployment is a success
	}{
		{"added fields", map[string]any{"startCmd": "npm start", "workdir": "/srv", "previewPort": 3000}, "build_spec.startCmd", true},
		{"added fields, deployment in progress", map[string]any{"startCmd": "npm start", "workdir": "/srv", "previewPort": 3000}, "build_spec.startCmd", false},
		{"secret in env", map[string]any{"env": map[string]any{"DATABASE_URL": "postgres://admin:" + secrets[0] + "@db.internal/prod",
			"NPM_RC": "//npm.example/:_authToken=" + secrets[1]}}, "build_spec.env.DATABASE_URL", true},
		{"secret in env, deployment in progress", map[string]any{"env": map[string]any{"DATABASE_URL": "postgres://admin:" + secrets[0] + "@db.internal/prod",
			"NPM_RC": "//npm.example/:_authToken=" + secrets[1]}}, "build_spec.env.DATABASE_URL", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			w := newFinalWeek(t, weekTemplates(), 300*time.Millisecond)
			w.allowAgain(t, "b", tpl("node:22", "echo b")) // the repair
			// c0's run leaves its builds in progress (wait false): its
			// deployment stays in progress until a run finds them ready.
			first := w.run(t, "c0", "push", w.head(), nil)
			w.settled(t, "c0")
			if d := w.newest(t); d.State() != "in_progress" {
				t.Fatalf("the deployment of c0 is %s, want in_progress", d.State())
			}
			if c.success {
				sha := w.push(t, map[string]string{"README.md": "start\n"})
				w.run(t, "a push that finds c0's builds ready", "push", sha, nil)
				if d := w.newest(t); d.State() != "success" {
					t.Fatalf("the deployment of %s is %s, want success", d.SHA[:7], d.State())
				}
			}
			var ids map[string]string
			first.json(t, "template-ids", &ids)
			byHand := map[string]any{"from": "node:22", "steps": []any{map[string]any{"run": "echo b"}}}
			maps.Copy(byHand, c.added)
			buildByHand(t, w.e, ids["b"], byHand)
			w.settle(t)
			w.drifted["b"] = true
			builds := w.e.BuildsOf("b")

			pr, comments := w.pullRequest(t, map[string]string{"sandbox-templates/b.yaml": tpl("node:22", "echo b-pr")})
			if len(comments) != 1 || !strings.Contains(comments[0], c.shown) {
				t.Errorf("the pull request's comment does not name %s:\n%s", c.shown, strings.Join(comments, "\n---\n"))
			}
			fwNoSecrets(t, "the pull request", pr, comments, secrets...)

			c1 := w.push(t, map[string]string{"README.md": "docs\n"})
			if c.success {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				push := w.start(ctx, t, "push", c1, nil, nil).wait(t)
				w.ran(c1)
				if push.Code != 0 || !strings.Contains(push.Stdout, "Scope: the builds of 0 of 3") || w.e.BuildsOf("b") != builds {
					t.Fatalf("the push after the build by hand: exit %d, %d builds of b; want b judged from its row\n%s",
						push.Code, w.e.BuildsOf("b")-builds, push.log())
				}
				w.stateHolds(t, "the push after the build by hand")
				w.outputsValid(t, "the push after the build by hand", push, c1, w.e.State())
				fwNoSecrets(t, "the push after the build by hand", push, nil, secrets...)
			}
			delete(w.drifted, "b")
			event := "push" // b was pending in the deployment: the push reads it
			if c.success {
				event = "schedule" // the nightly run
			}
			repair := w.run(t, "the run that repairs b", event, c1, nil)
			if repair.Outputs["changed-templates"] != `["b"]` || w.e.BuildsOf("b") != builds+1 {
				t.Errorf("the run that repairs b changed %s with %d builds of b, want b rebuilt once\n%s",
					repair.Outputs["changed-templates"], w.e.BuildsOf("b")-builds, repair.Stdout)
			}
			fwNoSecrets(t, "the run that repairs b", repair, nil, secrets...)
			w.settled(t, "the run that repairs b")
			c2 := w.push(t, map[string]string{"README.md": "more docs\n"})
			after := w.run(t, "the push after the repair", "push", c2, nil)
			if d := w.newest(t); d.SHA != c2 || d.State() != "success" || after.Outputs["changed-templates"] != "[]" {
				t.Errorf("the push after the repair: deployment of %s, %s\n%s", d.SHA[:7], d.State(), after.Stdout)
			}
			fwNoSecrets(t, "the push after the repair", after, nil, secrets...)
		})
	}
}

// 5. A field removed from a file deploys, judged against what the server
// serves, never against the default the server would fill in: workdir
// (served /app, the default /workspace), one env key, the whole env, size.
// Each push comes once the build before it is ready (so only the file's
// change makes the push read a), and a re-run of the last commit and the
// nightly run build nothing.
func TestFinalWeekRemovedField(t *testing.T) {
	t.Parallel()
	full := "build_spec:\n  from: node:22\n  size: medium\n  workdir: /app\n  env:\n    FLAG: \"1\"\n    KEEP: \"2\"\n  steps:\n    - run: echo a\n"
	files := weekTemplates()
	files["sandbox-templates/a.yaml"] = full
	w := newFinalWeek(t, files, 300*time.Millisecond)
	w.first(t)
	for _, c := range []struct{ what, body string }{
		{"workdir dropped", strings.Replace(full, "  workdir: /app\n", "", 1)},
		{"an env key dropped", strings.Replace(strings.Replace(full, "  workdir: /app\n", "", 1), "    FLAG: \"1\"\n", "", 1)},
		{"env dropped", "build_spec:\n  from: node:22\n  size: medium\n  steps:\n    - run: echo a\n"},
		{"size dropped", "build_spec:\n  from: node:22\n  steps:\n    - run: echo a\n"},
	} {
		sha := w.push(t, map[string]string{"sandbox-templates/a.yaml": c.body})
		s := w.run(t, c.what, "push", sha, nil)
		if s.Outputs["changed-templates"] != `["a"]` {
			t.Errorf("%s: changed %s, want a\n%s", c.what, s.Outputs["changed-templates"], s.Stdout)
		}
		w.settled(t, c.what)
	}
	writes := w.e.Counters().Writes
	w.run(t, "a re-run of the last push", "push", w.head(), nil)
	w.run(t, "the nightly run", "schedule", w.head(), nil)
	if n := w.e.Counters().Writes - writes; n != 0 {
		t.Errorf("the re-run and the nightly run wrote %d times, want none", n)
	}
}

// 6. A template deleted on the server, then a push of an unrelated change
// (which makes it again), then a push of its own file while the new
// template's first build still runs; and a deletion followed at once by a
// push of its own file.
func TestFinalWeekDeletedTemplate(t *testing.T) {
	t.Parallel()
	for _, unrelatedFirst := range []bool{true, false} {
		t.Run(fmt.Sprintf("unrelated push first=%v", unrelatedFirst), func(t *testing.T) {
			t.Parallel()
			w := newFinalWeek(t, weekTemplates(), 2*time.Second)
			first := w.first(t)
			var ids map[string]string
			first.json(t, "template-ids", &ids)
			if err := w.e.DeleteTemplate(ids["b"]); err != nil {
				t.Fatal(err)
			}
			created := 3
			if unrelatedFirst {
				c1 := w.push(t, map[string]string{"README.md": "docs\n"})
				s := w.run(t, "the unrelated push", "push", c1, nil)
				created++
				if s.Outputs["changed-templates"] != `["b"]` || w.e.Counters().TemplatesCreated != created {
					t.Errorf("the unrelated push: changed %s, %d templates created\n%s", s.Outputs["changed-templates"], w.e.Counters().TemplatesCreated, s.Stdout)
				}
			}
			c2 := w.push(t, map[string]string{"sandbox-templates/b.yaml": tpl("node:22", "echo b2")})
			s := w.run(t, "the push of b's file", "push", c2, nil)
			if !unrelatedFirst {
				created++
			}
			if s.Outputs["changed-templates"] != `["b"]` || w.e.Counters().TemplatesCreated != created {
				t.Errorf("the push of b's file: changed %s, %d templates created, want b and %d\n%s",
					s.Outputs["changed-templates"], w.e.Counters().TemplatesCreated, created, s.Stdout)
			}
			w.settled(t, "the push of b's file")
			c3 := w.push(t, map[string]string{"README.md": "more docs\n"})
			w.run(t, "the push after", "push", c3, nil)
			if d := w.newest(t); d.SHA != c3 || d.State() != "success" {
				t.Errorf("the newest deployment is of %s, %s; want c3's, success", d.SHA[:7], d.State())
			}
		})
	}
}

// 8. An account of 3,000 templates (the repository's 30 among 2,970 of
// its teammates', spread over the pages the server serves: 20 by default,
// 100 at most), and a push that changes one file: one build, no template
// made, and outputs that name each of the 30 and the new build.
func TestFinalWeekThousandsOfTemplates(t *testing.T) {
	t.Parallel()
	const total, own = 3000, 30
	files := map[string]string{}
	for i := range own {
		files[fmt.Sprintf("sandbox-templates/t-%02d.yaml", i)] = tpl("node:22", fmt.Sprintf("echo %d", i))
	}
	w := newFinalWeek(t, files, 300*time.Millisecond)
	for i := range total {
		seed := emulator.TemplateSeed{Name: fmt.Sprintf("team-%04d", i), BuildSpec: map[string]any{"from": "python:3.12"}}
		if i%(total/own) == total/own-1 { // the last of each hundred
			n := i / (total / own)
			seed = emulator.TemplateSeed{Name: fmt.Sprintf("t-%02d", n), BuildSpec: map[string]any{"from": "node:22",
				"steps": []any{map[string]any{"run": fmt.Sprintf("echo %d", n)}}}}
		}
		if _, err := w.e.SeedTemplate(seed); err != nil {
			t.Fatal(err)
		}
	}
	before := w.e.Counters()
	s := w.run(t, "the first run", "push", w.head(), nil)
	if c := w.e.Counters(); c.Writes != before.Writes || s.Outputs["changed-templates"] != "[]" {
		t.Fatalf("the first run wrote %d times, changed %s\n%s", c.Writes-before.Writes, s.Outputs["changed-templates"], s.Stdout)
	}
	c1 := w.push(t, map[string]string{"sandbox-templates/t-29.yaml": tpl("node:24", "echo 29")})
	before = w.e.Counters()
	s = w.run(t, "the push of one file", "push", c1, nil)
	c := w.e.Counters()
	got := requestsSince(before, c)
	if c.BuildsCreated-before.BuildsCreated != 1 || c.TemplatesCreated != before.TemplatesCreated ||
		s.Outputs["changed-templates"] != `["t-29"]` || got["list_builds"] != 1 {
		t.Errorf("the push of one file: %d builds, %d templates created, changed %s, requests %v; want 1, 0, t-29, one build read\n%s",
			c.BuildsCreated-before.BuildsCreated, c.TemplatesCreated-before.TemplatesCreated, s.Outputs["changed-templates"], got, s.Stdout)
	}
	if got["list"] != total/100+1 && got["list"] != total/100 {
		t.Errorf("the push read %d list pages, want the %d pages of 100", got["list"], total/100)
	}
	var ids map[string]string
	s.json(t, "template-ids", &ids)
	if len(ids) != own {
		t.Errorf("template-ids names %d templates, want %d", len(ids), own)
	}
	w.settled(t, "the push of one file")
}
