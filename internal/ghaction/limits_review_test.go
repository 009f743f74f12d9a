package ghaction

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miosa-dev/sandbox-templates-action/internal/run"
)

// The plan file is written only into a directory of the workspace: a
// checkout (a fork's pull request's) whose sandbox-templates-results is a
// symbolic link, or whose plan file is one, does not make the action write
// (or open to everyone) a file elsewhere; it warns instead.
func TestPlanFileReviewNeverFollowsALink(t *testing.T) {
	t.Parallel()
	rn := runner{RunID: 42, Job: "check"}
	rel := planFileName(rn, "")
	res := &run.Result{Mode: run.ModePlan, Status: run.StatusSuccess}
	for _, linked := range []string{"directory", "file"} {
		t.Run(linked, func(t *testing.T) {
			t.Parallel()
			root, elsewhere := t.TempDir(), t.TempDir()
			if err := os.Chmod(elsewhere, 0o700); err != nil {
				t.Fatal(err)
			}
			target := filepath.Join(elsewhere, "victim.json")
			if err := os.WriteFile(target, []byte("keep"), 0o600); err != nil {
				t.Fatal(err)
			}
			if linked == "directory" {
				if err := os.Symlink(elsewhere, filepath.Join(root, planDir)); err != nil {
					t.Fatal(err)
				}
			} else {
				if err := os.Mkdir(filepath.Join(root, planDir), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(target, filepath.Join(root, filepath.FromSlash(rel))); err != nil {
					t.Fatal(err)
				}
			}
			log, buf := newLog()
			got := writePlanFile(log, root, rel, res)
			if err := log.w.Flush(); err != nil {
				t.Fatal(err)
			}
			if got != "" || !strings.Contains(buf.String(), "::warning::plan file") {
				t.Errorf("writePlanFile = %q, want none and a warning\n%s", got, buf.String())
			}
			entries, _ := os.ReadDir(elsewhere)
			if raw, _ := os.ReadFile(target); string(raw) != "keep" || len(entries) != 1 {
				t.Errorf("a file outside the workspace was written: %q, %d entries", raw, len(entries))
			}
			if fi, err := os.Stat(elsewhere); err != nil || fi.Mode().Perm() != 0o700 {
				t.Errorf("the directory outside the workspace is %v now (%v)", fi.Mode().Perm(), err)
			}
		})
	}
}
