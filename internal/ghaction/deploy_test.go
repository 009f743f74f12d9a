package ghaction

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
	"github.com/miosa-dev/sandbox-templates-action/internal/github"
	"github.com/miosa-dev/sandbox-templates-action/internal/github/githubtest"
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
	"github.com/miosa-dev/sandbox-templates-action/internal/run"
	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
)

// served0 is an apply in which a, b and c serve their files: a unchanged,
// b built, c judged from its list row.
func served0() *run.Result {
	return &run.Result{
		Mode: run.ModeApply, Status: run.StatusSuccess, Files: 3, Planned: true,
		Plan: plan.Plan{Items: []plan.Item{
			{Name: "a", Action: plan.Unchanged, Serving: "b1"},
			{Name: "b", Action: plan.Build},
			{Name: "b", Action: plan.Describe},
			{Name: "c", Action: plan.Unchanged, Reason: "judged from the template list"},
		}},
		Builds: []run.BuildResult{
			{Name: "a", BuildID: "b1", State: "ready", Action: "unchanged"},
			{Name: "b", BuildID: "b2", State: "ready", Action: "build", Made: true},
			{Name: "c", State: "ready", Action: "unchanged", Source: run.SourceList},
		},
	}
}

// A deployment is success only when every template serves its file's spec
// at the end of an apply; builds of the wanted specs in progress are
// pending.
func TestServed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		edit     func(*run.Result)
		filtered bool
		why      string   // "" when every template serves its file or is building it
		pending  []string // builds not ready
	}{
		{"every template served", func(*run.Result) {}, false, "", nil},
		{"plan", func(r *run.Result) { r.Mode = run.ModePlan }, false, "only an apply", nil},
		{"failed", func(r *run.Result) {
			r.Status = run.StatusFailed
			r.Diagnostics = diag.List{{Message: "x", Rule: run.RuleAPI}}
		}, false, "status is failed", nil},
		{"timeout", func(r *run.Result) { r.Status = run.StatusTimeout }, false, "status is timeout", nil},
		{"templates input", func(*run.Result) {}, true, "templates input narrows", nil},
		{"superseded", func(r *run.Result) {
			r.Plan.Items[1] = plan.Item{Name: "b", Action: plan.Superseded, Reason: "main is newer"}
		}, false, "b is superseded (main is newer)", nil},
		{"off target", func(r *run.Result) { r.Plan.Items[1].Action = plan.OffTarget }, false, "b is off-target", nil},
		{"build: never skipped", func(r *run.Result) {
			r.Plan.Items[0] = plan.Item{Name: "a", Action: plan.Unchanged, Reason: "build x serves another spec; skipped (build: never)"}
			r.Builds = r.Builds[1:]
		}, false, "a does not serve its file's spec (build x serves another spec; skipped (build: never))", nil},
		{"in progress (wait: false)", func(r *run.Result) { r.Builds[1].State = "queued" }, false, "", []string{"b queued"}},
		{"failed build, not waited for", func(r *run.Result) { r.Builds[0].State = "failed" }, false, "", []string{"a failed"}},
	}
	for _, tt := range tests {
		res := served0()
		tt.edit(res)
		v := served(res, tt.filtered)
		switch {
		case tt.why == "" && (v.why != "" || !cmp.Equal(v.names, []string{"a", "b", "c"}) || !cmp.Equal(v.pending, tt.pending)):
			t.Errorf("%s: %+v; want a, b, c, pending %v", tt.name, v, tt.pending)
		case tt.why != "" && (v.names != nil || !strings.Contains(v.why, tt.why)):
			t.Errorf("%s: %+v; want %q", tt.name, v, tt.why)
		}
	}
}

// ghFake is a fake GitHub with one commit on main, and a client of it.
func ghFake(t *testing.T) (*githubtest.Server, *github.Client, string) {
	t.Helper()
	f := githubtest.New(githubtest.Options{Repository: "acme/platform"})
	t.Cleanup(f.Close)
	sha := f.Push("main", map[string]string{"sandbox-templates/a.yaml": "a"})
	gh, err := github.New(github.Config{APIURL: f.URL(), Token: "ghs_fake_token", Repository: "acme/platform", UserAgent: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return f, gh, sha
}

// The record of one apply: Writing before the writes, recordDeployment
// after the run. It returns the summary line and the log.
func apply(t *testing.T, gh *github.Client, sha string, writes []string, res *run.Result) (string, string) {
	t.Helper()
	rec := &recorder{gh: gh, env: "sandbox-templates", this: sha, patterns: spec.DefaultPatterns,
		runURL: "https://github.com/acme/platform/actions/runs/42"}
	if len(writes) > 0 {
		complete := true
		for _, it := range res.Plan.Items {
			complete = complete && (it.Action == plan.Unchanged || it.Action.Writes() || it.Action == plan.Describe)
		}
		rec.Writing(context.Background(), run.Writes{Templates: []string{"a", "b", "c"}, Pending: writes, Complete: complete})
	}
	in := runSettings{Config: run.Config{Mode: run.ModeApply, Commit: sha}, record: rec}
	log, buf := newLog()
	line := recordDeployment(context.Background(), log, in, res)
	if err := log.w.Flush(); err != nil {
		t.Fatal(err)
	}
	return line, buf.String()
}

// The record across runs: a deployment of each commit whose templates all
// serve their files, once per commit; an in_progress deployment made
// before a run's writes, which becomes success when they serve, stays in
// progress while they build (naming them), and becomes failure when
// something else went wrong; a re-run completes its commit's deployment
// instead of making another.
func TestRecordDeployment(t *testing.T) {
	t.Parallel()
	f, gh, sha1 := ghFake(t)
	line, out := apply(t, gh, sha1, nil, served0())
	deps := f.Deployments()
	if len(deps) != 1 || !strings.Contains(line, "Recorded deployment") || strings.Contains(out, "::") {
		t.Fatalf("first run: %d deployments, line %q, log %q", len(deps), line, out)
	}
	d := deps[0]
	if d.SHA != sha1 || d.Ref != sha1 || d.Environment != "sandbox-templates" || d.AutoMerge == nil || *d.AutoMerge ||
		d.RequiredContexts == nil || len(d.RequiredContexts) != 0 || d.TransientEnvironment || d.ProductionEnvironment {
		t.Errorf("deployment %+v", d)
	}
	var rec record
	if err := json.Unmarshal(d.Payload, &rec); err != nil ||
		!cmp.Equal(rec, record{Tool: toolName, Patterns: spec.DefaultPatterns, Templates: []string{"a", "b", "c"}, Count: 3, Pending: []string{}}) {
		t.Errorf("payload %s, %v", d.Payload, err)
	}
	if st := d.Statuses; len(st) != 1 || st[0].State != "success" || st[0].LogURL != "https://github.com/acme/platform/actions/runs/42" || st[0].EnvironmentURL != "" {
		t.Errorf("statuses %+v", st)
	}
	// A re-run of the commit writes nothing more.
	writes := func() int { return f.Count(githubtest.OpCreateDeployment) + f.Count(githubtest.OpCreateStatus) }
	before := writes()
	if line, _ := apply(t, gh, sha1, nil, served0()); !strings.Contains(line, "Already recorded") || writes() != before {
		t.Errorf("re-run: %q, %d writes", line, writes()-before)
	}
	// A run that writes b: in_progress first, then success, one deployment.
	sha2 := f.Push("main", map[string]string{"b": "2"})
	if line, _ := apply(t, gh, sha2, []string{"b"}, served0()); !strings.Contains(line, "Recorded deployment") {
		t.Errorf("a run that writes: %q", line)
	}
	deps = f.Deployments()
	last := deps[len(deps)-1]
	if len(deps) != 2 || last.SHA != sha2 || stateList(last) != "in_progress success" || deps[0].State() != "inactive" {
		t.Errorf("after a run that writes: %d deployments, the last of %s %q, the first %q", len(deps), last.SHA, stateList(last), deps[0].State())
	}
	if err := json.Unmarshal(last.Payload, &rec); err != nil || !cmp.Equal(rec.Pending, []string{"b"}) || rec.PendingCount != 1 {
		t.Errorf("payload %s, %v", last.Payload, err)
	}
	// Its builds still in progress (wait: false): it stays in progress.
	sha3 := f.Push("main", map[string]string{"b": "3"})
	building := served0()
	building.Builds[1].State = "building"
	line, out = apply(t, gh, sha3, []string{"b"}, building)
	if !strings.Contains(line, "is in progress: 1 build(s) are not ready yet (b building)") || strings.Contains(out, "::") {
		t.Errorf("building: line %q, log %q", line, out)
	}
	// A re-run that writes b again completes the same deployment.
	if line, _ := apply(t, gh, sha3, []string{"b"}, served0()); !strings.Contains(line, "Recorded deployment") {
		t.Errorf("the re-run: %q", line)
	}
	deps = f.Deployments()
	if last := deps[len(deps)-1]; len(deps) != 3 || last.SHA != sha3 || stateList(last) != "in_progress in_progress success" {
		t.Errorf("after the re-run: %d deployments, the last %q", len(deps), stateList(last))
	}
	// A run that writes and then fails marks its deployment failure.
	sha4 := f.Push("main", map[string]string{"b": "4"})
	failed := served0()
	failed.Status = run.StatusFailed
	if line, out := apply(t, gh, sha4, []string{"b"}, failed); line != "" || !strings.Contains(out, "marked failure: the run's status is failed") {
		t.Errorf("failed: line %q, log %q", line, out)
	}
	if deps = f.Deployments(); deps[len(deps)-1].State() != "failure" {
		t.Errorf("the failed run's deployment is %q", deps[len(deps)-1].State())
	}
	// A run that writes while another template is superseded: inactive.
	sha5 := f.Push("main", map[string]string{"b": "5"})
	partly := served0()
	partly.Plan.Items[0] = plan.Item{Name: "a", Action: plan.Superseded, Reason: "main is newer"}
	if line, out := apply(t, gh, sha5, []string{"b"}, partly); line != "" || !strings.Contains(out, "marked inactive: a is superseded (main is newer)") {
		t.Errorf("partly: line %q, log %q", line, out)
	}
	if deps = f.Deployments(); stateList(deps[len(deps)-1]) != "inactive" {
		t.Errorf("the partial run's deployment is %q, want inactive from before its writes", stateList(deps[len(deps)-1]))
	}
	// A run that writes nothing and is not served changes nothing.
	before = len(f.Requests())
	if line, out := apply(t, gh, sha4, nil, building); line != "" || len(f.Requests()) != before ||
		!strings.Contains(out, "Deployment not recorded: 1 build(s) are not ready yet (b building)") {
		t.Errorf("no writes, building: line %q, log %q, %d requests", line, out, len(f.Requests())-before)
	}
}

// stateList is a deployment's states, oldest first.
func stateList(d githubtest.Deployment) string {
	var s []string
	for _, st := range d.Statuses {
		s = append(s, st.State)
	}
	return strings.Join(s, " ")
}

// A token that may not write deployments, no token, and a commit GitHub
// does not have are one notice each, never a warning nor a failure.
func TestRecordRefusals(t *testing.T) {
	t.Parallel()
	f, gh, sha := ghFake(t)
	f.SetReadOnly(true)
	for _, writes := range [][]string{nil, {"b"}} {
		line, out := apply(t, gh, sha, writes, served0())
		if line != "" || strings.Count(out, "::notice::") != 1 || !strings.Contains(out, "::notice::Deployment not recorded: the token may not write deployments") {
			t.Errorf("read-only, writes %v: line %q, log %q", writes, line, out)
		}
	}
	f.SetReadOnly(false)
	line, out := apply(t, gh, "1111111111111111111111111111111111111111", nil, served0())
	if line != "" || strings.Count(out, "::notice::") != 1 || !strings.Contains(out, "GitHub does not have commit 111111111111") {
		t.Errorf("unknown commit: line %q, log %q", line, out)
	}
	log, buf := newLog()
	in := runSettings{Config: run.Config{Mode: run.ModeApply, Commit: sha}, record: &recorder{env: "e", this: sha}}
	if line := recordDeployment(context.Background(), log, in, served0()); line != "" {
		t.Errorf("no token: %q", line)
	}
	_ = log.w.Flush()
	if out := buf.String(); strings.Count(out, "::notice::") != 1 || !strings.Contains(out, "no github-token") {
		t.Errorf("no token: log %q", out)
	}
	if n := len(f.Deployments()); n != 0 {
		t.Errorf("%d deployments", n)
	}
}

// Another run that marks writes to another commit after this run read the
// server (Since) overtakes it: this run records no success and no
// in_progress, and marks its own deployment inactive, as what it judged may
// predate those writes. A mark of this very commit does not (such a run
// writes this commit's files), nor a deployment that names no writes (a
// run that wrote nothing and recorded what it found).
func TestRecordOvertaken(t *testing.T) {
	t.Parallel()
	ours := json.RawMessage(`{"tool":"sandbox-templates-action","patterns":["sandbox-templates/*.yaml","sandbox-templates/*.yml"]}`)
	marked := json.RawMessage(`{"tool":"sandbox-templates-action","patterns":["sandbox-templates/*.yaml","sandbox-templates/*.yml"],"pending":["a"],"pending_count":1}`)
	for _, tt := range []struct {
		name     string
		writes   []string
		res      func() *run.Result
		other    bool // the other run's mark is of another commit
		noWrites bool // the other run's deployment names no writes
		after    bool // the other run marks its writes after this one
		success  bool // the other run's deployment ends a success
		line     string
		states   string // this commit's deployments' states, oldest first
		deploys  int    // deployments in all
	}{
		{name: "served, no writes", res: served0, other: true,
			line: "Deployment not recorded: another run marked deployment", deploys: 2},
		{name: "served, writes", writes: []string{"b"}, res: served0, other: true,
			line: "marked inactive: another run marked deployment", states: "inactive", deploys: 3},
		{name: "building, writes", writes: []string{"b"}, other: true, res: func() *run.Result {
			r := served0()
			r.Builds[1].State = "building"
			return r
		}, line: "marked inactive: another run marked deployment", states: "inactive", deploys: 3},
		{name: "a run of this commit meanwhile", writes: []string{"b"}, res: served0,
			line: "Recorded deployment", states: "in_progress success", deploys: 3},
		{name: "a run of this commit that marked its writes after this one", writes: []string{"b"}, res: served0, after: true,
			line: "Recorded deployment", states: "in_progress inactive", deploys: 3, success: true},
		{name: "a run of another commit that wrote nothing", writes: []string{"b"}, res: served0, other: true, noWrites: true,
			line: "Recorded deployment", states: "in_progress success", deploys: 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, gh, sha1 := ghFake(t)
			f.AddDeployment(sha1, "sandbox-templates", "success", ours)
			sha2 := f.Push("main", map[string]string{"b": "2"})
			rec := &recorder{gh: gh, env: "sandbox-templates", this: sha2, patterns: spec.DefaultPatterns}
			if a := rec.Since(context.Background(), []run.OrderFile{{Path: "b", Blob: "x"}}); a.Base != sha1 {
				t.Fatalf("since: %+v", a)
			}
			other := sha1
			if !tt.other {
				other = sha2
			}
			mark := func() {
				if tt.noWrites {
					f.AddDeployment(other, "sandbox-templates", "success", ours)
				} else {
					f.AddDeployment(other, "sandbox-templates", "in_progress", marked)
				}
			}
			if !tt.after {
				mark()
			}
			if len(tt.writes) > 0 {
				rec.Writing(context.Background(), run.Writes{Templates: []string{"a", "b", "c"}, Pending: tt.writes, Complete: true})
			}
			if tt.after {
				mark()
			}
			log, buf := newLog()
			line := recordDeployment(context.Background(), log, runSettings{Config: run.Config{Mode: run.ModeApply, Commit: sha2}, record: rec}, tt.res())
			_ = log.w.Flush()
			if !strings.Contains(line, tt.line) || strings.Contains(buf.String(), "::") {
				t.Errorf("line %q, log %q; want %q and no annotation", line, buf.String(), tt.line)
			}
			deps := f.Deployments()
			var states []string
			for _, d := range deps {
				if d.SHA == sha2 && d.Payload != nil && strings.Contains(string(d.Payload), "templates_count") {
					states = append(states, stateList(d))
				}
			}
			if got := strings.Join(states, ","); got != tt.states || len(deps) != tt.deploys {
				t.Errorf("this run's deployments %q, %d in all; want %q, %d", got, len(deps), tt.states, tt.deploys)
			}
			if newest := deps[len(deps)-1]; tt.success && stateList(newest) != "in_progress success" {
				t.Errorf("the newest deployment (the other run's) is %q, want in_progress success", stateList(newest))
			}
		})
	}
}
