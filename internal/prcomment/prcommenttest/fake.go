// Package prcommenttest is a fake of the GitHub REST endpoints package
// prcomment uses, served on 127.0.0.1 under /api/v3 (as GitHub Enterprise
// Server lays them out): list a pull request's issue comments, paginated with
// a Link header whose URLs name the repository by id as GitHub's do; create a
// comment; update one. It answers as GitHub does: a 403 "Resource not
// accessible by integration" to a read-only token, 422 "Validation Failed"
// for an empty or too long body, 401 for a wrong token, 403 without a
// User-Agent, and any scripted Fault. It counts and records what it received.
package prcommenttest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Prefix is the path the API is served under; URL includes it.
const Prefix = "/api/v3"

// MaxBody is GitHub's limit on a comment body, in characters.
const MaxBody = 65536

// Ops a Fault can apply to.
const (
	OpList   = "list"
	OpCreate = "create"
	OpUpdate = "update"
)

// User is a comment's author.
type User struct {
	Login string `json:"login"`
	Type  string `json:"type"` // "User" or "Bot"
}

// Bot is the author of the comments the fake's token writes, as GITHUB_TOKEN's are.
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

// Fault scripts answers for the next requests of one operation.
type Fault struct {
	Op      string            // OpList, OpCreate or OpUpdate
	Status  int               // the answer's status
	Message string            // the body's "message"; "" for the status text
	Errors  []string          // messages of the body's "errors", as a 422 carries them
	Header  map[string]string // extra answer headers, such as Retry-After
	Apply   bool              // carry out the request first: the fault stands for a lost answer
	Times   int               // how many requests it answers; 0 means 1
}

// Counts are the requests received, by operation.
type Counts struct {
	List, Create, Update int // requests that got past the User-Agent and token checks to each operation
	Refused              int // requests answered with an error status, those checks' included
}

// Request is one request received.
type Request struct {
	Method        string
	Path          string // without Prefix
	RawQuery      string
	Authorization string // the header as sent
	Status        int    // the answer's status
}

type thread struct {
	repo string
	pr   int
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	srv *httptest.Server

	mu       sync.Mutex
	token    string
	readOnly bool
	threads  map[thread][]Comment
	repoIDs  map[string]int
	nextID   int64
	faults   []Fault
	counts   Counts
	requests []Request
}

// New starts a fake on 127.0.0.1; Close stops it.
func New() *Server {
	s := &Server{threads: map[thread][]Comment{}, repoIDs: map[string]int{}, nextID: 1000}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+Prefix+"/repos/{owner}/{repo}/issues/{n}/comments", s.list)
	mux.HandleFunc("GET "+Prefix+"/repositories/{id}/issues/{n}/comments", s.list)
	mux.HandleFunc("POST "+Prefix+"/repos/{owner}/{repo}/issues/{n}/comments", s.create)
	mux.HandleFunc("PATCH "+Prefix+"/repos/{owner}/{repo}/issues/comments/{id}", s.update)
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { answer(w, http.StatusNotFound, "Not Found", nil) })
	s.srv = httptest.NewServer(s.guard(mux))
	return s
}

// URL is the API base to use as GITHUB_API_URL.
func (s *Server) URL() string { return s.srv.URL + Prefix }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// SetToken makes the fake accept only this bearer token (401 otherwise); ""
// accepts any.
func (s *Server) SetToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = token
}

// SetReadOnly makes every create and update answer 403 "Resource not
// accessible by integration", as a fork pull request's token gets.
func (s *Server) SetReadOnly(ro bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.readOnly = ro
}

// AddFault scripts answers; faults of one operation are used in order.
func (s *Server) AddFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times <= 0 {
		f.Times = 1
	}
	s.faults = append(s.faults, f)
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

// Counts returns the requests received so far.
func (s *Server) Counts() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts
}

// Requests returns every request received, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
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

// repoID returns repo's id, making one up the first time; s.mu is held.
func (s *Server) repoID(repo string) int {
	id, ok := s.repoIDs[repo]
	if !ok {
		id = 500 + len(s.repoIDs)
		s.repoIDs[repo] = id
	}
	return id
}

// recorder keeps the status an answer was given.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// guard records every request and checks what GitHub checks before routing:
// a User-Agent, and the token.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.requests = append(s.requests, Request{
				Method: r.Method, Path: strings.TrimPrefix(r.URL.Path, Prefix), RawQuery: r.URL.RawQuery,
				Authorization: r.Header.Get("Authorization"), Status: rec.status,
			})
			if rec.status >= 400 {
				s.counts.Refused++
			}
		}()
		if r.Header.Get("User-Agent") == "" {
			answer(rec, http.StatusForbidden, "Request forbidden by administrative rules. Please make sure your request has a User-Agent header", nil)
			return
		}
		s.mu.Lock()
		want := s.token
		s.mu.Unlock()
		got, ok := bearer(r.Header.Get("Authorization"))
		switch {
		case !ok && r.Method != http.MethodGet:
			answer(rec, http.StatusUnauthorized, "Requires authentication", nil)
			return
		case ok && want != "" && got != want:
			answer(rec, http.StatusUnauthorized, "Bad credentials", nil)
			return
		}
		next.ServeHTTP(rec, r)
	})
}

// bearer returns the token of an Authorization header.
func bearer(h string) (string, bool) {
	for _, scheme := range []string{"Bearer ", "token "} {
		if t, ok := strings.CutPrefix(h, scheme); ok && t != "" {
			return t, true
		}
	}
	return "", false
}

// fault takes the next fault of op, if any; s.mu is held.
func (s *Server) fault(op string) (Fault, bool) {
	for i, f := range s.faults {
		if f.Op != op {
			continue
		}
		if f.Times--; f.Times <= 0 {
			s.faults = slices.Delete(s.faults, i, i+1)
		} else {
			s.faults[i] = f
		}
		return f, true
	}
	return Fault{}, false
}

// answerFault writes f.
func answerFault(w http.ResponseWriter, f Fault) {
	for k, v := range f.Header {
		w.Header().Set(k, v)
	}
	answer(w, f.Status, f.Message, f.Errors)
}

// answer writes GitHub's error body.
func answer(w http.ResponseWriter, status int, message string, errs []string) {
	if message == "" {
		message = http.StatusText(status)
	}
	body := map[string]any{
		"message":           message,
		"documentation_url": "https://docs.github.com/rest",
		"status":            strconv.Itoa(status),
	}
	if len(errs) > 0 {
		var list []map[string]string
		for _, e := range errs {
			list = append(list, map[string]string{"resource": "IssueComment", "code": "custom", "field": "body", "message": e})
		}
		body["errors"] = list
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// intParam reads a positive integer from the query, or def.
func intParam(r *http.Request, name string, def int) int {
	n, err := strconv.Atoi(r.URL.Query().Get(name))
	if err != nil || n < 1 {
		return def
	}
	return n
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
	return thread{r.PathValue("owner") + "/" + r.PathValue("repo"), n}, true
}

// list answers GET .../issues/{n}/comments with per_page (default 30, at
// most 100) and page.
func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts.List++
	if f, ok := s.fault(OpList); ok {
		answerFault(w, f)
		return
	}
	t, ok := s.threadOf(r)
	if !ok {
		answer(w, http.StatusNotFound, "Not Found", nil)
		return
	}
	per := min(intParam(r, "per_page", 30), 100)
	page := intParam(r, "page", 1)
	all := s.threads[t]
	last := max((len(all)+per-1)/per, 1)
	lo, hi := min((page-1)*per, len(all)), min(page*per, len(all))
	base := fmt.Sprintf("http://%s%s/repositories/%d/issues/%d/comments?per_page=%d&page=", r.Host, Prefix, s.repoID(t.repo), t.pr, per)
	var links []string
	if page < last {
		links = append(links, fmt.Sprintf(`<%s%d>; rel="next"`, base, page+1), fmt.Sprintf(`<%s%d>; rel="last"`, base, last))
	}
	if page > 1 {
		links = append(links, fmt.Sprintf(`<%s%d>; rel="prev"`, base, page-1), fmt.Sprintf(`<%s1>; rel="first"`, base))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	writeJSON(w, http.StatusOK, append([]Comment{}, all[lo:hi]...))
}

// readBody reads {"body": ...} and checks it as GitHub does; it writes the
// refusal and returns false when the body is not acceptable.
func readBody(w http.ResponseWriter, r *http.Request) (string, bool) {
	var in struct {
		Body *string `json:"body"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 4<<20)).Decode(&in); err != nil {
		answer(w, http.StatusBadRequest, "Problems parsing JSON", nil)
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

// readOnlyAnswer is GitHub's answer to a write with a read-only token.
func readOnlyAnswer(w http.ResponseWriter, doc string) {
	writeJSON(w, http.StatusForbidden, map[string]string{
		"message":           "Resource not accessible by integration",
		"documentation_url": "https://docs.github.com/rest/issues/comments#" + doc,
		"status":            "403",
	})
}

// create answers POST .../issues/{n}/comments.
func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts.Create++
	f, faulty := s.fault(OpCreate)
	if faulty && !f.Apply {
		answerFault(w, f)
		return
	}
	if s.readOnly {
		readOnlyAnswer(w, "create-an-issue-comment")
		return
	}
	t, _ := s.threadOf(r)
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	c := s.add(t, Comment{Body: body, User: Bot, AuthorAssociation: "NONE"})
	if faulty {
		answerFault(w, f)
		return
	}
	w.Header().Set("Location", fmt.Sprintf("http://%s%s/repos/%s/issues/comments/%d", r.Host, Prefix, t.repo, c.ID))
	writeJSON(w, http.StatusCreated, c)
}

// update answers PATCH .../issues/comments/{id}.
func (s *Server) update(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts.Update++
	f, faulty := s.fault(OpUpdate)
	if faulty && !f.Apply {
		answerFault(w, f)
		return
	}
	if s.readOnly {
		readOnlyAnswer(w, "update-an-issue-comment")
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	repo := r.PathValue("owner") + "/" + r.PathValue("repo")
	for t, list := range s.threads {
		i := slices.IndexFunc(list, func(c Comment) bool { return c.ID == id })
		if t.repo != repo || i < 0 {
			continue
		}
		body, ok := readBody(w, r)
		if !ok {
			return
		}
		list[i].Body = body
		list[i].UpdatedAt = time.Now().UTC().Format(time.RFC3339)
		if faulty {
			answerFault(w, f)
			return
		}
		writeJSON(w, http.StatusOK, list[i])
		return
	}
	answer(w, http.StatusNotFound, "Not Found", nil)
}
