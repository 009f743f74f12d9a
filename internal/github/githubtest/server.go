package githubtest

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
)

// GHESPrefix is where GitHub Enterprise Server serves the API.
const GHESPrefix = "/api/v3"

// Op names an endpoint, for faults and counts.
type Op string

// Endpoints of the fake.
const (
	OpRepo          Op = "repo"           // GET /repos/{owner}/{repo}
	OpCommit        Op = "commit"         // GET .../commits/{ref}
	OpContents      Op = "contents"       // GET .../contents/{path}
	OpTree          Op = "tree"           // GET .../git/trees/{ref}
	OpCompare       Op = "compare"        // GET .../compare/{base}...{head}
	OpLatestRelease Op = "latest-release" // GET .../releases/latest
	OpList          Op = "list"           // GET .../issues/{n}/comments
	OpCreate        Op = "create"         // POST .../issues/{n}/comments
	OpUpdate        Op = "update"         // PATCH .../issues/comments/{id}
	OpDelete        Op = "delete"         // DELETE .../issues/comments/{id}
	OpPull          Op = "pull"           // GET .../pulls/{n}
	OpUser          Op = "user"           // GET /user
)

// Options configure New.
type Options struct {
	Prefix     string // path the API is served under: "" (as api.github.com) or GHESPrefix
	Repository string // owner/name the git model answers for; "" answers for any
}

// Fault scripts the answers to the next requests of one endpoint.
type Fault struct {
	Op      Op                // the endpoint
	Status  int               // the answer's status
	Message string            // the body's "message"; "" for the status text
	Errors  []string          // messages of the body's "errors", as a 422 carries them
	Body    string            // a raw body instead of GitHub's error JSON
	Header  map[string]string // extra answer headers, such as Retry-After
	Apply   bool              // for a create or update: carry it out first, the fault stands for a lost answer
	Times   int               // how many requests it answers; 0 means 1
}

// Counts are the requests received, by endpoint: those that got past the
// User-Agent and token checks, faulted ones included.
type Counts struct {
	Repo, Commit, Contents, Tree, Compare, LatestRelease int
	List, Create, Update, Delete                         int
	Pull, User                                           int
	Refused                                              int // requests answered with a status of 400 or more, the checks' included
}

// Request is one request received.
type Request struct {
	Op            Op // "" when it reached no endpoint
	Method        string
	Path          string // without the prefix
	RawQuery      string
	Authorization string // the header as sent
	Status        int    // the answer's status
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	srv    *httptest.Server
	prefix string

	mu        sync.Mutex
	repoName  string
	token     string
	readOnly  bool
	refuseAll int
	faults    []Fault
	counts    map[Op]int
	refused   int
	requests  []Request
	requestNo int

	git       *model
	threads   map[thread][]Comment
	repoIDs   map[string]int
	nextID    int64
	treeLimit int               // entries of a recursive tree before it is truncated; 0: never
	user      User              // the token's identity
	heads     map[thread]string // pull requests' head SHAs
	closed    map[thread]bool   // pull requests closed (ClosePull)
	// deployments, oldest first
	deployments []Deployment
}

// New starts a fake on 127.0.0.1; Close stops it.
func New(opts Options) *Server {
	s := &Server{
		prefix: strings.TrimSuffix(opts.Prefix, "/"), repoName: opts.Repository,
		counts: map[Op]int{}, git: newModel(), threads: map[thread][]Comment{}, repoIDs: map[string]int{}, nextID: 1000,
		user: Bot, heads: map[thread]string{},
	}
	mux := http.NewServeMux()
	repo := "GET " + s.prefix + "/repos/{owner}/{repo}"
	mux.HandleFunc(repo, s.gitHandler(OpRepo, s.repository))
	mux.HandleFunc(repo+"/commits/{ref...}", s.gitHandler(OpCommit, s.commit))
	mux.HandleFunc(repo+"/contents", s.gitHandler(OpContents, s.contents))
	mux.HandleFunc(repo+"/contents/{path...}", s.gitHandler(OpContents, s.contents))
	mux.HandleFunc(repo+"/git/trees/{ref...}", s.gitHandler(OpTree, s.tree))
	mux.HandleFunc(repo+"/compare/{basehead...}", s.gitHandler(OpCompare, s.compare))
	mux.HandleFunc(repo+"/releases/latest", s.gitHandler(OpLatestRelease, s.latestRelease))
	mux.HandleFunc(repo+"/issues/{n}/comments", s.handler(OpList, s.list))
	mux.HandleFunc("GET "+s.prefix+"/repositories/{id}/issues/{n}/comments", s.handler(OpList, s.list))
	mux.HandleFunc("POST "+s.prefix+"/repos/{owner}/{repo}/issues/{n}/comments", s.create)
	mux.HandleFunc("PATCH "+s.prefix+"/repos/{owner}/{repo}/issues/comments/{id}", s.update)
	mux.HandleFunc("DELETE "+s.prefix+"/repos/{owner}/{repo}/issues/comments/{id}", s.remove)
	mux.HandleFunc(repo+"/pulls/{n}", s.handler(OpPull, s.pull))
	mux.HandleFunc("GET "+s.prefix+"/user", s.handler(OpUser, s.whoami))
	s.routeDeployments(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { answer(w, http.StatusNotFound, "Not Found", nil) })
	s.srv = httptest.NewServer(s.guard(mux))
	return s
}

// URL is the API base to use as GITHUB_API_URL: http://127.0.0.1:PORT and
// the prefix.
func (s *Server) URL() string { return s.srv.URL + s.prefix }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// SetToken makes the fake answer 401 "Bad credentials" to any other bearer
// token; "" accepts any. Anonymous reads are answered either way.
func (s *Server) SetToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = token
}

// SetUser sets the token's identity: the author of the comments it
// creates. A Bot's token is an installation token, as GITHUB_TOKEN and a
// GitHub App's are: GET /user answers it 403 "Resource not accessible by
// integration". A User's token is a person's: GET /user answers its login.
// The default is Bot, GITHUB_TOKEN's github-actions[bot].
func (s *Server) SetUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user = u
}

// SetPullHead makes pull request pr of repo ("owner/name") exist, with its
// head at sha, as GET .../pulls/{pr} answers. A pull request never set is
// answered 404.
func (s *Server) SetPullHead(repo string, pr int, sha string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.heads[thread{repo, pr}] = sha
}

// SetReadOnly makes every create, update and delete answer 403 "Resource
// not accessible by integration", as a fork pull request's token gets.
func (s *Server) SetReadOnly(ro bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.readOnly = ro
}

// RefuseAll makes every request answer status: 401 "Bad credentials", or
// 403 "Resource not accessible by integration"; 0 stops it.
func (s *Server) RefuseAll(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuseAll = status
}

// AddFault scripts answers; faults of one endpoint are used in order.
func (s *Server) AddFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times <= 0 {
		f.Times = 1
	}
	s.faults = append(s.faults, f)
}

// Counts returns the requests received so far.
func (s *Server) Counts() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.counts
	return Counts{
		Repo: c[OpRepo], Commit: c[OpCommit], Contents: c[OpContents], Tree: c[OpTree], Compare: c[OpCompare],
		LatestRelease: c[OpLatestRelease], List: c[OpList], Create: c[OpCreate], Update: c[OpUpdate], Delete: c[OpDelete],
		Pull: c[OpPull], User: c[OpUser], Refused: s.refused,
	}
}

// Requests returns every request received, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// recorder keeps the status an answer was given and the endpoint it reached.
type recorder struct {
	http.ResponseWriter
	status int
	op     Op
}

// WriteHeader records code.
func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// guard records every request, gives it a request id and checks what GitHub
// checks before routing: a User-Agent, and the token.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		s.mu.Lock()
		// Recorded before the answer leaves, so that a client that has read
		// an answer finds its request in Requests; its status and endpoint
		// are filled in when the handler is done.
		i := len(s.requests)
		s.requests = append(s.requests, Request{Method: r.Method, Path: strings.TrimPrefix(r.URL.Path, s.prefix),
			RawQuery: r.URL.RawQuery, Authorization: r.Header.Get("Authorization")})
		s.requestNo++
		want, refuse := s.token, s.refuseAll
		w.Header().Set("X-GitHub-Request-Id", fmt.Sprintf("FA4E:%04X", s.requestNo))
		s.mu.Unlock()
		defer s.record(i, rec)
		got, ok := bearer(r.Header.Get("Authorization"))
		switch {
		case r.Header.Get("User-Agent") == "":
			answer(rec, http.StatusForbidden, "Request forbidden by administrative rules. Please make sure your request has a User-Agent header", nil)
		case refuse == http.StatusForbidden:
			answer(rec, refuse, "Resource not accessible by integration", nil)
		case refuse != 0:
			answer(rec, refuse, "Bad credentials", nil)
		case !ok && r.Method != http.MethodGet:
			answer(rec, http.StatusUnauthorized, "Requires authentication", nil)
		case ok && want != "" && got != want:
			answer(rec, http.StatusUnauthorized, "Bad credentials", nil)
		default:
			next.ServeHTTP(rec, r)
		}
	})
}

// record fills in request i's answer.
func (s *Server) record(i int, rec *recorder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[i].Op, s.requests[i].Status = rec.op, rec.status
	if rec.status >= 400 {
		s.refused++
	}
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

// begin counts a request to op and takes its next fault, if any; s.mu is
// held.
func (s *Server) begin(w http.ResponseWriter, op Op) (Fault, bool) {
	if rec, ok := w.(*recorder); ok {
		rec.op = op
	}
	s.counts[op]++
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
	if f.Body != "" {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(f.Status)
		_, _ = w.Write([]byte(f.Body))
		return
	}
	answer(w, f.Status, f.Message, f.Errors)
}

// answer writes GitHub's error body. A 403 of a secondary rate limit points
// at its documentation, as GitHub's does.
func answer(w http.ResponseWriter, status int, message string, errs []string) {
	if message == "" {
		message = http.StatusText(status)
	}
	doc := "https://docs.github.com/rest"
	if status == http.StatusForbidden && strings.Contains(message, "secondary rate limit") {
		doc = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
	}
	body := map[string]any{"message": message, "documentation_url": doc, "status": strconv.Itoa(status)}
	if len(errs) > 0 {
		var list []map[string]string
		for _, e := range errs {
			list = append(list, map[string]string{"resource": "IssueComment", "code": "custom", "field": "body", "message": e})
		}
		body["errors"] = list
	}
	writeJSON(w, status, body)
}

// writeJSON writes v as the answer.
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

// pageOf reads per_page (default 30, at most 100) and page (default 1)
// from the query, as GitHub's lists do, and returns them with the bounds
// [lo, hi) of that page of n items.
func pageOf(r *http.Request, n int) (per, page, lo, hi int) {
	per, page = min(intParam(r, "per_page", 30), 100), intParam(r, "page", 1)
	return per, page, min((page-1)*per, n), min(page*per, n)
}

// readJSON decodes the request's body into v; it answers 400 "Problems
// parsing JSON", as GitHub does, and returns false when it cannot.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(io.LimitReader(r.Body, 4<<20)).Decode(v); err != nil {
		answer(w, http.StatusBadRequest, "Problems parsing JSON", nil)
		return false
	}
	return true
}

// notAccessible is GitHub's 403 to a token that may not do what it asked,
// doc naming the endpoint's documentation under https://docs.github.com/rest/.
func notAccessible(w http.ResponseWriter, doc string) {
	writeJSON(w, http.StatusForbidden, map[string]string{
		"message":           "Resource not accessible by integration",
		"documentation_url": "https://docs.github.com/rest/" + doc,
		"status":            "403",
	})
}

// pageLinks sets the Link header of page of last pages, base being the
// page's URL up to "page=".
func pageLinks(w http.ResponseWriter, base string, page, last int) {
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
