package plan

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	_ "github.com/miosa-dev/sandbox-templates-action/internal/golden" // -update
)

func TestCompute(t *testing.T) {
	t.Parallel()
	const sha = "c0ffee"
	commitTime := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	before, after := commitTime.Add(-time.Hour), commitTime.Add(time.Hour)
	want := Desired{Name: "node", File: "sandbox-templates/node.yaml", Digests: []string{"d1", "n1"},
		Written: map[string]any{"from": "node:22"}}
	spec22 := map[string]any{"from": "node:22", "workdir": "/workspace", "vcpu": 4}
	spec24 := map[string]any{"from": "node:24"}
	timed := Options{Commit: sha, CommitTime: commitTime}
	withOrder := func(o Order) Desired { d := want; d.Order = o; return d }
	atHead := withOrder(Order{State: OrderAtHead, Evidence: "main at 2b3c holds this file"})
	superseded := withOrder(Order{State: OrderSuperseded, Evidence: "main at 2b3c", Why: "main at 2b3c changed this file after this commit; its run deploys it"})
	offTarget := withOrder(Order{State: OrderOffTarget, Evidence: "main at 2b3c", Why: "this commit is not in main's history"})
	exact := func(w map[string]any) Desired { d := want; d.Wanted = w; return d }
	tests := []struct {
		name    string
		desired Desired
		remote  []Remote
		opts    Options
		want    Item
	}{
		{"new template", want, nil, Options{}, Item{Action: Create, Reason: "not found"}},
		{"built-in with same name never matches", want,
			[]Remote{{ID: "node", Name: "node", BuiltIn: true, Status: "active"}}, Options{},
			Item{Action: Create, Reason: "not found"}},
		{"matched by slug", want,
			[]Remote{{ID: "t1", Name: "Node", Slug: "node", Builds: []RemoteBuild{{ID: "b1", State: "ready", Digest: "d1"}}}}, Options{},
			Item{Action: Unchanged, Reason: "served by build b1 (ready)", TemplateID: "t1", Serving: "b1", ServingState: "ready"}},
		{"server-normalized digest matches", want,
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b1", State: "ready", Digest: "n1"}}}}, Options{},
			Item{Action: Unchanged, Reason: "served by build b1 (ready)", TemplateID: "t1", Serving: "b1", ServingState: "ready"}},
		{"build in progress for the spec", want,
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b2", State: "building", Digest: "d1"}}}}, Options{},
			Item{Action: Unchanged, Reason: "build b2 of this spec is building", TemplateID: "t1", Serving: "b2", ServingState: "building"}},
		{"spec changed", want,
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b1", State: "ready", Digest: "old"}}}}, Options{},
			Item{Action: Build, Reason: "spec changed (build b1 serves another spec)", TemplateID: "t1", Base: "b1"}},
		{"a newer failed build of another spec is what serves", want,
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b2", State: "failed", Digest: "old", ErrorCode: "BUILD_STEP_FAILED"}, {ID: "b1", State: "ready", Digest: "d1"}}}}, Options{},
			Item{Action: Build, Reason: "spec changed (build b2 of another spec failed, BUILD_STEP_FAILED)", TemplateID: "t1", Base: "b2"}},
		{"cancelled builds do not serve", want,
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b2", State: "cancelled", Digest: "old"}, {ID: "b1", State: "ready", Digest: "d1"}}}}, Options{},
			Item{Action: Unchanged, Reason: "served by build b1 (ready)", TemplateID: "t1", Serving: "b1", ServingState: "ready"}},
		{"reverting to an older spec rebuilds it", want,
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b2", State: "ready", Digest: "s2"}, {ID: "b1", State: "ready", Digest: "d1"}}}}, Options{},
			Item{Action: Build, Reason: "spec changed (build b2 serves another spec)", TemplateID: "t1", Base: "b2"}},
		{"a newer build in progress with another spec", want,
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b2", State: "building", Digest: "s2"}, {ID: "b1", State: "ready", Digest: "d1"}}}}, Options{},
			Item{Action: Build, Reason: "spec changed (build b2 serves another spec)", TemplateID: "t1", Base: "b2"}},
		{"failed build of this spec is rebuilt", want,
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b1", State: "failed", Digest: "d1", ErrorCode: "REGISTRY_TIMEOUT"}}}}, Options{Commit: sha},
			Item{Action: Build, Reason: "build b1 of this spec failed, REGISTRY_TIMEOUT: rebuild", TemplateID: "t1", Base: "b1"}},
		{"failed build is rebuilt with build: always too", want,
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b1", State: "failed", Digest: "d1"}}}}, Options{Mode: BuildAlways},
			Item{Action: Build, Reason: "build b1 of this spec failed: rebuild", TemplateID: "t1", Base: "b1"}},
		{"failed build, build never", want,
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b1", State: "failed", Digest: "d1"}}}}, Options{Mode: BuildNever},
			Item{Action: Unchanged, Reason: "build b1 of this spec failed; skipped (build: never)", TemplateID: "t1"}},
		{"no builds at all", want,
			[]Remote{{ID: "t1", Name: "node", Status: "draft", Builds: []RemoteBuild{}}}, Options{},
			Item{Action: Build, Reason: "no build yet", TemplateID: "t1"}},
		{"no builds, build never", want,
			[]Remote{{ID: "t1", Name: "node", Status: "draft", Builds: []RemoteBuild{}}}, Options{Mode: BuildNever},
			Item{Action: Unchanged, Reason: "no build yet; skipped (build: never)", TemplateID: "t1"}},
		{"builds unreadable", want,
			[]Remote{{ID: "t1", Name: "node", ReadError: "http 503"}}, Options{},
			Item{Action: Unreadable, Reason: "its builds could not be read: http 503", TemplateID: "t1"}},
		{"served spec differs only by server defaults", want,
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b1", State: "ready", Digest: "srv", Spec: spec22}}}}, Options{},
			Item{Action: Unchanged, Reason: "served by build b1 (ready)", TemplateID: "t1", Serving: "b1", ServingState: "ready", DefaultsOnly: []string{"vcpu", "workdir"}}},
		{"defaults that moved on since the build cause no rebuild", Desired{Name: "node", File: want.File, Digests: []string{"d1", "n1"}, Written: want.Written, Validated: true},
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b1", State: "ready", Digest: "srv", Spec: spec22}}}}, Options{},
			Item{Action: Unchanged, Reason: "served by build b1 (ready)", TemplateID: "t1", Serving: "b1", ServingState: "ready", DefaultsOnly: []string{"vcpu", "workdir"}}},
		{"a written field that differs is a change", want,
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b1", State: "ready", Digest: "srv", Spec: spec24}}}}, Options{},
			Item{Action: Build, Reason: "spec changed (build b1 serves another spec)", TemplateID: "t1", Base: "b1"}},
		{"build always", want,
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b1", State: "ready", Digest: "d1"}}}}, Options{Mode: BuildAlways},
			Item{Action: Build, Reason: "build: always", TemplateID: "t1", Always: true}},
		{"build always, a build of the spec in progress", want,
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b1", State: "building", Digest: "d1"}}}}, Options{Mode: BuildAlways},
			Item{Action: Unchanged, Reason: "build b1 of this spec is building", TemplateID: "t1", Serving: "b1", ServingState: "building"}},
		{"build never", want,
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b1", State: "ready", Digest: "old"}}}}, Options{Mode: BuildNever},
			Item{Action: Unchanged, Reason: "build b1 serves another spec; skipped (build: never)", TemplateID: "t1"}},
		{"served build made before this commit is replaced", want,
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b1", State: "ready", Digest: "old", InsertedAt: before}}}}, timed,
			Item{Action: Build, Reason: "spec changed (build b1 serves another spec)", TemplateID: "t1", Base: "b1"}},
		{"served build made after this commit is a possible rollback", want,
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b1", State: "ready", Digest: "old", InsertedAt: after}}}}, timed,
			Item{Action: Refused, TemplateID: "t1", Base: "b1",
				Reason: "possible rollback: build b1 serves another spec and was made 2026-12-01T11:00:00Z, after this commit (2026-12-01T10:00:00Z): a newer commit or a build made by hand; set allow-rollback: true to replace it"}},
		{"allow-rollback replaces it", want,
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b1", State: "ready", Digest: "old", InsertedAt: after}}}}, Options{Commit: sha, CommitTime: commitTime, AllowRollback: true},
			Item{Action: Build, Reason: "rollback allowed: build b1, made after this commit, serves another spec (allow-rollback: true)", TemplateID: "t1", Base: "b1"}},
		{"the target's head holds this file: no clock guard", atHead,
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b1", State: "ready", Digest: "old", InsertedAt: after}}}}, timed,
			Item{Action: Build, Reason: "spec changed (build b1 serves another spec)", TemplateID: "t1", Base: "b1"}},
		{"a newer commit on the target changed the file", superseded,
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b1", State: "ready", Digest: "old", InsertedAt: before}}}}, timed,
			Item{Action: Superseded, Reason: "main at 2b3c changed this file after this commit; its run deploys it", TemplateID: "t1"}},
		{"a superseded create is skipped too", superseded, nil, timed,
			Item{Action: Superseded, Reason: "main at 2b3c changed this file after this commit; its run deploys it"}},
		{"off the target's history", offTarget,
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b1", State: "failed", Digest: "d1"}}}}, timed,
			Item{Action: OffTarget, Reason: "this commit is not in main's history", TemplateID: "t1"}},
		{"superseded, rollback allowed", superseded,
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b1", State: "ready", Digest: "old"}}}}, Options{AllowRollback: true},
			Item{Action: Build, Reason: "spec changed (build b1 serves another spec); main at 2b3c changed this file after this commit; its run deploys it (allow-rollback: true)", TemplateID: "t1", Base: "b1"}},
		{"no order and no commit time to guess from: refused", want,
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b1", State: "ready", Digest: "old"}}}}, Options{RefuseUnordered: "GitHub could not say"},
			Item{Action: Refused, Reason: "GitHub could not say", TemplateID: "t1", Base: "b1"}},
		{"the server's normalized form: a removed field deploys", exact(map[string]any{"from": "node:22", "startCmd": nil}),
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b1", State: "ready", Digest: "d1", Spec: map[string]any{"from": "node:22", "startCmd": "x"}}}}}, Options{},
			Item{Action: Build, Reason: "spec changed (build b1 serves another spec)", TemplateID: "t1", Base: "b1"}},
		{"the server's normalized form: null and empty equal absence", exact(map[string]any{"from": "node:22", "startCmd": nil, "env": map[string]any{}}),
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b1", State: "ready", Digest: "zz", Spec: map[string]any{"from": "node:22", "steps": []any{}}}}}}, Options{},
			Item{Action: Unchanged, Reason: "served by build b1 (ready)", TemplateID: "t1", Serving: "b1", ServingState: "ready"}},
		{"the server's normalized form: drift that adds a field", exact(map[string]any{"from": "node:22"}),
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b1", State: "ready", Digest: "d1", Spec: map[string]any{"from": "node:22", "user": "nobody"}}}}}, Options{},
			Item{Action: Build, Reason: "spec changed (build b1 serves another spec)", TemplateID: "t1", Base: "b1"}},
		{"commit metadata from a newer commit refuses", want,
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b1", State: "ready", Digest: "old", InsertedAt: after, Commit: "beef00000000ff", CommitTime: after}}}}, timed,
			Item{Action: Refused, TemplateID: "t1", Base: "b1",
				Reason: "possible rollback: build b1 serves another spec from commit beef00000000, made 2026-12-01T11:00:00Z, after this commit (2026-12-01T10:00:00Z); set allow-rollback: true to replace it"}},
		{"commit metadata from an older commit allows, however late the build", want,
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b1", State: "ready", Digest: "old", InsertedAt: after, Commit: "beef", CommitTime: before}}}}, timed,
			Item{Action: Build, Reason: "spec changed (build b1, made after this commit, serves a spec of older history)", TemplateID: "t1", Base: "b1"}},
		{"a build made at this commit is repaired", want,
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b1", State: "ready", Digest: "old", InsertedAt: after, Commit: sha, CommitTime: commitTime}}}}, timed,
			Item{Action: Build, Reason: "spec changed at this commit (build b1 serves another spec)", TemplateID: "t1", Base: "b1"}},
		{"no commit time: no guard", want,
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b1", State: "ready", Digest: "old", InsertedAt: after}}}}, Options{Commit: sha},
			Item{Action: Build, Reason: "spec changed (build b1 serves another spec)", TemplateID: "t1", Base: "b1"}},
		{"own failed build is never refused", want,
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b1", State: "failed", Digest: "d1", InsertedAt: after}}}}, timed,
			Item{Action: Build, Reason: "build b1 of this spec failed: rebuild", TemplateID: "t1", Base: "b1"}},
		{"invalid", Desired{Name: "node", File: "f.yaml", Problem: "2 problems"}, nil, Options{},
			Item{Action: Invalid, Reason: "2 problems"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := Compute([]Desired{tt.desired}, observed(tt.remote), tt.opts)
			tt.want.Name = tt.desired.Name
			tt.want.File = tt.desired.File
			if diff := cmp.Diff([]Item{tt.want}, p.Items, cmpopts.IgnoreFields(Item{}, "Changes", "Evidence")); diff != "" {
				t.Errorf("items (-want +got):\n%s", diff)
			}
		})
	}
}

// observed sets each remote's serving build, as the run's Observe stage
// does.
func observed(remote []Remote) []Remote {
	for i := range remote {
		remote[i].SetBuilds(remote[i].Builds)
	}
	return remote
}

func TestDescriptionChange(t *testing.T) {
	t.Parallel()
	p := Compute(
		[]Desired{{Name: "a", File: "a.yaml", Description: "new words", Digests: []string{"x"}}},
		observed([]Remote{{ID: "1", Name: "a", Description: "old words", Builds: []RemoteBuild{{ID: "b1", State: "ready", Digest: "x"}}}}),
		Options{})
	want := []Item{
		{Name: "a", File: "a.yaml", Action: Unchanged, Reason: "served by build b1 (ready)", TemplateID: "1", Serving: "b1", ServingState: "ready"},
		{Name: "a", File: "a.yaml", Action: Describe, TemplateID: "1",
			Reason: `changed from "old words" to "new words"; Miosa has no update call for templates, so it applies only when the template is created again`},
	}
	if diff := cmp.Diff(want, p.Items); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
	if p.Pending() != 0 || p.Changes() != 0 {
		t.Errorf("Pending=%d Changes=%d, want 0 and 0: no call can apply a description change, so neither fail-on-changes nor the outputs count it", p.Pending(), p.Changes())
	}
}

func TestUnmanaged(t *testing.T) {
	t.Parallel()
	p := Compute(
		[]Desired{{Name: "a", Digests: []string{"x"}}},
		[]Remote{{ID: "1", Name: "a"}, {ID: "2", Name: "zeta"}, {ID: "3", Name: "beta"}, {ID: "4", Name: "filtered"}, {ID: "nextjs", Name: "nextjs", BuiltIn: true}},
		Options{Managed: []string{"a", "filtered"}})
	// A template the repository has a file for, left out by the templates
	// filter, is managed all the same.
	if diff := cmp.Diff([]string{"beta", "zeta"}, p.Unmanaged); diff != "" {
		t.Errorf("unmanaged (-want +got):\n%s", diff)
	}
}

func TestCounts(t *testing.T) {
	t.Parallel()
	p := Plan{Items: []Item{
		{Name: "a", Action: Create}, {Name: "b", Action: Build}, {Name: "c", Action: Unchanged}, {Name: "d", Action: Invalid},
		{Name: "e", Action: Refused}, {Name: "f", Action: Describe}, {Name: "g", Action: Unreadable},
		{Name: "h", Action: Superseded}, {Name: "i", Action: OffTarget},
	}}
	if p.Changes() != 2 || p.Pending() != 3 {
		t.Errorf("Changes=%d Pending=%d, want 2 and 3", p.Changes(), p.Pending())
	}
	if diff := cmp.Diff([]string{"a", "b"}, p.Changed()); diff != "" {
		t.Error(diff)
	}
}

func TestActionText(t *testing.T) {
	t.Parallel()
	for _, a := range []Action{Unchanged, Create, Build, Invalid, Refused, Describe, Unreadable, Superseded, OffTarget} {
		var back Action
		b, _ := a.MarshalText()
		if err := back.UnmarshalText(b); err != nil || back != a {
			t.Errorf("round trip of %v gave %v, %v", a, back, err)
		}
	}
	if err := new(Action).UnmarshalText([]byte("delete")); err == nil {
		t.Error("unknown action accepted")
	}
}
