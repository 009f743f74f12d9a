package gitinfo_test

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
	"github.com/miosa-dev/sandbox-templates-action/internal/gitinfo"
	_ "github.com/miosa-dev/sandbox-templates-action/internal/golden" // -update
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
	"github.com/miosa-dev/sandbox-templates-action/internal/run"
)

type quiet struct{}

func (quiet) Info(string)    {}
func (quiet) Warn(string)    {}
func (quiet) Notice(string)  {}
func (quiet) Plan(plan.Plan) {}
func (quiet) Mask(string)    {}

// repo makes a git repository whose main branch holds one commit per spec
// of sandbox-templates/app.yaml, and returns it with the commits' SHAs.
func repo(t *testing.T, froms ...string) (string, func(args ...string) string, []string) {
	t.Helper()
	dir := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=a", "GIT_AUTHOR_EMAIL=a@x", "GIT_COMMITTER_NAME=a", "GIT_COMMITTER_EMAIL=a@x")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q", "-b", "main")
	if err := os.MkdirAll(filepath.Join(dir, "sandbox-templates"), 0o755); err != nil {
		t.Fatal(err)
	}
	var shas []string
	for _, from := range froms {
		write(t, dir, from)
		git("add", ".")
		git("commit", "-qm", from)
		shas = append(shas, git("rev-parse", "HEAD"))
	}
	return dir, git, shas
}

func write(t *testing.T, dir, from string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "sandbox-templates/app.yaml"), []byte("build_spec:\n  from: "+from+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The CLI's commit order comes from git: commits A (node:22), B (node:24)
// and C, a revert to node:22, on main; C is applied. Applying at B's
// checkout again (an old checkout) would roll C back: main's head holds
// other content for the file and descends from B, so the write is
// superseded, and nothing is built. Local edits on top of main deploy.
func TestOrderFromGit(t *testing.T) {
	t.Parallel()
	dir, git, shas := repo(t, "node:22", "node:24", "node:22")
	opts := emulator.NewOptions()
	opts.BuildDuration = 0
	emu := emulator.New(opts)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	r := gitinfo.Repo{Root: dir}
	apply := func(sha string) *run.Result {
		t.Helper()
		res, err := run.Do(context.Background(), run.Config{Root: dir, Mode: run.ModeApply, APIKey: "msk_test", APIURL: srv.URL + "/api/v1",
			Commit: sha, Repository: "acme/x", Order: gitinfo.Order{Repo: r, Target: "main", This: sha}}, quiet{})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := apply(shas[2]); res.Status != run.StatusSuccess || res.Plan.Items[0].Evidence == "" {
		t.Fatalf("C: %s %+v", res.Status, res.Plan.Items)
	}
	builds := emu.Counters().BuildsCreated
	git("checkout", "-q", shas[1])
	res := apply(shas[1])
	if res.Status != run.StatusSuccess || res.Plan.Count(plan.Superseded) != 1 || emu.Counters().BuildsCreated != builds {
		t.Errorf("apply at B: %s %+v, %d builds (want superseded, green, nothing built)", res.Status, res.Plan.Items, emu.Counters().BuildsCreated-builds)
	}
	git("checkout", "-q", "main")
	write(t, dir, "node:26")
	res = apply(shas[2])
	if res.Plan.Count(plan.Build) != 1 || !strings.Contains(res.Plan.Items[0].Evidence, "ahead of main") {
		t.Errorf("local edit on main: %+v, want one build with this checkout's evidence", res.Plan.Items)
	}
}

func TestOrderStates(t *testing.T) {
	t.Parallel()
	dir, git, shas := repo(t, "node:22", "node:24")
	ctx := context.Background()
	r := gitinfo.Repo{Root: dir}
	blob := func(from string) string { return strings.TrimSpace(gitOut(t, dir, "build_spec:\n  from: "+from+"\n")) }
	file := func(from string) []run.OrderFile {
		return []run.OrderFile{{Path: "sandbox-templates/app.yaml", Blob: blob(from)}}
	}
	git("branch", "side", shas[0])
	git("checkout", "-q", "side")
	write(t, dir, "node:20")
	git("commit", "-qam", "side")
	side := git("rev-parse", "HEAD")
	tests := []struct {
		name, this, from string
		want             plan.OrderState
	}{
		{"the head holds it", shas[1], "node:24", plan.OrderAtHead},
		{"an older commit, changed since", shas[0], "node:22", plan.OrderSuperseded},
		{"diverged", side, "node:20", plan.OrderOffTarget},
		{"local changes on the head", shas[1], "node:26", plan.OrderAtHead},
	}
	for _, tt := range tests {
		a, err := gitinfo.Order{Repo: r, Target: "main", This: tt.this}.Order(ctx, file(tt.from))
		if err != nil {
			t.Fatal(err)
		}
		if got := a.Files["sandbox-templates/app.yaml"]; got.State != tt.want || got.Evidence == "" {
			t.Errorf("%s: %+v, want state %d", tt.name, got, tt.want)
		}
	}
	if _, err := (gitinfo.Order{Repo: r, Target: "nope", This: shas[1]}).Order(ctx, file("node:24")); err == nil {
		t.Error("an unknown target answered")
	}
	if got, err := r.DefaultTarget(ctx); err != nil || got != "main" {
		t.Errorf("DefaultTarget = %q, %v; want main", got, err)
	}
	if tm, ok := r.CommitTime(ctx, shas[0]); !ok || tm.IsZero() {
		t.Error("no commit time")
	}
	if r.Head(ctx) != side {
		t.Error("Head is not the checked-out commit")
	}
}

// gitOut is git hash-object's id of content: the blob id the run computes.
func gitOut(t *testing.T, dir, content string) string {
	t.Helper()
	cmd := exec.Command("git", "-C", dir, "hash-object", "--stdin")
	cmd.Stdin = strings.NewReader(content)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
