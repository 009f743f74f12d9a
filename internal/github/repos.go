package github

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	gh "github.com/google/go-github/v75/github"

	"github.com/miosa-dev/sandbox-templates-action/internal/textsafe"
)

// listingCap is the most entries GitHub lists of one directory.
const listingCap = 1000

// Commit is a commit as a ref resolves to it.
type Commit struct {
	SHA     string // the commit's full SHA
	TreeSHA string // its root tree's SHA
}

// Commit resolves ref (a branch, a tag, a full or abbreviated SHA) to its
// commit: GET /repos/{owner}/{repo}/commits/{ref}, one request. A ref that
// names nothing is an error for which IsNotFound holds.
func (c *Client) Commit(ctx context.Context, ref string) (Commit, error) {
	cl := call{op: "get commit " + quote(ref), what: "a commit"}
	if err := checkRef(ref); err != nil {
		return Commit{}, &Error{Op: cl.op, Message: err.Error()}
	}
	var rc *gh.RepositoryCommit
	err := c.do(ctx, cl, func() (resp *gh.Response, err error) {
		rc, resp, err = c.gh.Repositories.GetCommit(ctx, c.owner, c.repo, escapeRef(ref), &gh.ListOptions{PerPage: 1})
		return resp, err
	})
	if err != nil {
		return Commit{}, err
	}
	com := Commit{SHA: rc.GetSHA(), TreeSHA: rc.GetCommit().GetTree().GetSHA()}
	if !IsSHA(com.SHA) || !IsSHA(com.TreeSHA) {
		return Commit{}, &Error{Op: cl.op, Status: http.StatusOK, Message: "unreadable answer: no commit and tree SHA"}
	}
	return com, nil
}

// DefaultBranch returns the repository's default branch: GET
// /repos/{owner}/{repo}, one request.
func (c *Client) DefaultBranch(ctx context.Context) (string, error) {
	cl := call{op: "get repository " + c.owner + "/" + c.repo, what: "a repository"}
	var repo *gh.Repository
	err := c.do(ctx, cl, func() (resp *gh.Response, err error) {
		repo, resp, err = c.gh.Repositories.Get(ctx, c.owner, c.repo)
		return resp, err
	})
	if err != nil {
		return "", err
	}
	if repo.GetDefaultBranch() == "" {
		return "", &Error{Op: cl.op, Status: http.StatusOK, Message: "unreadable answer: no default_branch"}
	}
	return repo.GetDefaultBranch(), nil
}

// Release is a published release.
type Release struct {
	Tag        string // its tag's name
	Prerelease bool
	Draft      bool
}

// LatestRelease returns the release GitHub marks latest: GET
// /repos/{owner}/{repo}/releases/latest, one request. With none, the error
// is one for which IsNotFound holds.
func (c *Client) LatestRelease(ctx context.Context) (Release, error) {
	cl := call{op: "get latest release", what: "a release"}
	var rel *gh.RepositoryRelease
	err := c.do(ctx, cl, func() (resp *gh.Response, err error) {
		rel, resp, err = c.gh.Repositories.GetLatestRelease(ctx, c.owner, c.repo)
		return resp, err
	})
	if err != nil {
		return Release{}, err
	}
	if rel.GetTagName() == "" {
		return Release{}, &Error{Op: cl.op, Status: http.StatusOK, Message: "unreadable answer: no tag_name"}
	}
	return Release{Tag: rel.GetTagName(), Prerelease: rel.GetPrerelease(), Draft: rel.GetDraft()}, nil
}

// Comparison is how a head ref stands against a base ref.
type Comparison struct {
	Status   string // "ahead" (head descends from base), "behind", "diverged" or "identical"
	AheadBy  int    // commits of head that base lacks
	BehindBy int    // commits of base that head lacks
	HeadSHA  string // head's newest commit when the answer lists it (AheadBy is 1), else ""
	// Files are the paths that differ between the merge base and head,
	// both paths of a rename, as GitHub lists them: at most maxCompareFiles.
	Files []string
	// FilesComplete says Files lists every changed path: GitHub lists at
	// most 300, so a list of 300 may be cut.
	FilesComplete bool
}

// maxCompareFiles is the most changed files GitHub lists in a comparison.
const maxCompareFiles = 300

// Compare compares head with base: GET
// /repos/{owner}/{repo}/compare/{base}...{head}?per_page=1, one request.
// The changed files come on that first page (GitHub lists them only there).
func (c *Client) Compare(ctx context.Context, base, head string) (Comparison, error) {
	cmp, cl, err := c.compare(ctx, base, head)
	if err != nil {
		return Comparison{}, err
	}
	out := Comparison{Status: cmp.GetStatus(), AheadBy: cmp.GetAheadBy(), BehindBy: cmp.GetBehindBy()}
	switch out.Status {
	case "ahead", "behind", "diverged", "identical":
	default:
		return Comparison{}, &Error{Op: cl.op, Status: http.StatusOK, Message: "unreadable answer: status " + quote(out.Status)}
	}
	for _, f := range cmp.Files {
		for _, p := range []string{f.GetFilename(), f.GetPreviousFilename()} {
			if p != "" {
				out.Files = append(out.Files, p)
			}
		}
	}
	out.FilesComplete = len(cmp.Files) < maxCompareFiles
	// The commits are listed oldest first: when all that head has and base
	// lacks are on this page, the last is head's newest.
	if n := len(cmp.Commits); n > 0 && n == out.AheadBy {
		out.HeadSHA = cmp.Commits[n-1].GetSHA()
	}
	return out, nil
}

// compare sends GET /repos/{owner}/{repo}/compare/{base}...{head}?per_page=1,
// one request: the changed files come on that first page (GitHub lists
// them only there). It returns the call, whose op names the comparison in
// the errors of what its callers read of the answer.
func (c *Client) compare(ctx context.Context, base, head string) (*gh.CommitsComparison, call, error) {
	cl := call{op: "compare " + quote(base) + "..." + quote(head), what: "a comparison"}
	for _, ref := range []string{base, head} {
		if err := checkRef(ref); err != nil {
			return nil, cl, &Error{Op: cl.op, Message: err.Error()}
		}
	}
	var cmp *gh.CommitsComparison
	err := c.do(ctx, cl, func() (resp *gh.Response, err error) {
		cmp, resp, err = c.gh.Repositories.CompareCommits(ctx, c.owner, c.repo, base, head, &gh.ListOptions{PerPage: 1})
		return resp, err
	})
	return cmp, cl, err
}

// Blobs returns the git blob SHAs at ref (a commit SHA, a branch or a tag)
// of paths, repository-relative and slash-separated; a path that is not a
// regular file at ref (absent, a directory, a symlink or a submodule) is
// absent from the map. It sends one request: when every path is in one
// directory that holds fewer than dirSize hints at GitHub's cap of 1000
// entries, GET /repos/{owner}/{repo}/contents/{dir}?ref=REF, the listing of
// that directory (a 404 for it means none of the paths exist); else GET
// /repos/{owner}/{repo}/git/trees/{ref}?recursive=1 (a tree GitHub
// truncated is an error). A listing that turns out capped all the same is
// followed by the tree: a second request. dirSize is the caller's count of
// the directory's entries (its checkout); 0 for unknown.
func (c *Client) Blobs(ctx context.Context, ref string, paths []string, dirSize int) (map[string]string, error) {
	if err := checkRef(ref); err != nil {
		return nil, &Error{Op: "list files at " + quote(ref), Message: err.Error()}
	}
	want := make(map[string]bool, len(paths))
	for _, p := range paths {
		if !cleanPath(p) {
			return nil, &Error{Op: "list files at " + quote(ref), Message: fmt.Sprintf("%s is not a clean relative path", quote(p))}
		}
		want[p] = true
	}
	if len(want) == 0 {
		return map[string]string{}, nil
	}
	if dir, ok := OneDir(paths); ok && dirSize < listingCap {
		blobs, complete, err := c.listing(ctx, ref, dir, want)
		if err != nil || complete {
			return blobs, err
		}
	}
	return c.tree(ctx, ref, want)
}

// listing reads the blob SHAs of want from the listing of dir at ref; it
// reports false when the listing may be cut at GitHub's cap.
func (c *Client) listing(ctx context.Context, ref, dir string, want map[string]bool) (map[string]string, bool, error) {
	shown := dir
	if shown == "" {
		shown = "/"
	}
	cl := call{op: "list " + quote(shown) + " at " + quote(ref), what: "a directory listing"}
	var file *gh.RepositoryContent
	var entries []*gh.RepositoryContent
	err := c.do(ctx, cl, func() (resp *gh.Response, err error) {
		file, entries, resp, err = c.gh.Repositories.GetContents(ctx, c.owner, c.repo, dir, &gh.RepositoryContentGetOptions{Ref: ref})
		return resp, err
	})
	blobs := map[string]string{}
	switch {
	case IsNotFound(err) && !noSuchRef(err):
		return blobs, true, nil // no such directory
	case err != nil:
		return nil, false, err
	case file != nil:
		return blobs, true, nil // a file, with nothing under it
	case len(entries) >= listingCap:
		return nil, false, nil
	}
	for _, en := range entries {
		p := en.GetPath()
		if p == "" {
			p = path.Join(dir, en.GetName())
		}
		if en.GetType() == "file" && want[p] && IsSHA(en.GetSHA()) {
			blobs[p] = en.GetSHA()
		}
	}
	return blobs, true, nil
}

// noSuchRef reports whether a 404 of the contents endpoint is for the ref,
// not the path: "No commit found for the ref X".
func noSuchRef(err error) bool {
	e, ok := errors.AsType[*Error](err)
	return ok && strings.HasPrefix(e.Message, "No commit found")
}

// tree reads the blob SHAs of want from the recursive tree at ref.
func (c *Client) tree(ctx context.Context, ref string, want map[string]bool) (map[string]string, error) {
	cl := call{op: "get tree " + quote(ref), what: "a tree"}
	var t *gh.Tree
	err := c.do(ctx, cl, func() (resp *gh.Response, err error) {
		t, resp, err = c.gh.Git.GetTree(ctx, c.owner, c.repo, escapeRef(ref), true)
		return resp, err
	})
	if err != nil {
		return nil, err
	}
	if t.GetTruncated() {
		return nil, &Error{Op: cl.op, Status: http.StatusOK,
			Message: "GitHub truncated the tree (over 100,000 entries or 7 MB): it cannot say which files exist"}
	}
	blobs := map[string]string{}
	for _, en := range t.Entries {
		if en.GetType() == "blob" && en.GetMode() != "120000" && want[en.GetPath()] && IsSHA(en.GetSHA()) {
			blobs[en.GetPath()] = en.GetSHA()
		}
	}
	return blobs, nil
}

// OneDir returns the directory all paths are in ("" for the root), and
// whether there is one that Blobs can list: the directory whose size
// Blobs' dirSize counts.
func OneDir(paths []string) (string, bool) {
	dir := path.Dir(paths[0])
	for _, p := range paths[1:] {
		if path.Dir(p) != dir {
			return "", false
		}
	}
	if dir == "." {
		dir = ""
	}
	// go-github refuses a contents path holding "..", even inside a name.
	return dir, !strings.Contains(dir, "..")
}

// cleanPath reports whether p is a clean, relative, slash-separated path of
// a file: no leading "/", no "." or ".." element, no empty element.
func cleanPath(p string) bool {
	if p == "" || p == "." || strings.HasPrefix(p, "/") || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../") {
		return false
	}
	return !strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// checkRef refuses what git would not take as a ref name, a SHA or a tag,
// and what would change the request's path: "..", empty or dot elements,
// control characters and " ~^:?*[\".
func checkRef(ref string) error {
	bad := ref == "" || len(ref) > 255 || ref == "@" || strings.HasPrefix(ref, "-") ||
		strings.Contains(ref, "..") || strings.Contains(ref, "@{") ||
		strings.ContainsFunc(ref, func(r rune) bool { return r < 0x20 || r == 0x7f || strings.ContainsRune(" ~^:?*[\\", r) })
	for _, seg := range strings.Split(ref, "/") {
		bad = bad || seg == "" || strings.HasPrefix(seg, ".") || strings.HasSuffix(seg, ".lock")
	}
	if bad {
		return fmt.Errorf("%s is not a git ref", quote(ref))
	}
	return nil
}

// escapeRef escapes each "/"-separated element of a checked ref for a path.
func escapeRef(ref string) string {
	segs := strings.Split(ref, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// IsSHA reports whether s is a full hex SHA-1, as GitHub names commits.
func IsSHA(s string) bool {
	if len(s) != 40 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// quote quotes user text for an error, on one line and bounded.
func quote(s string) string {
	return strconv.Quote(textsafe.Truncate(s, 200))
}
