package prcomment_test

import (
	"context"
	"strings"
	"testing"

	"github.com/miosa-dev/sandbox-templates-action/internal/github/githubtest"
	"github.com/miosa-dev/sandbox-templates-action/internal/prcomment"
)

// Two labels on one pull request keep two comments, each edited in place
// by its own re-runs and never by the other label's.
func TestLabelsKeepOneCommentEach(t *testing.T) {
	t.Parallel()
	srv, cfg := setup(t)
	post := func(label, text string) prcomment.Result {
		t.Helper()
		c := cfg
		c.Marker = prcomment.Marker("Sandbox templates", "plan", label)
		res, err := prcomment.Post(context.Background(), c, text)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	staging := post("staging", "staging, first push")
	prod := post("prod", "prod, first push")
	if staging.Outcome != prcomment.Created || prod.Outcome != prcomment.Created || staging.CommentID == prod.CommentID {
		t.Fatalf("first runs: %v %d and %v %d, want two comments created", staging.Outcome, staging.CommentID, prod.Outcome, prod.CommentID)
	}
	// Re-runs, in the other order, each with a new text.
	prod2 := post("prod", "prod, second push")
	staging2 := post("staging", "staging, second push")
	if prod2.Outcome != prcomment.Updated || prod2.CommentID != prod.CommentID ||
		staging2.Outcome != prcomment.Updated || staging2.CommentID != staging.CommentID {
		t.Errorf("re-runs: prod %v %d, staging %v %d; want each label's comment edited in place", prod2.Outcome, prod2.CommentID, staging2.Outcome, staging2.CommentID)
	}
	all := srv.Comments(repo, pr)
	if len(all) != 2 {
		t.Fatalf("%d comments, want 2", len(all))
	}
	bodies := map[int64]string{}
	for _, c := range all {
		bodies[c.ID] = c.Body
	}
	if !strings.HasSuffix(bodies[staging.CommentID], "\nstaging, second push\n") || !strings.HasSuffix(bodies[prod.CommentID], "\nprod, second push\n") {
		t.Errorf("the comments hold %v", bodies)
	}
	if c := srv.Counts(); c.Create != 2 || c.Update != 2 || c.Delete != 0 {
		t.Errorf("counts %+v: want 2 creates, 2 updates, no delete", c)
	}
}

// A comment written before labels existed (its marker is workflow/job) is
// adopted by a run without a label, so an upgrade does not add a second
// comment; a labelled run leaves it alone and writes its own.
func TestUnlabelledAdoptsTheCommentOfEarlierVersions(t *testing.T) {
	t.Parallel()
	srv, cfg := setup(t)
	old := srv.AddComment(repo, pr, githubtest.Comment{User: githubtest.Bot,
		Body: "<!-- sandbox-templates-action: Sandbox%20templates/plan -->\n## ✅ Sandbox templates: success\n"})
	c := cfg
	c.Marker = prcomment.Marker("Sandbox templates", "plan", "")
	res, err := prcomment.Post(context.Background(), c, "the new layout")
	if err != nil || res.Outcome != prcomment.Updated || res.CommentID != old.ID {
		t.Fatalf("%v of comment %d, %v; want comment %d, written before labels, updated", res.Outcome, res.CommentID, err, old.ID)
	}
	c.Marker = prcomment.Marker("Sandbox templates", "plan", "prod")
	labelled, err := prcomment.Post(context.Background(), c, "prod's plan")
	if err != nil || labelled.Outcome != prcomment.Created {
		t.Fatalf("labelled: %v, %v; want a comment of its own", labelled, err)
	}
	if all := srv.Comments(repo, pr); len(all) != 2 || all[0].ID != old.ID || !strings.HasSuffix(all[0].Body, "\nthe new layout\n") {
		t.Errorf("comments %+v: want the old one, edited by the unlabelled run, and prod's", all)
	}
}
