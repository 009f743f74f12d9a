// Package gitinfo reads what the rollback guard needs from a git checkout:
// a commit's time and the specs a template file held at the commit's
// ancestors. It runs the git command; without git, or outside a checkout,
// every answer is "unknown".
package gitinfo

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
)

// MaxAncestors bounds how many earlier versions of one file are read.
const MaxAncestors = 50

// Repo is a git checkout.
type Repo struct {
	Root string
}

func (r Repo) git(ctx context.Context, args ...string) ([]byte, bool) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", r.Root}, args...)...)
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		return nil, false
	}
	return out.Bytes(), true
}

// Head is the checked-out commit's SHA, or "".
func (r Repo) Head(ctx context.Context) string {
	out, ok := r.git(ctx, "rev-parse", "HEAD")
	if !ok {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// CommitTime is the committer time of sha, and whether it is known.
func (r Repo) CommitTime(ctx context.Context, sha string) (time.Time, bool) {
	if sha == "" {
		return time.Time{}, false
	}
	out, ok := r.git(ctx, "show", "-s", "--format=%cI", sha, "--")
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(string(out)))
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

// SpecDigests lists the digests of the build specs that file (relative to
// the root) held at the ancestors of sha that changed it, newest first, at
// most MaxAncestors of them. A shallow checkout has few or none.
func (r Repo) SpecDigests(ctx context.Context, sha, file string) []string {
	if sha == "" || file == "" {
		return nil
	}
	out, ok := r.git(ctx, "log", "--format=%H", "-n", "51", sha, "--", file)
	if !ok {
		return nil
	}
	var digests []string
	for i, h := range strings.Fields(string(out)) {
		if i == 0 && strings.HasPrefix(h, sha) {
			continue // this commit's own version is the wanted spec
		}
		if len(digests) == MaxAncestors {
			break
		}
		data, ok := r.git(ctx, "show", h+":"+file)
		if !ok {
			continue
		}
		t, diags := spec.Parse(file, data)
		if t == nil || diags.HasErrors() || t.BuildSpec == nil {
			continue
		}
		digests = append(digests, t.Digest())
	}
	return digests
}
