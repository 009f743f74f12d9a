package githubtest

import (
	"cmp"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
)

// model is the git history of the fake's repository.
type model struct {
	blobs         map[string]string      // blob SHA: contents
	trees         map[string][]treeEntry // tree SHA: entries, in git's order
	commits       map[string]*commit     // commit SHA: commit
	order         []string               // commit SHAs, oldest first
	branches      map[string]string      // name: commit SHA
	tags          map[string]string      // name: commit SHA
	releases      []release              // oldest first
	defaultBranch string
}

// commit is one commit of the model.
type commit struct {
	sha     string
	tree    string
	parents []string
	files   map[string]string
	seq     int // position in model.order
}

// treeEntry is one entry of a tree object.
type treeEntry struct {
	name string
	mode string // "100644" or "40000"
	typ  string // "blob" or "tree"
	sha  string
	size int
}

// release is one release of the model.
type release struct {
	id                        int64
	tag                       string
	prerelease, draft, latest bool
}

// newModel returns an empty history whose default branch is main.
func newModel() *model {
	return &model{
		blobs: map[string]string{}, trees: map[string][]treeEntry{}, commits: map[string]*commit{},
		branches: map[string]string{}, tags: map[string]string{}, defaultBranch: "main",
	}
}

// object returns git's id of an object of kind with data, as
// `git hash-object -t KIND` computes it.
func object(kind string, data []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "%s %d\x00", kind, len(data))
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

// Commit adds a commit with parents (SHAs of commits already added; none
// for a root commit) whose files are files (repository-relative, clean,
// slash-separated paths and their contents), and returns its SHA. The SHA is
// git's id of the commit object, with a fixed author and a date that grows
// with each commit, so the same calls give the same SHAs. It panics on an
// unknown parent or a path that is not clean, or is both a file and a
// directory.
func (s *Server) Commit(parents []string, files map[string]string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.git.commit(parents, files)
}

// Push adds a commit on top of branch (a root commit when branch does not
// exist yet) with the branch's files overlaid with changes, moves the branch
// to it and returns its SHA.
func (s *Server) Push(branch string, changes map[string]string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	files := map[string]string{}
	var parents []string
	if head, ok := s.git.branches[branch]; ok {
		parents = []string{head}
		maps.Copy(files, s.git.commits[head].files)
	}
	maps.Copy(files, changes)
	sha := s.git.commit(parents, files)
	s.git.branches[branch] = sha
	return sha
}

// SetBranch points branch at commit sha; it panics for an unknown commit.
func (s *Server) SetBranch(name, sha string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.git.mustCommit(sha)
	s.git.branches[name] = sha
}

// Branch returns the commit branch points at, or "".
func (s *Server) Branch(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.git.branches[name]
}

// Tag adds (or moves) a lightweight tag at commit sha; it panics for an
// unknown commit.
func (s *Server) Tag(name, sha string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.git.mustCommit(sha)
	s.git.tags[name] = sha
}

// SetDefaultBranch names the default branch; it is "main" until set.
func (s *Server) SetDefaultBranch(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.git.defaultBranch = name
}

// Release publishes a release of tag. latest marks it latest, as
// make_latest does; with none marked, the latest is the newest release that
// is neither a draft nor a prerelease.
func (s *Server) Release(tag string, prerelease, latest bool) {
	s.addRelease(release{tag: tag, prerelease: prerelease, latest: latest})
}

// DraftRelease adds a draft release of tag, which is never the latest.
func (s *Server) DraftRelease(tag string) {
	s.addRelease(release{tag: tag, draft: true})
}

// addRelease stores r, taking the latest mark from the others when it has it.
func (s *Server) addRelease(r release) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.latest {
		for i := range s.git.releases {
			s.git.releases[i].latest = false
		}
	}
	s.nextID++
	r.id = s.nextID
	s.git.releases = append(s.git.releases, r)
}

// TruncateTrees makes recursive trees list at most n entries and say they
// are truncated, as GitHub does past its limits; 0 never truncates.
func (s *Server) TruncateTrees(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.treeLimit = n
}

// CommitAs adds a commit that git made elsewhere: sha is its id there,
// taken as it is, with parents (SHAs of commits already added) and files as
// Commit takes them. Seeded from a real repository's history, the fake
// answers with that repository's commit SHAs; messages and dates are the
// fake's. It panics on a sha that is not 40 hex digits or is already
// added, and where Commit panics.
func (s *Server) CommitAs(sha string, parents []string, files map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(sha) != 40 || strings.Trim(sha, "0123456789abcdef") != "" {
		panic(fmt.Sprintf("githubtest: %q is not a full lower-case commit SHA", sha))
	}
	if _, ok := s.git.commits[sha]; ok {
		panic(fmt.Sprintf("githubtest: commit %s is already added", sha))
	}
	s.git.add(sha, parents, files)
}

// commit adds a commit; see Server.Commit.
func (m *model) commit(parents []string, files map[string]string) string {
	return m.add("", parents, files)
}

// add adds a commit with id sha, or, for "", the id Commit gives it.
func (m *model) add(sha string, parents []string, files map[string]string) string {
	for _, p := range parents {
		m.mustCommit(p)
	}
	for p := range files {
		if p == "" || p == "." || strings.HasPrefix(p, "/") || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../") {
			panic(fmt.Sprintf("githubtest: %q is not a clean relative path", p))
		}
	}
	tree := m.writeTree(files)
	seq := len(m.order)
	if sha == "" {
		var b strings.Builder
		fmt.Fprintf(&b, "tree %s\n", tree)
		for _, p := range parents {
			fmt.Fprintf(&b, "parent %s\n", p)
		}
		when := 1700000000 + 60*seq
		fmt.Fprintf(&b, "author Fake <fake@example.com> %d +0000\ncommitter Fake <fake@example.com> %d +0000\n\ncommit %d\n", when, when, seq)
		sha = object("commit", []byte(b.String()))
	}
	m.commits[sha] = &commit{sha: sha, tree: tree, parents: slices.Clone(parents), files: maps.Clone(files), seq: seq}
	m.order = append(m.order, sha)
	return sha
}

// mustCommit panics unless sha is a commit of the model.
func (m *model) mustCommit(sha string) {
	if _, ok := m.commits[sha]; !ok {
		panic(fmt.Sprintf("githubtest: no commit %q", sha))
	}
}

// writeTree stores the tree of files (paths relative to it) and its
// subtrees, and returns its SHA.
func (m *model) writeTree(files map[string]string) string {
	subs := map[string]map[string]string{}
	var entries []treeEntry
	for p, content := range files {
		if dir, rest, ok := strings.Cut(p, "/"); ok {
			if subs[dir] == nil {
				subs[dir] = map[string]string{}
			}
			subs[dir][rest] = content
			continue
		}
		sha := object("blob", []byte(content))
		m.blobs[sha] = content
		entries = append(entries, treeEntry{name: p, mode: "100644", typ: "blob", sha: sha, size: len(content)})
	}
	for dir, sub := range subs {
		if _, clash := files[dir]; clash {
			panic(fmt.Sprintf("githubtest: %q is both a file and a directory", dir))
		}
		entries = append(entries, treeEntry{name: dir, mode: "40000", typ: "tree", sha: m.writeTree(sub)})
	}
	// git orders entries by name, a tree's name read with a trailing "/".
	key := func(e treeEntry) string {
		if e.typ == "tree" {
			return e.name + "/"
		}
		return e.name
	}
	slices.SortFunc(entries, func(a, b treeEntry) int { return cmp.Compare(key(a), key(b)) })
	var raw []byte
	for _, e := range entries {
		id, _ := hex.DecodeString(e.sha)
		raw = append(raw, e.mode+" "+e.name+"\x00"...)
		raw = append(raw, id...)
	}
	sha := object("tree", raw)
	m.trees[sha] = entries
	return sha
}

// resolve finds the commit ref names: a branch, a tag (also as
// refs/heads/NAME and refs/tags/NAME), a full SHA, or a prefix of at least 4
// hex digits of exactly one commit's SHA.
func (m *model) resolve(ref string) (*commit, bool) {
	for _, name := range []string{ref, strings.TrimPrefix(ref, "refs/heads/")} {
		if sha, ok := m.branches[name]; ok {
			return m.commits[sha], true
		}
	}
	for _, name := range []string{ref, strings.TrimPrefix(ref, "refs/tags/")} {
		if sha, ok := m.tags[name]; ok {
			return m.commits[sha], true
		}
	}
	if c, ok := m.commits[strings.ToLower(ref)]; ok {
		return c, true
	}
	if len(ref) < 4 || len(ref) >= 40 || strings.Trim(strings.ToLower(ref), "0123456789abcdef") != "" {
		return nil, false
	}
	var found *commit
	for sha, c := range m.commits {
		if strings.HasPrefix(sha, strings.ToLower(ref)) {
			if found != nil {
				return nil, false // ambiguous
			}
			found = c
		}
	}
	return found, found != nil
}

// lookup returns the entry at p ("" for the root) in tree, and whether there
// is one; the root is a tree entry with no name.
func (m *model) lookup(tree, p string) (treeEntry, bool) {
	cur := treeEntry{mode: "40000", typ: "tree", sha: tree}
	if p == "" {
		return cur, true
	}
	for _, name := range strings.Split(p, "/") {
		if cur.typ != "tree" {
			return treeEntry{}, false
		}
		i := slices.IndexFunc(m.trees[cur.sha], func(e treeEntry) bool { return e.name == name })
		if i < 0 {
			return treeEntry{}, false
		}
		cur = m.trees[cur.sha][i]
	}
	return cur, true
}

// walk returns every entry under tree with its path, depth first in git's
// order, each tree before what it holds.
func (m *model) walk(tree, dir string) []pathEntry {
	var out []pathEntry
	for _, e := range m.trees[tree] {
		p := path.Join(dir, e.name)
		out = append(out, pathEntry{p, e})
		if e.typ == "tree" {
			out = append(out, m.walk(e.sha, p)...)
		}
	}
	return out
}

// pathEntry is a tree entry and its path from the root.
type pathEntry struct {
	path string
	treeEntry
}

// ancestors returns the commits reachable from sha, itself included.
func (m *model) ancestors(sha string) map[string]bool {
	seen := map[string]bool{}
	stack := []string{sha}
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[cur] {
			continue
		}
		seen[cur] = true
		stack = append(stack, m.commits[cur].parents...)
	}
	return seen
}

// only returns the commits in a and not in b, oldest first.
func (m *model) only(a, b map[string]bool) []*commit {
	var out []*commit
	for sha := range a {
		if !b[sha] {
			out = append(out, m.commits[sha])
		}
	}
	slices.SortFunc(out, func(x, y *commit) int { return x.seq - y.seq })
	return out
}

// mergeBase returns the newest commit reachable from both, or nil.
func (m *model) mergeBase(a, b map[string]bool) *commit {
	var best *commit
	for sha := range a {
		if c := m.commits[sha]; b[sha] && (best == nil || c.seq > best.seq) {
			best = c
		}
	}
	return best
}

// latest returns the release /releases/latest answers with.
func (m *model) latest() (release, bool) {
	for _, r := range m.releases {
		if r.latest && !r.draft {
			return r, true
		}
	}
	for i := len(m.releases) - 1; i >= 0; i-- {
		if r := m.releases[i]; !r.draft && !r.prerelease {
			return r, true
		}
	}
	return release{}, false
}
