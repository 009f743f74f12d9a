package githubtest

import (
	"net/http"
	"strconv"
)

// pull answers GET .../pulls/{n}: a pull request with the head
// SetPullHead gave it, open until ClosePull, or 404.
func (s *Server) pull(w http.ResponseWriter, r *http.Request) {
	repo := repoOf(r)
	n, err := strconv.Atoi(r.PathValue("n"))
	head, ok := s.heads[thread{repo, n}]
	if err != nil || !ok {
		answer(w, http.StatusNotFound, "Not Found", nil)
		return
	}
	state := "open"
	if s.closed[thread{repo, n}] {
		state = "closed"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": 9000 + n, "number": n, "state": state, "html_url": "https://github.com/" + repo + "/pull/" + strconv.Itoa(n),
		"url":  s.api(r, "/repos/%s/pulls/%d", repo, n),
		"head": map[string]any{"sha": head, "ref": "feature", "label": "feature"},
		"base": map[string]any{"ref": s.git.defaultBranch},
	})
}

// whoami answers GET /user: the login of the token's identity for a
// person's token, 403 for an installation token's, 401 for no token.
func (s *Server) whoami(w http.ResponseWriter, r *http.Request) {
	switch _, ok := bearer(r.Header.Get("Authorization")); {
	case !ok:
		answer(w, http.StatusUnauthorized, "Requires authentication", nil)
	case s.user.Type == "Bot":
		notAccessible(w, "users/users#get-the-authenticated-user")
	default:
		writeJSON(w, http.StatusOK, map[string]any{"login": s.user.Login, "type": s.user.Type, "id": 7000})
	}
}

// ClosePull closes pull request pr of repo ("owner/name"), which SetPullHead
// made exist: GET .../pulls/{pr} answers it with state "closed".
func (s *Server) ClosePull(repo string, pr int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed == nil {
		s.closed = map[thread]bool{}
	}
	s.closed[thread{repo, pr}] = true
}
