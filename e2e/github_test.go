package e2e

import (
	"encoding/json"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"testing"

	"github.com/miosa-dev/sandbox-templates-action/internal/github/githubtest"
)

// gitHub is a fake GitHub holding the repository acme/platform, whose
// default branch is main.
type gitHub struct {
	*githubtest.Server
}

func newGitHub(t *testing.T) *gitHub {
	t.Helper()
	s := githubtest.New(githubtest.Options{Repository: "acme/platform"})
	s.SetToken(ghToken)
	t.Cleanup(s.Close)
	return &gitHub{s}
}

// commit commits files (the whole tree) on top of branch, moves the branch
// to it and returns its SHA.
func (g *gitHub) commit(branch string, files map[string]string) string {
	var parents []string
	if head := g.Branch(branch); head != "" {
		parents = []string{head}
	}
	sha := g.Commit(parents, files)
	g.SetBranch(branch, sha)
	return sha
}

// env is the runner's environment of a run of commit sha for event, with
// an event payload (the repository's default branch is added) and GitHub
// at g.
func (g *gitHub) env(t *testing.T, event, sha string, payload map[string]any) map[string]string {
	t.Helper()
	ev := map[string]any{"repository": map[string]any{"full_name": "acme/platform", "default_branch": "main"}}
	maps.Copy(ev, payload)
	raw, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return map[string]string{"GITHUB_API_URL": g.URL(), "GITHUB_SHA": sha, "GITHUB_EVENT_NAME": event,
		"GITHUB_EVENT_PATH": p, "GITHUB_REF": "refs/heads/main"}
}

// inputs are apiInputs with the fake GitHub's token.
func ghInputs(e *emu, more map[string]string) map[string]string {
	in := apiInputs(e, more)
	if _, ok := in["github-token"]; !ok {
		in["github-token"] = ghToken
	}
	return in
}

// mirrored is the workspace's mirror GitHub, with main moved to a commit of
// the workspace's files as they are now.
func (w *workspace) mirrored(t *testing.T) *gitHub {
	t.Helper()
	w.mirrorMu.Lock()
	defer w.mirrorMu.Unlock()
	if w.mirror == nil {
		w.mirror = newGitHub(t)
	}
	w.mirror.commit("main", w.tree(t))
	return w.mirror
}

// tree is the workspace's files and their contents.
func (w *workspace) tree(t *testing.T) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(w.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil // only regular files: the hostile cases' links and FIFOs are not committed
		}
		rel, err := filepath.Rel(w.dir, p)
		if err != nil {
			return nil
		}
		data, err := os.ReadFile(p)
		if err == nil {
			files[filepath.ToSlash(rel)] = string(data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
