package githubtest

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// handler wraps an endpoint whose faults stand for the whole answer: it
// holds s.mu, counts, and answers a scripted fault instead of calling h.
func (s *Server) handler(op Op, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if f, ok := s.begin(w, op); ok {
			answerFault(w, f)
			return
		}
		h(w, r)
	}
}

// gitHandler wraps a git model endpoint as handler does, and answers 404
// for another repository than the model's.
func (s *Server) gitHandler(op Op, h http.HandlerFunc) http.HandlerFunc {
	return s.handler(op, func(w http.ResponseWriter, r *http.Request) {
		if s.repoName != "" && !strings.EqualFold(repoOf(r), s.repoName) {
			answer(w, http.StatusNotFound, "Not Found", nil)
			return
		}
		h(w, r)
	})
}

// repoOf is the owner/name a request names.
func repoOf(r *http.Request) string { return r.PathValue("owner") + "/" + r.PathValue("repo") }

// api returns the API URL of path under the server r reached.
func (s *Server) api(r *http.Request, format string, args ...any) string {
	return "http://" + r.Host + s.prefix + fmt.Sprintf(format, args...)
}

// repository answers GET /repos/{owner}/{repo}.
func (s *Server) repository(w http.ResponseWriter, r *http.Request) {
	repo := repoOf(r)
	writeJSON(w, http.StatusOK, map[string]any{
		"id": s.repoID(repo), "node_id": "R_fake", "name": r.PathValue("repo"), "full_name": repo,
		"owner":   map[string]any{"login": r.PathValue("owner"), "type": "Organization"},
		"private": false, "visibility": "public", "html_url": "https://github.com/" + repo,
		"url": s.api(r, "/repos/%s", repo), "default_branch": s.git.defaultBranch,
	})
}

// commitJSON is c as the commits and compare endpoints show it.
func (s *Server) commitJSON(r *http.Request, c *commit) map[string]any {
	repo := repoOf(r)
	var parents []map[string]string
	for _, p := range c.parents {
		parents = append(parents, map[string]string{"sha": p, "url": s.api(r, "/repos/%s/commits/%s", repo, p)})
	}
	when := time.Unix(int64(1700000000+60*c.seq), 0).UTC().Format(time.RFC3339)
	person := map[string]string{"name": "Fake", "email": "fake@example.com", "date": when}
	return map[string]any{
		"sha": c.sha, "node_id": "C_" + c.sha[:12],
		"url": s.api(r, "/repos/%s/commits/%s", repo, c.sha), "html_url": "https://github.com/" + repo + "/commit/" + c.sha,
		"commit": map[string]any{
			"message": fmt.Sprintf("commit %d", c.seq), "author": person, "committer": person,
			"tree": map[string]string{"sha": c.tree, "url": s.api(r, "/repos/%s/git/trees/%s", repo, c.tree)},
		},
		"parents": parents,
	}
}

// fileChanges lists the files that differ from old to cur, as GitHub's
// "files" of a commit or comparison.
func fileChanges(old, cur map[string]string) []map[string]any {
	var out []map[string]any
	add := func(name, status, content string) {
		out = append(out, map[string]any{"filename": name, "status": status, "sha": object("blob", []byte(content))})
	}
	for name, content := range cur {
		prev, ok := old[name]
		switch {
		case !ok:
			add(name, "added", content)
		case prev != content:
			add(name, "modified", content)
		}
	}
	for name, content := range old {
		if _, ok := cur[name]; !ok {
			add(name, "removed", content)
		}
	}
	slices.SortFunc(out, func(a, b map[string]any) int { return strings.Compare(a["filename"].(string), b["filename"].(string)) })
	return out
}

// commit answers GET .../commits/{ref}, with the files changed since the
// first parent, per_page of them (300 by default).
func (s *Server) commit(w http.ResponseWriter, r *http.Request) {
	ref := r.PathValue("ref")
	if len(s.git.commits) == 0 {
		answer(w, http.StatusConflict, "Git Repository is empty.", nil)
		return
	}
	c, ok := s.git.resolve(ref)
	if !ok {
		answer(w, http.StatusUnprocessableEntity, "No commit found for SHA: "+ref, nil)
		return
	}
	var before map[string]string
	if len(c.parents) > 0 {
		before = s.git.commits[c.parents[0]].files
	}
	files := fileChanges(before, c.files)
	body := s.commitJSON(r, c)
	body["files"] = files[:min(len(files), intParam(r, "per_page", 300))]
	writeJSON(w, http.StatusOK, body)
}

// contents answers GET .../contents/{path}?ref=REF: a directory's listing
// (its first 1000 entries, as GitHub) or a file.
func (s *Server) contents(w http.ResponseWriter, r *http.Request) {
	ref := r.URL.Query().Get("ref")
	if ref == "" {
		ref = s.git.defaultBranch
	}
	c, ok := s.git.resolve(ref)
	if !ok {
		answer(w, http.StatusNotFound, "No commit found for the ref "+ref, nil)
		return
	}
	p := strings.Trim(r.PathValue("path"), "/")
	e, ok := s.git.lookup(c.tree, p)
	if !ok {
		answer(w, http.StatusNotFound, "Not Found", nil)
		return
	}
	if e.typ == "blob" {
		body := s.contentJSON(r, ref, pathEntry{p, e})
		body["encoding"] = "base64"
		body["content"] = base64.StdEncoding.EncodeToString([]byte(s.git.blobs[e.sha]))
		writeJSON(w, http.StatusOK, body)
		return
	}
	var list []map[string]any
	for _, child := range s.git.trees[e.sha] {
		if len(list) == listingCap {
			break
		}
		list = append(list, s.contentJSON(r, ref, pathEntry{strings.TrimPrefix(p+"/"+child.name, "/"), child}))
	}
	if list == nil {
		list = []map[string]any{}
	}
	writeJSON(w, http.StatusOK, list)
}

// listingCap is the most entries GitHub lists of a directory.
const listingCap = 1000

// contentJSON is an entry as the contents endpoint shows it.
func (s *Server) contentJSON(r *http.Request, ref string, e pathEntry) map[string]any {
	repo := repoOf(r)
	typ := "file"
	if e.typ == "tree" {
		typ = "dir"
	}
	return map[string]any{
		"name": e.name, "path": e.path, "sha": e.sha, "size": e.size, "type": typ,
		"url":      s.api(r, "/repos/%s/contents/%s?ref=%s", repo, e.path, ref),
		"git_url":  s.api(r, "/repos/%s/git/%ss/%s", repo, e.typ, e.sha),
		"html_url": "https://github.com/" + repo + "/blob/" + ref + "/" + e.path,
	}
}

// tree answers GET .../git/trees/{ref}, ref a commit SHA, branch, tag or
// tree SHA; with recursive=ANY, every entry below.
func (s *Server) tree(w http.ResponseWriter, r *http.Request) {
	ref := r.PathValue("ref")
	sha := ""
	if c, ok := s.git.resolve(ref); ok {
		sha = c.tree
	} else if _, ok := s.git.trees[strings.ToLower(ref)]; ok {
		sha = strings.ToLower(ref)
	}
	if sha == "" {
		answer(w, http.StatusNotFound, "Not Found", nil)
		return
	}
	var entries []pathEntry
	if r.URL.Query().Has("recursive") {
		entries = s.git.walk(sha, "")
	} else {
		for _, e := range s.git.trees[sha] {
			entries = append(entries, pathEntry{e.name, e})
		}
	}
	truncated := s.treeLimit > 0 && len(entries) > s.treeLimit
	if truncated {
		entries = entries[:s.treeLimit]
	}
	list := []map[string]any{}
	for _, e := range entries {
		item := map[string]any{"path": e.path, "mode": e.mode, "type": e.typ, "sha": e.sha,
			"url": s.api(r, "/repos/%s/git/%ss/%s", repoOf(r), e.typ, e.sha)}
		if e.typ == "blob" {
			item["size"] = e.size
		}
		list = append(list, item)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"sha": sha, "url": s.api(r, "/repos/%s/git/trees/%s", repoOf(r), sha), "tree": list, "truncated": truncated,
	})
}

// compare answers GET .../compare/{base}...{head}. Without page or
// per_page it lists the newest 250 commits head has and base lacks (and
// at most 300 changed files, as GitHub);
// with either, that page of them (per_page 30 by default, at most 100),
// oldest first.
func (s *Server) compare(w http.ResponseWriter, r *http.Request) {
	baseRef, headRef, ok := strings.Cut(r.PathValue("basehead"), "...")
	base, okBase := s.git.resolve(baseRef)
	head, okHead := s.git.resolve(headRef)
	if !ok || !okBase || !okHead {
		answer(w, http.StatusNotFound, "Not Found", nil)
		return
	}
	fromBase, fromHead := s.git.ancestors(base.sha), s.git.ancestors(head.sha)
	mb := s.git.mergeBase(fromBase, fromHead)
	if mb == nil {
		answer(w, http.StatusNotFound, fmt.Sprintf("No common ancestor between %s and %s.", baseRef, headRef), nil)
		return
	}
	ahead, behind := s.git.only(fromHead, fromBase), s.git.only(fromBase, fromHead)
	status := "diverged"
	switch {
	case len(ahead) == 0 && len(behind) == 0:
		status = "identical"
	case len(behind) == 0:
		status = "ahead"
	case len(ahead) == 0:
		status = "behind"
	}
	shown := ahead[max(len(ahead)-250, 0):]
	if q := r.URL.Query(); q.Has("page") || q.Has("per_page") {
		per, page, lo, hi := pageOf(r, len(ahead))
		shown = ahead[lo:hi]
		pageLinks(w, s.api(r, "/repos/%s/compare/%s...%s?per_page=%d&page=", repoOf(r), baseRef, headRef, per), page, max((len(ahead)+per-1)/per, 1))
	}
	commits := []map[string]any{}
	for _, c := range shown {
		commits = append(commits, s.commitJSON(r, c))
	}
	repo := repoOf(r)
	writeJSON(w, http.StatusOK, map[string]any{
		"url":         s.api(r, "/repos/%s/compare/%s...%s", repo, baseRef, headRef),
		"html_url":    "https://github.com/" + repo + "/compare/" + baseRef + "..." + headRef,
		"base_commit": s.commitJSON(r, base), "merge_base_commit": s.commitJSON(r, mb),
		"status": status, "ahead_by": len(ahead), "behind_by": len(behind), "total_commits": len(ahead),
		"commits": commits, "files": firstFiles(fileChanges(mb.files, head.files)),
	})
}

// maxCompareFiles is the most changed files GitHub lists in a comparison.
const maxCompareFiles = 300

// firstFiles is what a comparison lists of its changed files: the first 300.
func firstFiles(files []map[string]any) []map[string]any {
	return files[:min(len(files), maxCompareFiles)]
}

// latestRelease answers GET .../releases/latest.
func (s *Server) latestRelease(w http.ResponseWriter, r *http.Request) {
	rel, ok := s.git.latest()
	if !ok {
		answer(w, http.StatusNotFound, "Not Found", nil)
		return
	}
	repo := repoOf(r)
	writeJSON(w, http.StatusOK, map[string]any{
		"id": rel.id, "tag_name": rel.tag, "name": rel.tag, "draft": rel.draft, "prerelease": rel.prerelease,
		"target_commitish": s.git.defaultBranch, "html_url": "https://github.com/" + repo + "/releases/tag/" + rel.tag,
		"url": s.api(r, "/repos/%s/releases/%d", repo, rel.id),
	})
}
