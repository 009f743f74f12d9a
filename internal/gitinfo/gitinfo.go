// Package gitinfo reads what the rollback guard needs from a git checkout:
// a commit's time and the specs a template file held at the commit's
// ancestors. It runs the git command; without git, or outside a checkout,
// every answer is "unknown".
package gitinfo

import (
	"bytes"
	"context"
	"os/exec"
	"slices"
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
// the root) held only in sha's older history: at ancestors of sha that
// changed it (at most MaxAncestors), and at no commit outside sha's
// ancestry. A spec that a newer commit (a revert, another branch) also
// holds is left out, since a build of it may be that commit's. A shallow
// checkout has few or none.
func (r Repo) SpecDigests(ctx context.Context, sha, file string) []string {
	if sha == "" || file == "" {
		return nil
	}
	older := r.digests(ctx, file, "log", "--format=%H", "-n", "51", sha, "--", file)
	delete(older, r.digestAt(ctx, sha, file)) // this commit's own version is the wanted spec
	newer := r.digests(ctx, file, "log", "--all", "--format=%H", "-n", "51", "--not", sha, "--", file)
	var out []string
	for d := range older {
		if !newer[d] {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	return out
}

// digests are the spec digests of file at the commits a git log lists.
func (r Repo) digests(ctx context.Context, file string, args ...string) map[string]bool {
	out, ok := r.git(ctx, args...)
	if !ok {
		return map[string]bool{}
	}
	set := map[string]bool{}
	for i, h := range strings.Fields(string(out)) {
		if i == MaxAncestors {
			break
		}
		if d := r.digestAt(ctx, h, file); d != "" {
			set[d] = true
		}
	}
	return set
}

// digestAt is the digest of file's build spec at commit h, or "".
func (r Repo) digestAt(ctx context.Context, h, file string) string {
	data, ok := r.git(ctx, "show", h+":"+file)
	if !ok {
		return ""
	}
	t, diags := spec.Parse(file, data)
	if t == nil || diags.HasErrors() || t.BuildSpec == nil {
		return ""
	}
	return t.Digest()
}
