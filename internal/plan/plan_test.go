package plan

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestCompute(t *testing.T) {
	t.Parallel()
	const sha = "c0ffee"
	want := Desired{Name: "node", File: "sandbox-templates/node.yaml", Digests: []string{"d1", "n1"}}
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
			[]Remote{{ID: "t1", Name: "Node", Slug: "node", Builds: []RemoteBuild{{ID: "b1", State: "ready", Digests: []string{"d1"}}}}}, Options{},
			Item{Action: Unchanged, Reason: "spec unchanged (build b1)", TemplateID: "t1"}},
		{"server-normalized digest matches", want,
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b1", State: "ready", Digests: []string{"n1"}}}}}, Options{},
			Item{Action: Unchanged, Reason: "spec unchanged (build b1)", TemplateID: "t1"}},
		{"build in progress for the spec", want,
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b2", State: "building", Digests: []string{"d1"}}}}}, Options{},
			Item{Action: Unchanged, Reason: "spec unchanged (build b2)", TemplateID: "t1"}},
		{"spec changed", want,
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b1", State: "ready", Digests: []string{"old"}}}}}, Options{},
			Item{Action: Build, Reason: "spec changed", TemplateID: "t1"}},
		{"older build of the spec still serves", want,
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b2", State: "failed", Digests: []string{"old"}}, {ID: "b1", State: "ready", Digests: []string{"d1"}}}}}, Options{},
			Item{Action: Unchanged, Reason: "spec unchanged (build b1)", TemplateID: "t1"}},
		{"reverting to an older spec rebuilds it", want,
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b2", State: "ready", Digests: []string{"s2"}}, {ID: "b1", State: "ready", Digests: []string{"d1"}}}}}, Options{},
			Item{Action: Build, Reason: "spec changed", TemplateID: "t1"}},
		{"a newer build in progress with another spec", want,
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b2", State: "building", Digests: []string{"s2"}}, {ID: "b1", State: "ready", Digests: []string{"d1"}}}}}, Options{},
			Item{Action: Build, Reason: "spec changed", TemplateID: "t1"}},
		{"last build of the spec failed", want,
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b1", State: "failed", Digests: []string{"d1"}}}}}, Options{Commit: "new"},
			Item{Action: Build, Reason: "last build of this spec failed", TemplateID: "t1"}},
		{"no builds at all", want,
			[]Remote{{ID: "t1", Name: "node", Status: "draft"}}, Options{},
			Item{Action: Build, Reason: "no build yet", TemplateID: "t1"}},
		{"no builds but template spec ready", want,
			[]Remote{{ID: "t1", Name: "node", Status: "ready", SpecDigests: []string{"n1"}}}, Options{},
			Item{Action: Unchanged, Reason: "spec unchanged (template ready)", TemplateID: "t1"}},
		{"builds without specs: the template's spec decides", want,
			[]Remote{{ID: "t1", Name: "node", Status: "ready", SpecDigests: []string{"n1"}, Builds: []RemoteBuild{{ID: "b4", State: "ready"}}}}, Options{},
			Item{Action: Unchanged, Reason: "spec unchanged (build b4)", TemplateID: "t1"}},
		{"builds without specs, template spec differs", want,
			[]Remote{{ID: "t1", Name: "node", Status: "ready", SpecDigests: []string{"old"}, Builds: []RemoteBuild{{ID: "b4", State: "ready"}}}}, Options{},
			Item{Action: Build, Reason: "spec changed", TemplateID: "t1"}},
		{"build always", want,
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b1", State: "ready", Digests: []string{"d1"}}}}}, Options{Mode: BuildAlways},
			Item{Action: Build, Reason: "build: always", TemplateID: "t1"}},
		{"build never", want,
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b1", State: "ready", Digests: []string{"old"}}}}}, Options{Mode: BuildNever},
			Item{Action: Unchanged, Reason: "needs a build, skipped (build: never)", TemplateID: "t1"}},
		{"re-run adopts this commit's build", want,
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b9", State: "failed", Digests: []string{"d1"}, Commit: sha}, {ID: "b8", State: "ready", Digests: []string{"old"}}}}}, Options{Commit: sha},
			Item{Action: Build, Reason: "spec changed", TemplateID: "t1", Adopt: "b9"}},
		{"re-run tells the first attempt's reason again", want,
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b9", State: "queued", Digests: []string{"d1"}, Commit: sha}, {ID: "b8", State: "failed", Digests: []string{"d1"}}}}}, Options{Commit: sha},
			Item{Action: Build, Reason: "last build of this spec failed", TemplateID: "t1", Adopt: "b9"}},
		{"re-run adopts the build queued by this commit's create", want,
			[]Remote{{ID: "t1", Name: "node", CreatedCommit: sha, Builds: []RemoteBuild{{ID: "b1", State: "queued", Digests: []string{"n1"}}}}}, Options{Commit: sha},
			Item{Action: Create, Reason: "not found", TemplateID: "t1", Adopt: "b1"}},
		{"build always at the same commit adopts", want,
			[]Remote{{ID: "t1", Name: "node", Builds: []RemoteBuild{{ID: "b3", State: "ready", Digests: []string{"d1"}, Commit: sha}}}}, Options{Commit: sha, Mode: BuildAlways},
			Item{Action: Build, Reason: "build: always", TemplateID: "t1", Adopt: "b3"}},
		{"re-run resumes a create that stopped before its build", want,
			[]Remote{{ID: "t1", Name: "node", Status: "draft", CreatedCommit: sha, SpecDigests: []string{"n1"}}}, Options{Commit: sha},
			Item{Action: Create, Reason: "not found", TemplateID: "t1", Resume: true}},
		{"invalid", Desired{Name: "node", File: "f.yaml", Problem: "2 problems"}, nil, Options{},
			Item{Action: Invalid, Reason: "2 problems"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := Compute([]Desired{tt.desired}, tt.remote, tt.opts)
			tt.want.Name = tt.desired.Name
			tt.want.File = tt.desired.File
			if diff := cmp.Diff([]Item{tt.want}, p.Items); diff != "" {
				t.Errorf("items (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUnmanaged(t *testing.T) {
	t.Parallel()
	p := Compute(
		[]Desired{{Name: "a", Digests: []string{"x"}}},
		[]Remote{{ID: "1", Name: "a"}, {ID: "2", Name: "zeta"}, {ID: "3", Name: "beta"}, {ID: "nextjs", Name: "nextjs", BuiltIn: true}},
		Options{})
	if diff := cmp.Diff([]string{"beta", "zeta"}, p.Unmanaged); diff != "" {
		t.Errorf("unmanaged (-want +got):\n%s", diff)
	}
}

func TestCounts(t *testing.T) {
	t.Parallel()
	p := Plan{Items: []Item{
		{Name: "a", Action: Create}, {Name: "b", Action: Build, Adopt: "b1"}, {Name: "c", Action: Unchanged}, {Name: "d", Action: Invalid},
	}}
	if p.Changes() != 2 || p.Pending() != 1 {
		t.Errorf("Changes=%d Pending=%d, want 2 and 1", p.Changes(), p.Pending())
	}
	if diff := cmp.Diff([]string{"a", "b"}, p.Changed()); diff != "" {
		t.Error(diff)
	}
}

func samplePlan() Plan {
	return Plan{
		Items: []Item{
			{Name: "go-1-23", Action: Unchanged, Reason: "spec unchanged, build b-17 ready", File: "sandbox-templates/go.yaml"},
			{Name: "node-22-base", Action: Create, Reason: "not found", File: "sandbox-templates/node-22-base.yaml"},
			{Name: "pipe|evil", Action: Invalid, Reason: "name: \"pipe|evil\" is not a slug\n::error::x", File: "sandbox-templates/pipe|evil.yaml"},
			{Name: "python-3-12", Action: Build, Reason: "spec changed", File: "sandbox-templates/python.yml", Adopt: "b-2"},
		},
		Unmanaged: []string{"legacy-ruby"},
	}
}

func TestRenderGolden(t *testing.T) {
	t.Parallel()
	p := samplePlan()
	for name, got := range map[string]string{"plan.txt": p.Text(), "plan.md": p.Markdown(), "plan.json": p.JSON() + "\n"} {
		golden(t, filepath.Join("testdata", name), got)
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

func TestActionText(t *testing.T) {
	t.Parallel()
	for _, a := range []Action{Unchanged, Create, Build, Invalid} {
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
