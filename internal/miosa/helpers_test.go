package miosa_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
)

const (
	testKey = "msk_u_test_0123456789abcdef"
	testUA  = "sandbox-templates-action/test"
)

// seen is one request as the server received it.
type seen struct {
	Method  string
	Path    string // escaped path
	Query   string
	Header  http.Header
	Body    []byte
	Dropped bool
}

// server is an httptest server whose handler the test scripts and which
// records every request.
type server struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seen
}

// newServer starts a server; handle answers request n (0-based).
func newServer(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, n int)) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		n := len(s.reqs)
		s.reqs = append(s.reqs, seen{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
		s.mu.Unlock()
		handle(w, r, n)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) requests() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seen(nil), s.reqs...)
}

func (s *server) count() int { return len(s.requests()) }

// reply is one scripted response.
type reply struct {
	status int
	header map[string]string
	body   string
}

func (rp reply) write(w http.ResponseWriter) {
	for k, v := range rp.header {
		w.Header().Set(k, v)
	}
	if rp.body != "" && w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(rp.status)
	_, _ = io.WriteString(w, rp.body)
}

// script answers with the replies in turn, repeating the last one.
func script(replies ...reply) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, _ *http.Request, n int) {
		replies[min(n, len(replies)-1)].write(w)
	}
}

// sleeper records the waits the client asks for instead of sleeping.
type sleeper struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleeper) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeper) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// newClient returns a client of srv that records its waits and log lines.
func newClient(t *testing.T, srv *server, mod func(*miosa.Options)) (*miosa.Client, *sleeper, *logLines) {
	t.Helper()
	sl := &sleeper{}
	logs := &logLines{}
	opts := miosa.Options{
		BaseURL:   srv.URL + "/api/v1",
		APIKey:    testKey,
		UserAgent: testUA,
		Sleep:     sl.sleep,
		Logf:      logs.logf,
	}
	if mod != nil {
		mod(&opts)
	}
	c, err := miosa.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c, sl, logs
}

type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logLines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// jsonValue decodes a JSON text for comparison; "" decodes to nil.
func jsonValue(t *testing.T, s []byte) any {
	t.Helper()
	if len(s) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(s, &v); err != nil {
		t.Fatalf("bad JSON %q: %v", s, err)
	}
	return v
}
