package emulator

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// apiPrefix is where the emulated API is mounted.
const apiPrefix = "/api/v1/"

// maxRequestBody bounds the request bodies the emulator reads.
const maxRequestBody = 8 << 20

// Server is the emulator; it implements http.Handler.
type Server struct {
	initial Options

	mu       sync.Mutex
	opts     Options
	st       *store
	rng      *rand.Rand
	rules    []*ruleState
	bucket   bucket
	idem     map[string]*idemEntry
	counters Counters
	reqSeq   int
	log      []*RequestRecord
	logSeq   int
}

// New returns a Server with the given options.
func New(opts Options) *Server {
	s := &Server{initial: opts}
	s.reset()
	return s
}

// reset restores the state given to New; the caller holds s.mu (or owns s).
func (s *Server) reset() {
	s.opts = s.initial.withDefaults()
	now := s.opts.Clock()
	s.st = &store{templates: builtIns(now), seed: s.opts.Seed, buildsByName: map[string]int{}}
	s.rng = newRand(s.opts.Seed)
	s.rules = newRuleStates(s.opts.Faults.Rules)
	s.bucket = bucket{}
	s.idem = map[string]*idemEntry{}
	s.counters = newCounters()
	s.reqSeq = 0
	s.log = nil
	s.logSeq = 0
}

func newRand(seed int64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), 0x6d696f7361))
}

// route is a routed API request.
type route struct {
	endpoint string // counter name
	id       string // template id/slug or build id
	allow    string // allowed methods when the method does not match
}

// routeSlot is where a router handler leaves its route (a context value).
type routeSlot struct{}

// router maps method and path to an endpoint with Go 1.22 patterns. Its
// handlers only name the endpoint; routeOf runs it against a discarding
// writer. A pattern without a method catches the other methods of a path
// (method_not_allowed); anything else, including the mux's own redirects of
// unclean paths, is "unknown".
var router = func() *http.ServeMux {
	m := http.NewServeMux()
	add := func(pattern, endpoint, allow string) {
		m.HandleFunc(pattern, func(_ http.ResponseWriter, r *http.Request) {
			rt := route{endpoint: endpoint, allow: allow}
			if allow == "" {
				rt.id = r.PathValue("id")
			}
			*r.Context().Value(routeSlot{}).(*route) = rt
		})
	}
	const t = apiPrefix + "sandbox-templates"
	add("GET "+t, "list", "")
	add("POST "+t, "create", "")
	add(t, "method_not_allowed", "GET, POST")
	add("GET "+t+"/build-spec", "schema", "")
	add("POST "+t+"/validate", "validate", "")
	add("GET "+t+"/{id}", "get", "")
	add("DELETE "+t+"/{id}", "delete", "")
	add(t+"/{id}", "method_not_allowed", "GET, DELETE")
	add("GET "+t+"/{id}/builds", "list_builds", "")
	add("POST "+t+"/{id}/builds", "create_build", "")
	add(t+"/{id}/builds", "method_not_allowed", "GET, POST")
	add("GET "+apiPrefix+"sandbox-template-builds/{id}", "get_build", "")
	add(apiPrefix+"sandbox-template-builds/{id}", "method_not_allowed", "GET")
	return m
}()

// routeOf routes a request. Wildcards match one escaped path segment and
// are unescaped, so ids may hold any character except "/" (even "%2F").
// Methods other than GET, POST and DELETE are routed as one that no
// pattern names: a GET pattern would also take HEAD, and the mux treats
// CONNECT apart.
func routeOf(r *http.Request) route {
	rt := route{endpoint: "unknown"}
	rr := r.WithContext(context.WithValue(r.Context(), routeSlot{}, &rt))
	switch r.Method {
	case http.MethodGet, http.MethodPost, http.MethodDelete:
	default:
		rr.Method = "OTHER"
	}
	router.ServeHTTP(discard{}, rr)
	return rt
}

// discard is a ResponseWriter that drops everything.
type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(p []byte) (int, error) { return len(p), nil }
func (discard) WriteHeader(int)             {}

// call is one API request in flight.
type call struct {
	r       *http.Request
	rt      route
	body    []byte
	reqID   string
	key     string // API key fingerprint
	plan    faultPlan
	variant Variant
	record  *RequestRecord
}

// ServeHTTP serves the API under /api/v1 and the inspection endpoints under /__emulator/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, inspectPrefix) {
		s.serveInspect(w, r)
		return
	}
	body, readErr := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
	c := &call{r: r, rt: routeOf(r), body: body}

	s.mu.Lock()
	s.reqSeq++
	c.reqID = fmt.Sprintf("req_%06d", s.reqSeq)
	c.variant = s.opts.Variant
	c.record = s.logRequest(c)
	s.counters.Requests[c.rt.endpoint]++
	s.mu.Unlock()

	// The status is recorded before the response goes out, so a client that
	// has its answer finds it in the request log.
	sw := &statusWriter{ResponseWriter: w, onStatus: func(status int) {
		s.mu.Lock()
		c.record.Status = status
		s.mu.Unlock()
	}}
	sw.Header().Set("X-Request-ID", c.reqID)
	s.serve(sw, c, readErr)
}

// drop closes the connection without a response, after counting the drop:
// the client sees the closed connection only once the counters show it.
func (s *Server) drop(w http.ResponseWriter, c *call) {
	s.mu.Lock()
	c.record.Dropped = true
	s.counters.Dropped++
	s.mu.Unlock()
	drop(w)
}

// serve runs the request pipeline: auth, rate limit, faults before the
// handler, the handler, faults after it.
func (s *Server) serve(w *statusWriter, c *call, readErr error) {
	r := c.r
	key, authOK := bearerKey(r.Header.Get("Authorization"))
	if !authOK {
		s.mu.Lock()
		s.counters.Unauthorized++
		s.mu.Unlock()
		s.writeError(w, c, http.StatusUnauthorized, "UNAUTHORIZED", "missing or invalid API key (expected Authorization: Bearer msk_...)", nil)
		return
	}
	c.key = fingerprint(key)

	s.mu.Lock()
	s.counters.RequestsByKey[c.key]++
	limited, wait, quota := s.rateLimited()
	if quota.on && s.opts.RateLimitHeaders {
		h := w.Header()
		h.Set("X-RateLimit-Limit", strconv.Itoa(quota.limit))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(quota.remaining))
		h.Set("X-RateLimit-Reset", strconv.Itoa(quota.reset))
	}
	if limited {
		s.counters.RateLimited++
	} else {
		c.plan = s.planFaults(c)
		if c.plan.status == http.StatusTooManyRequests {
			s.counters.RateLimited++
		}
	}
	s.mu.Unlock()
	if limited {
		where := "both"
		if s.opts.RateLimitNoRetryAfter {
			where = "none"
		}
		s.writeRetryAfter(w, c, http.StatusTooManyRequests, wait, where)
		return
	}

	if !sleep(r, c.plan.latency) {
		return
	}
	switch {
	case c.plan.dropBefore:
		s.drop(w, c)
		return
	case c.plan.redirect != "":
		w.Header().Set("Location", c.plan.redirect)
		w.WriteHeader(http.StatusTemporaryRedirect)
		return
	case c.plan.echoAuth != 0:
		s.writeError(w, c, c.plan.echoAuth, "UPSTREAM_AUTH_FAILED",
			"upstream rejected the request headers: Authorization: "+r.Header.Get("Authorization"), nil)
		return
	case c.plan.status == http.StatusTooManyRequests || (c.plan.status != 0 && c.plan.retryAfter > 0):
		s.writeRetryAfter(w, c, c.plan.status, c.plan.retryAfter, c.plan.retryIn)
		return
	case c.plan.status != 0:
		s.writeError(w, c, c.plan.status, statusCode(c.plan.status), "injected fault: "+http.StatusText(c.plan.status), nil)
		return
	}
	if readErr != nil {
		s.writeError(w, c, http.StatusBadRequest, "BAD_REQUEST", "could not read the request body", nil)
		return
	}
	if len(c.body) > maxRequestBody {
		s.writeError(w, c, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE", "request body too large", nil)
		return
	}

	rec := newRecorder()
	s.mu.Lock()
	s.handleAPI(rec, c)
	onHandled := s.opts.OnHandled
	var handled RequestRecord
	if onHandled != nil {
		handled = *c.record
		handled.Status = rec.status
	}
	s.mu.Unlock()
	if onHandled != nil {
		onHandled(handled)
	}

	switch {
	case c.plan.dropAfter:
		s.drop(w, c)
		return
	case c.plan.huge > 0:
		rec.body.Reset()
		rec.body.WriteString(`{"data":"`)
		rec.body.WriteString(strings.Repeat("x", c.plan.huge))
		rec.body.WriteString(`"}`)
	case c.plan.malformed:
		rec.body.Truncate(rec.body.Len() / 2)
		if rec.body.Len() == 0 {
			rec.body.WriteString(`{"data": {"id": `)
		}
		rec.header.Set("Content-Type", "application/json")
	}
	h := w.Header()
	for k, v := range rec.header {
		h[k] = v
	}
	w.WriteHeader(rec.status)
	_, _ = w.Write(rec.body.Bytes())
}

// statusWriter reports the status to onStatus before it is written; no
// call means nothing was written (the connection was dropped).
type statusWriter struct {
	http.ResponseWriter
	status   int
	onStatus func(int)
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
		w.onStatus(status)
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

// Hijack lets drop close the underlying connection.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("hijack not supported")
	}
	return hj.Hijack()
}

// handleAPI runs an authorized, unfaulted request: idempotency, then the
// endpoint. The caller holds s.mu.
func (s *Server) handleAPI(w *recorder, c *call) {
	now := s.opts.Clock()
	s.st.advance(now)
	ikey := c.r.Header.Get("Idempotency-Key")
	keyed := ikey != "" && c.r.Method == http.MethodPost && (c.rt.endpoint == "create" || c.rt.endpoint == "create_build")
	var scope string
	if keyed {
		scope = c.key + " " + c.r.Method + " " + c.r.URL.EscapedPath() + " " + ikey
		if e, ok := s.idem[scope]; ok && now.Sub(e.at) < s.opts.IdempotencyWindow {
			if e.canon != canonical(c.body) {
				s.counters.Mismatches++
				s.writeError(w, c, http.StatusConflict, "IDEMPOTENCY_PAYLOAD_MISMATCH",
					"this Idempotency-Key was already used with a different request body", nil)
				return
			}
			s.counters.Replays++
			for k, v := range e.header {
				w.header[k] = v
			}
			w.header.Set("Idempotent-Replayed", "true")
			w.WriteHeader(e.status)
			_, _ = w.Write(e.body)
			return
		}
		delete(s.idem, scope)
	}
	s.dispatch(w, c, now)
	if keyed && storable(w.status) {
		s.idem[scope] = &idemEntry{
			canon:  canonical(c.body),
			status: w.status,
			header: w.header.Clone(),
			body:   bytes.Clone(w.body.Bytes()),
			at:     now,
		}
	}
}

// idemEntry is a remembered response to a keyed POST.
type idemEntry struct {
	canon  string
	status int
	header http.Header
	body   []byte
	at     time.Time
}

// storable reports whether a response is remembered for its Idempotency-Key:
// successes and final client errors, not server errors or conflicts.
func storable(status int) bool {
	return status < 500 && status != http.StatusConflict && status != http.StatusTooManyRequests
}

func (s *Server) dispatch(w *recorder, c *call, now time.Time) {
	switch c.rt.endpoint {
	case "list":
		s.list(w, c)
	case "get":
		s.get(w, c)
	case "create":
		s.create(w, c, now)
	case "schema":
		s.schema(w, c)
	case "validate":
		s.validate(w, c)
	case "list_builds":
		s.listBuilds(w, c)
	case "create_build":
		s.createBuild(w, c, now)
	case "get_build":
		s.getBuild(w, c)
	case "delete":
		s.deleteTemplate(w, c)
	case "method_not_allowed":
		w.header.Set("Allow", c.rt.allow)
		s.writeError(w, c, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "method "+c.r.Method+" not allowed", nil)
	default:
		s.writeError(w, c, http.StatusNotFound, "NOT_FOUND", "no such endpoint", nil)
	}
}

// bearerKey extracts an msk_ key from an Authorization header value.
func bearerKey(h string) (string, bool) {
	scheme, key, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	key = strings.TrimSpace(key)
	if len(key) <= len("msk_") || !strings.HasPrefix(key, "msk_") || strings.ContainsAny(key, " \t\r\n") {
		return "", false
	}
	return key, true
}

// fingerprint names an API key without revealing it.
func fingerprint(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "sha256:" + hex.EncodeToString(sum[:6])
}

// statusCode names an injected status as an error code.
func statusCode(status int) string {
	switch status {
	case http.StatusInternalServerError:
		return "INTERNAL_ERROR"
	case http.StatusBadGateway:
		return "BAD_GATEWAY"
	case http.StatusServiceUnavailable:
		return "SERVICE_UNAVAILABLE"
	case http.StatusGatewayTimeout:
		return "GATEWAY_TIMEOUT"
	case http.StatusRequestTimeout:
		return "REQUEST_TIMEOUT"
	case http.StatusPaymentRequired:
		return "OUT_OF_CREDITS"
	case http.StatusForbidden:
		return "FORBIDDEN"
	case http.StatusNotFound:
		return "NOT_FOUND"
	case http.StatusConflict:
		return "CONFLICT"
	default:
		return strings.ToUpper(strings.ReplaceAll(http.StatusText(status), " ", "_"))
	}
}

// writeRetryAfter answers status (429, or an injected 5xx) with a retry delay in the
// header, the body, both or ("none") neither.
func (s *Server) writeRetryAfter(w http.ResponseWriter, c *call, status int, wait time.Duration, where string) {
	secs := max(int((wait+time.Second-1)/time.Second), 1)
	extra := map[string]any{}
	both := where == "" || where == "both"
	if where == "header" || both {
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	if where == "body" || both {
		extra["retry_after"] = secs
	}
	code, msg := "RATE_LIMITED", "too many requests"
	if status != http.StatusTooManyRequests {
		code, msg = statusCode(status), "injected fault: "+http.StatusText(status)
	}
	s.writeErrorExtra(w, c, status, code, msg, nil, extra)
}

// writeError writes an error body in the configured form. errs, when not
// nil, is sent as the top-level "errors" member.
func (s *Server) writeError(w http.ResponseWriter, c *call, status int, code, msg string, errs any) {
	s.writeErrorExtra(w, c, status, code, msg, errs, nil)
}

func (s *Server) writeErrorExtra(w http.ResponseWriter, c *call, status int, code, msg string, errs any, extra map[string]any) {
	form := c.variant.Errors
	var body map[string]any
	switch form {
	case "flat":
		body = map[string]any{"error": msg}
	case "message":
		body = map[string]any{"message": msg}
	case "detail":
		body = map[string]any{"detail": msg}
	case "strings":
		body = map[string]any{"errors": errorStrings(msg, errs)}
		errs = nil
	default:
		e := map[string]any{"code": code, "message": msg, "request_id": c.reqID}
		if status >= 500 {
			e["retryable"] = status != http.StatusInternalServerError
		}
		for k, v := range extra {
			e[k] = v
		}
		body = map[string]any{"error": e}
		extra = nil
	}
	for k, v := range extra {
		body[k] = v
	}
	if errs != nil {
		body["errors"] = errs
	}
	writeJSON(w, status, body)
}

// errorStrings flattens an error message and field errors into strings.
func errorStrings(msg string, errs any) []string {
	out := []string{}
	switch e := errs.(type) {
	case []fieldError:
		for _, fe := range e {
			out = append(out, fe.Field+": "+fe.Message)
		}
	case map[string][]string:
		for _, k := range sortedKeysStr(e) {
			for _, m := range e[k] {
				out = append(out, k+": "+m)
			}
		}
	}
	if len(out) == 0 {
		out = append(out, msg)
	}
	return out
}

func sortedKeysStr(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		data = []byte(`{"error":{"code":"INTERNAL_ERROR","message":"encode response"}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

// recorder buffers a response so it can be remembered, replaced or dropped.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}, status: http.StatusOK} }

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(p []byte) (int, error) { return r.body.Write(p) }
func (r *recorder) WriteHeader(status int)      { r.status = status }

// drop closes the client connection without a response.
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// sleep waits d or until the request is cancelled; it reports whether the
// request is still wanted.
func sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}
