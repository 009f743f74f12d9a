package spec

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// Overlooked is a file that no pattern matches, but that a pattern would
// have matched were it not for the letter case of its name (Web.YAML under
// *.yaml) or the directory it sits in (team/api.yaml under
// sandbox-templates/*.yaml, whose * stops at a directory).
type Overlooked struct {
	File    string // repo-relative, as displayed
	Pattern string // the pattern that nearly matched it
	Nested  bool   // in a subdirectory (else: letter case)
}

// Why an overlooked file was not read, in a notice.
func (o Overlooked) why() string {
	if o.Nested {
		return "in a subdirectory"
	}
	return "letter case"
}

// maxOverlookedVisit bounds the directory entries FindOverlooked looks at,
// so a pattern at the repository's root never walks a whole monorepo. A
// variable for the tests.
var maxOverlookedVisit = 20000

// FindOverlooked lists, sorted, the files under the patterns' directories
// that no pattern matches but a relaxed form of one does: the pattern
// ignoring letter case, and, for a pattern without "**", the same pattern
// one or more directories deeper. Hidden directories (.git) are not
// entered and symlinks are not followed (a base directory that is one is
// walked only when it stays inside the root); the walk stops after 20,000
// entries. Invalid patterns, and patterns that leave the root, are skipped:
// Load reports them.
func FindOverlooked(opts Options) []Overlooked {
	root := opts.Root
	if root == "" {
		root = "."
	}
	patterns := opts.Patterns
	if len(patterns) == 0 {
		patterns = DefaultPatterns
	}
	// Through an os.Root: a base directory that is a symlink leading out of
	// root (sandbox-templates -> /) is not walked.
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil
	}
	defer r.Close()
	fsys := r.FS()
	// Each pattern as written; the same ignoring letter case; and, without
	// "**", the same one or more directories deeper (also ignoring case).
	var exact, folded, deeper, bases []string
	for _, p := range patterns {
		clean := path.Clean(filepath.ToSlash(strings.TrimSpace(p)))
		if clean == "." || clean == ".." || strings.HasPrefix(clean, "/") || strings.HasPrefix(clean, "../") ||
			filepath.IsAbs(p) || !doublestar.ValidatePattern(clean) {
			continue
		}
		lower := strings.ToLower(clean)
		exact, folded = append(exact, clean), append(folded, lower)
		d := ""
		if !strings.Contains(clean, "**") {
			d = path.Join(path.Dir(lower), "**", path.Base(lower))
		}
		deeper = append(deeper, d)
		if base, _ := doublestar.SplitPattern(clean); !slices.Contains(bases, base) {
			bases = append(bases, base)
		}
	}
	matches := func(pattern, name string) bool { ok, _ := doublestar.Match(pattern, name); return pattern != "" && ok }
	seen := map[string]bool{}
	var out []Overlooked
	visited := 0
	for _, base := range bases {
		_ = fs.WalkDir(fsys, base, func(name string, d fs.DirEntry, err error) error {
			visited++
			switch {
			case visited > maxOverlookedVisit:
				return fs.SkipAll
			case err != nil:
				return nil // an unreadable directory: nothing to say about it
			case d.IsDir():
				if name != base && strings.HasPrefix(d.Name(), ".") {
					return fs.SkipDir
				}
				return nil
			case seen[name]:
				return nil
			}
			seen[name] = true
			if slices.ContainsFunc(exact, func(p string) bool { return matches(p, name) }) {
				return nil
			}
			lower := strings.ToLower(name)
			if i := slices.IndexFunc(folded, func(p string) bool { return matches(p, lower) }); i >= 0 {
				out = append(out, Overlooked{File: displayPath(name), Pattern: exact[i]})
			} else if i := slices.IndexFunc(deeper, func(p string) bool { return matches(p, lower) }); i >= 0 {
				out = append(out, Overlooked{File: displayPath(name), Pattern: exact[i], Nested: true})
			}
			return nil
		})
	}
	slices.SortFunc(out, func(a, b Overlooked) int { return strings.Compare(a.File, b.File) })
	return out
}

// maxOverlookedShown bounds the files one notice names.
const maxOverlookedShown = 10

// OverlookedNotice is the one notice that names overlooked files (at most
// 10, then how many more) and says how to have them read; "" for none.
func OverlookedNotice(list []Overlooked) string {
	if len(list) == 0 {
		return ""
	}
	var b strings.Builder
	noun := "file looks"
	if len(list) > 1 {
		noun = "files look"
	}
	fmt.Fprintf(&b, "%d %s like a template but no path pattern matches: ", len(list), noun)
	var names []string
	for _, o := range list[:min(len(list), maxOverlookedShown)] {
		names = append(names, o.File+" ("+o.why()+")")
	}
	b.WriteString(strings.Join(names, ", "))
	if rest := len(list) - maxOverlookedShown; rest > 0 {
		fmt.Fprintf(&b, " and %d more", rest)
	}
	b.WriteString(".")
	if i := slices.IndexFunc(list, func(o Overlooked) bool { return !o.Nested }); i >= 0 {
		fmt.Fprintf(&b, " Patterns match letter case exactly: rename the file to match %s.", list[i].Pattern)
	}
	if i := slices.IndexFunc(list, func(o Overlooked) bool { return o.Nested }); i >= 0 {
		p := list[i].Pattern
		fmt.Fprintf(&b, " * does not enter directories: %s reads every level below %s.", path.Join(path.Dir(p), "**", path.Base(p)), path.Dir(p))
	}
	return b.String()
}
