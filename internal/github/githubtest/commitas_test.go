package githubtest_test

import (
	"strings"
	"testing"

	"github.com/miosa-dev/sandbox-templates-action/internal/github/githubtest"
)

// Commits added with the ids git gave them elsewhere are answered with
// those ids: a comparison of a branch with main names the real merge base
// and the files the branch changed since it.
func TestCommitAs(t *testing.T) {
	t.Parallel()
	s := githubtest.New(githubtest.Options{Repository: "o/r"})
	defer s.Close()
	const (
		root   = "1111111111111111111111111111111111111111"
		main1  = "2222222222222222222222222222222222222222"
		branch = "3333333333333333333333333333333333333333"
	)
	s.CommitAs(root, nil, map[string]string{"t/a.yaml": "a: 1\n", "t/b.yaml": "b: 1\n"})
	s.CommitAs(main1, []string{root}, map[string]string{"t/a.yaml": "a: 1\n", "t/b.yaml": "b: 2\n"})
	s.CommitAs(branch, []string{root}, map[string]string{"t/a.yaml": "a: 2\n", "t/b.yaml": "b: 1\n"})
	s.SetBranch("main", main1)
	s.SetBranch("feature", branch)

	code, body, _ := do(t, "GET", s.URL()+"/repos/o/r/compare/main..."+branch[:7], "")
	if code != 200 {
		t.Fatalf("compare: %d %s", code, body)
	}
	type sha struct{ SHA string }
	cmp := decode[struct {
		Status          string
		AheadBy         int `json:"ahead_by"`
		BehindBy        int `json:"behind_by"`
		MergeBaseCommit sha `json:"merge_base_commit"`
		BaseCommit      sha `json:"base_commit"`
		Commits         []sha
		Files           []struct{ Filename, Status string }
	}](t, body)
	if cmp.Status != "diverged" || cmp.AheadBy != 1 || cmp.BehindBy != 1 || cmp.MergeBaseCommit.SHA != root || cmp.BaseCommit.SHA != main1 {
		t.Errorf("compare: %+v; want diverged, 1 ahead, 1 behind, merge base %s, base %s", cmp, root, main1)
	}
	if len(cmp.Commits) != 1 || cmp.Commits[0].SHA != branch || len(cmp.Files) != 1 || cmp.Files[0].Filename != "t/a.yaml" || cmp.Files[0].Status != "modified" {
		t.Errorf("compare lists commits %v and files %v; want %s and t/a.yaml modified", cmp.Commits, cmp.Files, branch)
	}
	code, body, _ = do(t, "GET", s.URL()+"/repos/o/r/commits/feature", "")
	if c := decode[struct {
		SHA     string
		Parents []sha
	}](t, body); code != 200 || c.SHA != branch || len(c.Parents) != 1 || c.Parents[0].SHA != root {
		t.Errorf("commits/feature: %d %s", code, body)
	}

	for _, bad := range []struct{ name, sha, want string }{
		{"short", "abc", "not a full lower-case commit SHA"},
		{"upper case", strings.Repeat("A", 40), "not a full lower-case commit SHA"},
		{"added twice", root, "already added"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			defer func() {
				if r, _ := recover().(string); !strings.Contains(r, bad.want) {
					t.Errorf("panic %q, want one saying %q", r, bad.want)
				}
			}()
			s.CommitAs(bad.sha, nil, nil)
		})
	}
}
