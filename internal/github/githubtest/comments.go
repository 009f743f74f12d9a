package githubtest

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxBody is GitHub's limit on a comment body, in characters.
const MaxBody = 65536

// User is a comment's author.
type User struct {
	Login string `json:"login"`
	Type  string `json:"type"` // "User" or "Bot"
}

// Bot is GITHUB_TOKEN's identity, the author of the comments the fake's
// token writes unless SetUser says otherwise.
var Bot = User{Login: "github-actions[bot]", Type: "Bot"}

// Comment is an issue comment as GitHub's REST API shows it.
type Comment struct {
	ID                int64  `json:"id"`
	Body              string `json:"body"`
	User              User   `json:"user"`
	AuthorAssociation string `json:"author_association"` // "NONE", "CONTRIBUTOR", "MEMBER", ...
	HTMLURL           string `json:"html_url"`
	CreatedAt         string `json:"created_at"`
	UpdatedAt         string `json:"updated_at"`
}

// thread is one pull request's comments.
type thread struct {
	repo string
	pr   int
}

// AddComment adds a comment to pull request pr of repo ("owner/name"), as
// someone else wrote it, and returns it with its id and URL. An empty User
// is a person with no association to the repository.
func (s *Server) AddComment(repo string, pr int, c Comment) Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.User.Login == "" {
		c.User = User{Login: "someone", Type: "User"}
	}
	if c.AuthorAssociation == "" {
		c.AuthorAssociation = "NONE"
	}
	return s.add(thread{repo, pr}, c)
}

// Comments returns the comments of pull request pr of repo, oldest first.
func (s *Server) Comments(repo string, pr int) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.threads[thread{repo, pr}])
}

// add stores c in t; s.mu is held.
func (s *Server) add(t thread, c Comment) Comment {
	s.nextID++
	now := time.Now().UTC().Format(time.RFC3339)
	c.ID = s.nextID
	c.HTMLURL = fmt.Sprintf("https://github.com/%s/pull/%d#issuecomment-%d", t.repo, t.pr, c.ID)
	c.CreatedAt, c.UpdatedAt = now, now
	s.repoID(t.repo)
	s.threads[t] = append(s.threads[t], c)
	return c
}

// threadOf finds the pull request a list or create names; s.mu is held.
func (s *Server) threadOf(r *http.Request) (thread, bool) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 {
		return thread{}, false
	}
	if id := r.PathValue("id"); id != "" {
		for repo, rid := range s.repoIDs {
			if strconv.Itoa(rid) == id {
				return thread{repo, n}, true
			}
		}
		return thread{}, false
	}
	return thread{repoOf(r), n}, true
}

// list answers GET .../issues/{n}/comments with per_page (default 30, at
// most 100) and page, and a Link header naming the repository by id.
func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	t, ok := s.threadOf(r)
	if !ok {
		answer(w, http.StatusNotFound, "Not Found", nil)
		return
	}
	all := s.threads[t]
	per, page, lo, hi := pageOf(r, len(all))
	pageLinks(w, s.api(r, "/repositories/%d/issues/%d/comments?per_page=%d&page=", s.repoID(t.repo), t.pr, per), page, max((len(all)+per-1)/per, 1))
	writeJSON(w, http.StatusOK, append([]Comment{}, all[lo:hi]...))
}

// readBody reads {"body": ...} and checks it as GitHub does; it writes the
// refusal and returns false when the body is not acceptable.
func readBody(w http.ResponseWriter, r *http.Request) (string, bool) {
	var in struct {
		Body *string `json:"body"`
	}
	if !readJSON(w, r, &in) {
		return "", false
	}
	switch {
	case in.Body == nil || strings.TrimSpace(*in.Body) == "":
		answer(w, http.StatusUnprocessableEntity, "Validation Failed", []string{"body cannot be blank"})
		return "", false
	case utf8.RuneCountInString(*in.Body) > MaxBody:
		answer(w, http.StatusUnprocessableEntity, "Validation Failed", []string{fmt.Sprintf("body is too long (maximum is %d characters)", MaxBody)})
		return "", false
	}
	return *in.Body, true
}

// create answers POST .../issues/{n}/comments.
func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, faulty := s.begin(w, OpCreate)
	if faulty && !f.Apply {
		answerFault(w, f)
		return
	}
	if s.readOnly {
		notAccessible(w, "issues/comments#create-an-issue-comment")
		return
	}
	t, _ := s.threadOf(r)
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	c := s.add(t, Comment{Body: body, User: s.user, AuthorAssociation: "NONE"})
	if faulty {
		answerFault(w, f)
		return
	}
	w.Header().Set("Location", s.api(r, "/repos/%s/issues/comments/%d", t.repo, c.ID))
	writeJSON(w, http.StatusCreated, c)
}

// update answers PATCH .../issues/comments/{id}.
func (s *Server) update(w http.ResponseWriter, r *http.Request) {
	s.onComment(w, r, OpUpdate, "issues/comments#update-an-issue-comment", func(t thread, list []Comment, i int) (int, any, bool) {
		body, ok := readBody(w, r)
		if !ok {
			return 0, nil, false
		}
		list[i].Body = body
		list[i].UpdatedAt = time.Now().UTC().Format(time.RFC3339)
		return http.StatusOK, list[i], true
	})
}

// remove answers DELETE .../issues/comments/{id} with 204 and no body.
func (s *Server) remove(w http.ResponseWriter, r *http.Request) {
	s.onComment(w, r, OpDelete, "issues/comments#delete-an-issue-comment", func(t thread, list []Comment, i int) (int, any, bool) {
		s.threads[t] = slices.Delete(list, i, i+1)
		return http.StatusNoContent, nil, true
	})
}

// onComment answers a request about one existing comment of the request's
// repository: faults, a read-only token and a missing comment as GitHub
// does; otherwise do changes the comment and says the answer (ok false: it
// answered itself).
func (s *Server) onComment(w http.ResponseWriter, r *http.Request, op Op, doc string, do func(t thread, list []Comment, i int) (status int, body any, ok bool)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, faulty := s.begin(w, op)
	if faulty && !f.Apply {
		answerFault(w, f)
		return
	}
	if s.readOnly {
		notAccessible(w, doc)
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	repo := repoOf(r)
	for t, list := range s.threads {
		i := slices.IndexFunc(list, func(c Comment) bool { return c.ID == id })
		if t.repo != repo || i < 0 {
			continue
		}
		status, body, ok := do(t, list, i)
		switch {
		case !ok:
		case faulty:
			answerFault(w, f)
		case body == nil:
			w.WriteHeader(status)
		default:
			writeJSON(w, status, body)
		}
		return
	}
	answer(w, http.StatusNotFound, "Not Found", nil)
}
