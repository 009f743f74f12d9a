// Package gitinfo reads what the CLI needs from a git checkout: the checked
// out commit, its time, and the commit order of the template files against
// a deploy target (a branch, by default the one origin/HEAD names). It runs
// the git command; without git, or outside a checkout, every answer is
// "unknown".
package gitinfo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
	"github.com/miosa-dev/sandbox-templates-action/internal/run"
)

// Repo is a git checkout.
type Repo struct {
	Root string
}

func (r Repo) git(ctx context.Context, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", r.Root}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errOut.String())
		if i := strings.IndexByte(msg, '\n'); i >= 0 {
			msg = msg[:i]
		}
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("git %s: %s", args[0], msg)
	}
	return out.Bytes(), nil
}

func (r Repo) line(ctx context.Context, args ...string) (string, error) {
	out, err := r.git(ctx, args...)
	return strings.TrimSpace(string(out)), err
}

// Head is the checked-out commit's SHA, or "".
func (r Repo) Head(ctx context.Context) string {
	s, _ := r.line(ctx, "rev-parse", "HEAD")
	return s
}

// CommitTime is the committer time of sha, and whether it is known.
func (r Repo) CommitTime(ctx context.Context, sha string) (time.Time, bool) {
	if sha == "" {
		return time.Time{}, false
	}
	s, err := r.line(ctx, "show", "-s", "--format=%cI", sha, "--")
	if err != nil {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, s)
	return t, err == nil
}

// DefaultTarget is the branch that origin/HEAD names (origin/main, as last
// fetched), else a local main or master.
func (r Repo) DefaultTarget(ctx context.Context) (string, error) {
	if s, err := r.line(ctx, "symbolic-ref", "--short", "refs/remotes/origin/HEAD"); err == nil && s != "" {
		return s, nil
	}
	for _, b := range []string{"main", "master"} {
		if _, err := r.line(ctx, "rev-parse", "--verify", "--quiet", "refs/heads/"+b); err == nil {
			return b, nil
		}
	}
	return "", errors.New("no deploy target: origin/HEAD is not set and there is no main or master branch; pass --target-ref")
}

// Order is the commit order of a run's files against a target, from local
// git: a run.Order for the CLI.
type Order struct {
	Repo
	// Target is the deploy target: a branch or any ref git resolves.
	Target string
	// This is the checked-out commit the run's files come from.
	This string
}

// Order says, for each file, where the working tree's content stands
// against the target's head. The same content as the head: written. Other
// content, with this checkout at or ahead of the target (local changes,
// commits not pushed yet): written, as the newest. The target ahead of this
// checkout: superseded (pull first). Diverged: off the target.
func (o Order) Order(ctx context.Context, files []run.OrderFile) (run.OrderAnswer, error) {
	head, err := o.line(ctx, "rev-parse", "--verify", "--quiet", o.Target+"^{commit}")
	if err != nil || head == "" {
		return run.OrderAnswer{}, fmt.Errorf("the target %q is not a commit in this checkout", o.Target)
	}
	prefix, err := o.line(ctx, "rev-parse", "--show-prefix")
	if err != nil {
		return run.OrderAnswer{}, err
	}
	blobs, err := o.blobs(ctx, head, prefix, files)
	if err != nil {
		return run.OrderAnswer{}, err
	}
	at := fmt.Sprintf("%s at %s", o.Target, plan.ShortSHA(head))
	a := run.OrderAnswer{Files: map[string]plan.Order{}}
	if strings.Contains(o.Target, "/") {
		if _, err := o.line(ctx, "rev-parse", "--verify", "--quiet", "refs/remotes/"+o.Target); err == nil {
			a.Notes = append(a.Notes, fmt.Sprintf("Commit order: compared with %s as last fetched (git fetch to refresh it).", at))
		}
	}
	relation := ""
	for _, f := range files {
		if blobs[f.Path] == f.Blob {
			a.Files[f.Path] = plan.Order{State: plan.OrderAtHead, Evidence: at + " holds this file"}
			continue
		}
		if relation == "" {
			relation = o.relation(ctx, head)
		}
		switch relation {
		case "same", "behind":
			a.Files[f.Path] = plan.Order{State: plan.OrderAtHead, Evidence: "this checkout, at or ahead of " + at}
		case "ahead":
			a.Files[f.Path] = plan.Order{State: plan.OrderSuperseded, Evidence: at,
				Why: fmt.Sprintf("%s holds other content for this file and is ahead of this checkout; pull it first", at)}
		default:
			a.Files[f.Path] = plan.Order{State: plan.OrderOffTarget, Evidence: at,
				Why: fmt.Sprintf("this checkout has diverged from %s, which holds other content for this file", at)}
		}
	}
	return a, nil
}

// relation is where the target's head stands from this commit: "same",
// "ahead" (it descends from this commit), "behind" (this commit descends
// from it) or "diverged".
func (o Order) relation(ctx context.Context, head string) string {
	this, err := o.line(ctx, "rev-parse", "--verify", "--quiet", o.This+"^{commit}")
	switch {
	case err != nil:
		return "diverged"
	case this == head:
		return "same"
	}
	if _, err := o.git(ctx, "merge-base", "--is-ancestor", this, head); err == nil {
		return "ahead"
	}
	if _, err := o.git(ctx, "merge-base", "--is-ancestor", head, this); err == nil {
		return "behind"
	}
	return "diverged"
}

// blobs are the blob ids of files (relative to the root, which is prefix
// inside the repository) at commit head.
func (o Order) blobs(ctx context.Context, head, prefix string, files []run.OrderFile) (map[string]string, error) {
	args := []string{"ls-tree", "-z", "--full-tree", head, "--"}
	for _, f := range files {
		args = append(args, prefix+f.Path)
	}
	out, err := o.git(ctx, args...)
	if err != nil {
		return nil, err
	}
	blobs := map[string]string{}
	for _, entry := range strings.Split(string(out), "\x00") {
		meta, path, ok := strings.Cut(entry, "\t")
		fields := strings.Fields(meta)
		if !ok || len(fields) != 3 || fields[1] != "blob" {
			continue
		}
		blobs[strings.TrimPrefix(path, prefix)] = fields[2]
	}
	return blobs, nil
}
