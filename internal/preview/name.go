package preview

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// MaxName is the longest slug the server takes.
const MaxName = 63

// Tool is what a preview's mark names as its maker.
const Tool = "sandbox-templates-action"

// RepoHash is the six lowercase hex digits that name a repository in its
// previews' names: the start of the SHA-256 of its full name (owner/name)
// in lower case, as GitHub's names are case-insensitive.
func RepoHash(repo string) string {
	return shortHash(strings.ToLower(repo), 6)
}

func shortHash(s string, n int) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:n]
}

// Name is the preview of template for pull request pr of repo:
// template-prN-H, at most MaxName characters. Runs of "-" in the template
// part are made one, as the server does when it makes a slug of a name; a
// template part too long to fit is cut and ends in "-" and four hex digits
// of the whole template name.
func Name(template string, pr int, repo string) string {
	suffix := "-pr" + strconv.Itoa(pr) + "-" + RepoHash(repo)
	base := collapse(template)
	if base == "" {
		base = "t"
	}
	if len(base)+len(suffix) > MaxName {
		tag := "-" + shortHash(template, 4)
		keep := max(MaxName-len(suffix)-len(tag), 1)
		base = strings.TrimRight(base[:min(keep, len(base))], "-") + tag
	}
	return base + suffix
}

// collapse keeps the slug characters of s in lower case, makes every run of
// other characters and "-" one "-", and trims "-" from both ends.
func collapse(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	return b.String()
}

// Description is the mark of the preview of template for pull request pr of
// repo: what its description says, all of it.
func Description(template string, pr int, repo string) string {
	return fmt.Sprintf("Preview of %s for pull request %s#%d (%s)", template, repo, pr, Tool)
}

// Mark is what a preview's description says of it.
type Mark struct {
	Template   string // the template it previews
	Repository string // owner/name, as written
	PR         int
}

var (
	markRE = regexp.MustCompile(`^Preview of ([a-z0-9][a-z0-9-]{0,62}) for pull request ([A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100})#([1-9][0-9]{0,9}) \(` +
		regexp.QuoteMeta(Tool) + `\)$`)
	slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*-pr([1-9][0-9]{0,9})-([0-9a-f]{6})$`)
)

// ParseMark reads a description that is a preview's mark, whole; ok is
// false for any other text.
func ParseMark(description string) (Mark, bool) {
	m := markRE.FindStringSubmatch(description)
	if m == nil {
		return Mark{}, false
	}
	n, err := strconv.Atoi(m[3])
	if err != nil {
		return Mark{}, false
	}
	return Mark{Template: m[1], Repository: m[2], PR: n}, true
}

// NumberIn reads the pull request number from the slug (or, in a list row,
// the name) of one of repo's previews: a slug of at most MaxName characters
// ending in -prN-H, H being repo's hash. ok is false for any other text.
func NumberIn(slug, repo string) (int, bool) {
	if len(slug) > MaxName {
		return 0, false
	}
	m := slugRE.FindStringSubmatch(slug)
	if m == nil || m[2] != RepoHash(repo) {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	return n, err == nil
}

// Owns reports whether a template with this slug and description is repo's
// preview of a pull request, and of which: the slug must carry repo's
// pattern (checked first), the description must be repo's mark for the
// same pull request, and the name that mark gives must be the slug. Only a
// template Owns holds for is ever deleted.
func Owns(slug, description, repo string) (pr int, ok bool) {
	n, ok := NumberIn(slug, repo)
	if !ok {
		return 0, false
	}
	m, ok := ParseMark(description)
	if !ok || !strings.EqualFold(m.Repository, repo) || m.PR != n || Name(m.Template, n, repo) != slug {
		return 0, false
	}
	return n, true
}
