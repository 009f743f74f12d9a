package ghaction

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/miosa-dev/sandbox-templates-action/internal/github"
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
	"github.com/miosa-dev/sandbox-templates-action/internal/run"
)

// target is an event's deploy target: the ref whose head decides commit
// order, as the event and the target-ref input say.
type target struct {
	// Ref is the branch or tag to resolve; empty with Release.
	Ref string
	// Release: the latest release; ThisTag is the release of the run.
	Release bool
	ThisTag string
	// NoWrite says why this run never writes (a workflow_run of a pull
	// request or a fork): it plans instead.
	NoWrite string
	// CheckDefault: Ref must be the default branch, which the event did
	// not name: GitHub is asked.
	CheckDefault bool
}

// target is the deploy target of the run's event. An event whose target
// cannot be told without target-ref is an error naming it.
func (rn runner) target(targetRef string) (target, error) {
	if targetRef != "" {
		return target{Ref: targetRef}, nil
	}
	p := rn.Payload
	switch rn.Event {
	case "push", "workflow_dispatch":
		branch, ok := strings.CutPrefix(rn.Ref, "refs/heads/")
		def := ""
		if p.Repository != nil {
			def = p.Repository.DefaultBranch
		}
		switch {
		case !ok:
			return target{}, run.Usagef("input target-ref: a %s of %s writes only with target-ref set: the branch (or tag) whose head decides which commit's templates deploy", rn.Event, rn.Ref)
		case def == "":
			// The payload does not say (it always does on GitHub): GitHub
			// is asked along with the order.
			return target{Ref: branch, CheckDefault: true}, nil
		case branch != def:
			return target{}, run.Usagef("input target-ref: pushes to %s do not deploy by default (only the default branch, %s, does): set target-ref to deploy from this branch, with a key of its own", branch, def)
		}
		return target{Ref: branch}, nil
	case "schedule":
		// A scheduled run runs on the default branch.
		return target{Ref: strings.TrimPrefix(rn.Ref, "refs/heads/")}, nil
	case "release":
		t := target{Release: true}
		if p.Release != nil {
			t.ThisTag = p.Release.TagName
		}
		return t, nil
	case "workflow_run":
		wr := p.WorkflowRun
		switch {
		case wr == nil:
			return target{}, run.Usagef("input target-ref: the workflow_run event has no run in its payload; set target-ref")
		case strings.HasPrefix(wr.Event, "pull_request"):
			return target{NoWrite: "the triggering run was for a pull request (" + wr.Event + ")"}, nil
		case wr.HeadRepository == nil || wr.HeadRepository.FullName != rn.Repository:
			return target{NoWrite: "the triggering run was for another repository (a fork)"}, nil
		case p.Repository != nil && p.Repository.DefaultBranch != "" && wr.HeadBranch != p.Repository.DefaultBranch:
			return target{NoWrite: fmt.Sprintf("the triggering run was for the branch %s, and only the default branch (%s) deploys without target-ref", wr.HeadBranch, p.Repository.DefaultBranch)}, nil
		case p.Repository == nil || p.Repository.DefaultBranch == "":
			return target{Ref: wr.HeadBranch, CheckDefault: true}, nil
		}
		return target{Ref: wr.HeadBranch}, nil
	}
	return target{}, run.Usagef("input target-ref: a %s run writes only with target-ref set: the branch (or tag) whose head decides which commit's templates deploy", rn.Event)
}

// githubOrder is the commit order from GitHub: a run.Order that costs at
// most 3 requests whatever the number of files: the head (or the latest
// release), the blob ids of the files there, and, when a file differs, a
// comparison to word why. One more when the event does not name the
// default branch, and when a directory listing turns out capped although
// the checkout's directory was smaller.
type githubOrder struct {
	gh        *github.Client // nil without a token
	t         target
	this      string // the run's commit
	workspace string // the checkout, whose directories tell GitHub's listings' sizes
}

// dirSize is how many entries the directory of paths holds in the checkout
// at workspace, when they share one: GitHub lists at most 1000 of a
// directory, so a larger one is read as a tree at once, in one request. 0
// for unknown.
func dirSize(workspace string, paths []string) int {
	if len(paths) == 0 || workspace == "" {
		return 0
	}
	dir, ok := github.OneDir(paths)
	if !ok {
		return 0
	}
	entries, err := os.ReadDir(filepath.Join(workspace, filepath.FromSlash(dir)))
	if err != nil {
		return 0
	}
	return len(entries)
}

// Order compares each file's content with what the target's head holds.
func (g githubOrder) Order(ctx context.Context, files []run.OrderFile) (run.OrderAnswer, error) {
	if g.gh == nil {
		return run.OrderAnswer{}, errors.New("no github-token to ask GitHub which commit is the newest (the job needs permissions: contents: read)")
	}
	all := func(o plan.Order) run.OrderAnswer {
		a := run.OrderAnswer{Files: map[string]plan.Order{}}
		for _, f := range files {
			a.Files[f.Path] = o
		}
		return a
	}
	ref, name := g.t.Ref, g.t.Ref
	head := ""
	if g.t.Release {
		rel, err := g.gh.LatestRelease(ctx)
		switch {
		case github.IsNotFound(err):
			return all(plan.Order{State: plan.OrderOffTarget, Evidence: "releases", Why: "the repository has no latest release"}), nil
		case err != nil:
			return run.OrderAnswer{}, err
		case g.t.ThisTag != "" && rel.Tag != g.t.ThisTag:
			return all(plan.Order{State: plan.OrderSuperseded, Evidence: "the latest release " + rel.Tag,
				Why: fmt.Sprintf("release %s is not the latest release (%s): a prerelease, or an older release; set target-ref to deploy it", g.t.ThisTag, rel.Tag)}), nil
		}
		ref, name = rel.Tag, "the latest release "+rel.Tag
	} else {
		if g.t.CheckDefault {
			def, err := g.gh.DefaultBranch(ctx)
			if err != nil {
				return run.OrderAnswer{}, err
			}
			if def != ref {
				return all(plan.Order{State: plan.OrderOffTarget, Evidence: def,
					Why: fmt.Sprintf("pushes to %s do not deploy by default (only the default branch, %s, does): set target-ref to deploy from this branch", ref, def)}), nil
			}
		}
		c, err := g.gh.Commit(ctx, ref)
		switch {
		case github.IsNotFound(err):
			return all(plan.Order{State: plan.OrderOffTarget, Evidence: name, Why: fmt.Sprintf("the target %s no longer exists (a deleted branch?)", name)}), nil
		case err != nil:
			return run.OrderAnswer{}, err
		}
		ref, head = c.SHA, c.SHA
	}
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = f.Path
	}
	blobs, err := g.gh.Blobs(ctx, ref, paths, dirSize(g.workspace, paths))
	if err != nil {
		return run.OrderAnswer{}, err
	}
	at := name
	if head != "" {
		at += " at " + plan.ShortSHA(head)
	}
	a := run.OrderAnswer{Files: map[string]plan.Order{}}
	var differ *plan.Order
	for _, f := range files {
		if blobs[f.Path] == f.Blob {
			a.Files[f.Path] = plan.Order{State: plan.OrderAtHead, Evidence: at + " holds this file"}
			continue
		}
		if differ == nil {
			o, err := g.relation(ctx, ref, name, at, head)
			if err != nil {
				return run.OrderAnswer{}, err
			}
			differ = &o
		}
		a.Files[f.Path] = *differ
	}
	return a, nil
}

// relation words why a file differs from the head: the head descends from
// this commit (superseded), is this commit (the workspace changed the
// file: written as the head's own run), or does not (off the target).
func (g githubOrder) relation(ctx context.Context, ref, name, at, head string) (plan.Order, error) {
	if head != "" && head == g.this {
		return plan.Order{State: plan.OrderAtHead, Evidence: at + " is this commit"}, nil
	}
	cmp, err := g.gh.Compare(ctx, g.this, ref)
	if err != nil {
		return plan.Order{}, err
	}
	switch cmp.Status {
	case "identical":
		return plan.Order{State: plan.OrderAtHead, Evidence: at + " is this commit"}, nil
	case "ahead":
		newer := at
		if cmp.HeadSHA != "" && head == "" {
			newer += " (" + plan.ShortSHA(cmp.HeadSHA) + ")"
		}
		return plan.Order{State: plan.OrderSuperseded, Evidence: at,
			Why: fmt.Sprintf("%s, %d commit(s) newer than this one, holds other content for this file; its run deploys it", newer, cmp.AheadBy)}, nil
	case "behind":
		return plan.Order{State: plan.OrderOffTarget, Evidence: at,
			Why: fmt.Sprintf("%s is behind this commit: it was reset (a force-push?) to a commit that holds other content for this file", at)}, nil
	}
	return plan.Order{State: plan.OrderOffTarget, Evidence: at,
		Why: fmt.Sprintf("this commit is not on the history of %s (a rewritten history?), which holds other content for this file", name)}, nil
}

var fullSHA = regexp.MustCompile(`^[0-9a-f]{40}$`)

// resolveCommit makes commit-sha a full SHA: one that already is stays; an
// abbreviated SHA or a ref is resolved through GitHub, or refused.
func resolveCommit(ctx context.Context, gh *github.Client, commit string) (string, error) {
	if fullSHA.MatchString(commit) {
		return commit, nil
	}
	if gh == nil {
		return "", run.Usagef("input commit-sha: %q is not a full 40-character commit SHA, and without a github-token it cannot be resolved to one", commit)
	}
	c, err := gh.Commit(ctx, commit)
	if err != nil {
		return "", run.Usagef("input commit-sha: %q is not a full 40-character commit SHA, and GitHub could not resolve it: %v", commit, err)
	}
	return c.SHA, nil
}
