package ghaction

import (
	"context"
	"testing"

	"github.com/miosa-dev/sandbox-templates-action/internal/github"
	"github.com/miosa-dev/sandbox-templates-action/internal/github/githubtest"
	goldenfile "github.com/miosa-dev/sandbox-templates-action/internal/golden"
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
	"github.com/miosa-dev/sandbox-templates-action/internal/preview"
	"github.com/miosa-dev/sandbox-templates-action/internal/run"
)

// The clean-up's job summary lists every preview with what became of it,
// with untrusted text escaped.
func TestCleanupMarkdown(t *testing.T) {
	t.Parallel()
	c := func(name, id string, pr int) preview.Candidate {
		return preview.Candidate{Row: preview.Row{ID: id, Name: name}, PR: pr}
	}
	r := cleanup{
		deleted:  []preview.Candidate{c("web-pr3-9333e5", "t-1", 3)},
		inUse:    []preview.Candidate{c("api-pr3-9333e5", "t-2`|x", 3)},
		gone:     []preview.Candidate{c("db-pr4-9333e5", "t-3", 4)},
		kept:     []preview.Candidate{c("web-pr5-9333e5", "t-4", 5)},
		failures: []string{"delete preview x-pr4-9333e5 of pull request #4: get /sandbox-templates/t-9: | boom"},
	}
	goldenfile.Testdata.Check(t, "cleanup.md", r.markdown(0, run.StatusFailed))
	goldenfile.Testdata.Check(t, "cleanup-none.md", cleanup{}.markdown(7, run.StatusSuccess))
}

// A preview run writes only while its head is the pull request's head:
// superseded otherwise, whatever the files.
func TestPullOrder(t *testing.T) {
	t.Parallel()
	f, gh := previewGitHub(t)
	const a, b = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	f.SetPullHead("acme/platform", 7, b)
	files := []run.OrderFile{{Path: "sandbox-templates/a.yaml"}, {Path: "sandbox-templates/b.yaml"}}
	for head, want := range map[string]plan.OrderState{a: plan.OrderSuperseded, b: plan.OrderAtHead} {
		ans, err := pullOrder{gh: gh, pr: 7, head: head}.Order(context.Background(), files)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if got := ans.Files[f.Path]; got.State != want || got.Evidence == "" || (want == plan.OrderSuperseded && got.Why == "") {
				t.Errorf("head %s: %s is %+v, want state %d with evidence", head[:1], f.Path, got, want)
			}
		}
	}
	if _, err := (pullOrder{gh: gh, pr: 8, head: a}).Order(context.Background(), files); err == nil {
		t.Error("a pull request GitHub does not know: want an error, so that nothing is built")
	}
}

// previewGitHub is a fake GitHub of acme/platform and a client of it.
func previewGitHub(t *testing.T) (*githubtest.Server, *github.Client) {
	t.Helper()
	f := githubtest.New(githubtest.Options{Repository: "acme/platform"})
	t.Cleanup(f.Close)
	gh, err := github.New(github.Config{APIURL: f.URL(), Token: "ghs_fake_token", Repository: "acme/platform", UserAgent: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return f, gh
}
