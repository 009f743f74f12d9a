package miosa_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/miosa-dev/sandbox-templates-action/internal/golden"
	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
)

func listTemplates(ctx context.Context, c *miosa.Client) error {
	_, err := c.ListTemplates(ctx, false)
	return err
}

func validate(ctx context.Context, c *miosa.Client) error {
	_, err := c.Validate(ctx, map[string]any{"from": "node:22"})
	return err
}

const (
	okTemplate = `{"data":{"id":"t1","name":"web"}}`
	okBuild    = `{"data":{"id":"b1","state":"queued"}}`
	okValid    = `{"valid":true}`
)

var (
	s503 = reply{status: 503, body: `{"error":{"code":"UNAVAILABLE","message":"try later"}}`}
	s500 = reply{status: 500, body: `{"error":{"code":"INTERNAL","message":"boom"}}`}
)

type retryCase struct {
	name     string
	call     func(context.Context, *miosa.Client) error
	replies  []reply
	requests int
	ok       bool
}

// TestRetryCounts checks the retry policy by the number of requests the
// server received.
func TestRetryCounts(t *testing.T) {
	t.Parallel()
	r500retryable := reply{status: 500, body: `{"error":{"code":"INTERNAL","message":"boom","retryable":true}}`}
	tests := []retryCase{
		{"get 503 503 200", getTemplate, []reply{s503, s503, {status: 200, body: okTemplate}}, 3, true},
		{"get 408 502 504 200", listTemplates, []reply{{status: 408}, {status: 502}, {status: 504}, {status: 200, body: `[]`}}, 4, true},
		{"keyed create 503 503 201", createTemplate, []reply{s503, s503, {status: 201, body: okTemplate}}, 3, true},
		{"keyed build 502 201", createBuild, []reply{{status: 502}, {status: 201, body: okBuild}}, 2, true},
		{"get 503 until attempts run out", getTemplate, []reply{s503}, 5, false},
		{"validate 503 retried like a GET", validate, []reply{s503, {status: 200, body: okValid}}, 2, true},
		{"validate 502 retried like a GET", validate, []reply{{status: 502}, {status: 200, body: okValid}}, 2, true},
		{"validate 429 retried", validate, []reply{{status: 429, header: map[string]string{"Retry-After": "1"}}, {status: 200, body: okValid}}, 2, true},
		{"get 500 retried once", getTemplate, []reply{s500}, 2, false},
		{"get 500 then 200", getTemplate, []reply{s500, {status: 200, body: okTemplate}}, 2, true},
		{"keyed 500 not retryable", createBuild, []reply{s500, {status: 201, body: okBuild}}, 1, false},
		{"keyed 500 retryable once", createBuild, []reply{r500retryable}, 2, false},
		{"keyed 500 retryable then 201", createBuild, []reply{r500retryable, {status: 201, body: okBuild}}, 2, true},
		{"validate 500 retried once", validate, []reply{r500retryable, {status: 200, body: okValid}}, 2, true},
		{"503 with retryable false", getTemplate, []reply{{status: 503, body: `{"error":{"code":"DOWN","retryable":false}}`}}, 1, false},
		{"get 501", getTemplate, []reply{{status: 501}}, 1, false},
	}
	for _, status := range []int{400, 401, 402, 403, 404, 409, 422} {
		r := reply{status: status, body: `{"error":{"code":"X","message":"no","retryable":true}}`}
		tests = append(tests,
			retryCase{fmt.Sprintf("get %d never retried", status), getTemplate, []reply{r}, 1, false},
			retryCase{fmt.Sprintf("keyed %d never retried", status), createBuild, []reply{r}, 1, false},
		)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, script(tt.replies...))
			c, sl, _ := newClient(t, srv, nil)
			err := tt.call(context.Background(), c)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want success %t", err, tt.ok)
			}
			reqs := srv.requests()
			if len(reqs) != tt.requests {
				t.Errorf("server got %d requests, want %d", len(reqs), tt.requests)
			}
			if n := len(sl.all()); n != tt.requests-1 {
				t.Errorf("client waited %d times, want %d", n, tt.requests-1)
			}
			// Every attempt is the same request: same key, same body.
			for i, r := range reqs[1:] {
				if diff := cmp.Diff(reqs[0].Header.Get("Idempotency-Key"), r.Header.Get("Idempotency-Key")); diff != "" {
					t.Errorf("attempt %d: Idempotency-Key changed (-first +this):\n%s", i+2, diff)
				}
				if diff := cmp.Diff(string(reqs[0].Body), string(r.Body)); diff != "" {
					t.Errorf("attempt %d: body changed (-first +this):\n%s", i+2, diff)
				}
			}
			if err != nil && len(reqs) > 1 && !strings.Contains(err.Error(), fmt.Sprintf("%d attempts", len(reqs))) {
				t.Errorf("error %q does not say how many attempts were made", err)
			}
		})
	}
}

func TestRetryKeepsIdempotencyKey(t *testing.T) {
	t.Parallel()
	srv := newServer(t, script(s503, s503, reply{status: 201, body: okBuild}))
	c, _, _ := newClient(t, srv, nil)
	if _, err := c.CreateBuild(context.Background(), "tpl", "6b1f0c4e-0d0e-5b8f-8a1c-3c6a5c6e1a11", miosa.CreateBuild{}); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, r := range srv.requests() {
		keys = append(keys, r.Header.Get("Idempotency-Key"))
	}
	want := []string{"6b1f0c4e-0d0e-5b8f-8a1c-3c6a5c6e1a11", "6b1f0c4e-0d0e-5b8f-8a1c-3c6a5c6e1a11", "6b1f0c4e-0d0e-5b8f-8a1c-3c6a5c6e1a11"}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("Idempotency-Key per attempt (-want +got):\n%s", diff)
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	far := time.Now().Add(2 * time.Hour).UTC().Format(http.TimeFormat)
	tests := []struct {
		name      string
		replies   []reply
		opts      func(*miosa.Options)
		deadline  time.Duration
		requests  int
		waits     []time.Duration
		errSubstr string
	}{
		{
			name:     "seconds honoured",
			replies:  []reply{{status: 429, header: map[string]string{"Retry-After": "1"}}, {status: 200, body: okTemplate}},
			opts:     func(o *miosa.Options) { o.MaxRetryAfter = 2 * time.Second },
			requests: 2,
			waits:    []time.Duration{time.Second},
		},
		{
			name:     "body retry_after honoured",
			replies:  []reply{{status: 429, body: `{"error":{"code":"RATE_LIMITED","retry_after":2}}`}, {status: 200, body: okTemplate}},
			requests: 2,
			waits:    []time.Duration{2 * time.Second},
		},
		{
			name:     "503 with Retry-After",
			replies:  []reply{{status: 503, header: map[string]string{"Retry-After": "3"}}, {status: 200, body: okTemplate}},
			requests: 2,
			waits:    []time.Duration{3 * time.Second},
		},
		{
			name:      "a day is beyond the cap",
			replies:   []reply{{status: 429, header: map[string]string{"Retry-After": "86400", "X-Request-ID": "rl-1"}}, {status: 200, body: okTemplate}},
			requests:  1,
			errSubstr: "rate limited: server asked to retry after 24h0m0s, beyond the 1m0s cap",
		},
		{
			name:      "scaled-down cap",
			replies:   []reply{{status: 429, header: map[string]string{"Retry-After": "3"}}, {status: 200, body: okTemplate}},
			opts:      func(o *miosa.Options) { o.MaxRetryAfter = 2 * time.Second },
			requests:  1,
			errSubstr: "rate limited: server asked to retry after 3s, beyond the 2s cap",
		},
		{
			name:      "http date beyond the cap",
			replies:   []reply{{status: 429, header: map[string]string{"Retry-After": far}}, {status: 200, body: okTemplate}},
			requests:  1,
			errSubstr: "rate limited: server asked to retry after 1h59m",
		},
		{
			name:      "past the deadline",
			replies:   []reply{{status: 429, header: map[string]string{"Retry-After": "30"}}, {status: 200, body: okTemplate}},
			deadline:  10 * time.Second,
			requests:  1,
			errSubstr: "rate limited: server asked to retry after 30s, past the deadline",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, script(tt.replies...))
			c, sl, _ := newClient(t, srv, tt.opts)
			ctx := context.Background()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.deadline)
				defer cancel()
			}
			_, err := c.GetTemplate(ctx, "web")
			if got := srv.count(); got != tt.requests {
				t.Errorf("server got %d requests, want %d", got, tt.requests)
			}
			if diff := cmp.Diff(tt.waits, sl.all()); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
			if tt.errSubstr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.errSubstr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.errSubstr)
			}
			if !miosa.IsRateLimited(err) {
				t.Errorf("IsRateLimited(%v) = false", err)
			}
		})
	}
}

func TestRetryBudget(t *testing.T) {
	t.Parallel()
	srv := newServer(t, script(s503))
	c, _, _ := newClient(t, srv, func(o *miosa.Options) { o.RetryBudget = 2 })
	err := getTemplate(context.Background(), c)
	if err == nil || !strings.Contains(err.Error(), "retry budget exhausted") {
		t.Fatalf("err = %v, want retry budget exhausted", err)
	}
	if n := srv.count(); n != 3 {
		t.Errorf("first call: server got %d requests, want 3 (1 + budget of 2)", n)
	}
	if err := getTemplate(context.Background(), c); err == nil {
		t.Fatal("second call succeeded")
	}
	if n := srv.count(); n != 4 {
		t.Errorf("after second call: server got %d requests, want 4 (no retries left)", n)
	}
}

// The retry budget grows with the work: at 12% 503s, 600 requests retry
// about 80 times, more than a fixed budget of 50, and all succeed; with
// RetryPerRequest off, the fixed base runs out.
func TestRetryBudgetScalesWithRequests(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		perRequest float64
		wantFailed bool
	}{
		{"default", 0, false},
		{"fixed budget", -1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// 3 of every 25 answers are 503: 12%, in runs of 3.
			srv := newServer(t, func(w http.ResponseWriter, _ *http.Request, n int) {
				if n%25 < 3 {
					s503.write(w)
					return
				}
				reply{status: 200, body: okTemplate}.write(w)
			})
			c, _, _ := newClient(t, srv, func(o *miosa.Options) { o.RetryPerRequest = tt.perRequest })
			failed := 0
			for range 600 {
				if err := getTemplate(context.Background(), c); err != nil {
					failed++
				}
			}
			if gotFailed := failed > 0; gotFailed != tt.wantFailed {
				t.Errorf("%d of 600 requests failed (%d sent); want failures: %t", failed, srv.count(), tt.wantFailed)
			}
		})
	}
}

func TestNoRetriesOption(t *testing.T) {
	t.Parallel()
	srv := newServer(t, script(s503))
	c, _, _ := newClient(t, srv, func(o *miosa.Options) { o.RetryBudget = -1 })
	if err := getTemplate(context.Background(), c); err == nil {
		t.Fatal("no error")
	}
	if n := srv.count(); n != 1 {
		t.Errorf("server got %d requests, want 1", n)
	}
}

func TestBackoffIsBounded(t *testing.T) {
	t.Parallel()
	srv := newServer(t, script(s503))
	c, sl, logs := newClient(t, srv, func(o *miosa.Options) {
		o.BaseBackoff, o.MaxBackoff, o.MaxAttempts = 100*time.Millisecond, 400*time.Millisecond, 6
	})
	_ = getTemplate(context.Background(), c)
	ceilings := []time.Duration{100, 200, 400, 400, 400}
	waits := sl.all()
	if len(waits) != len(ceilings) {
		t.Fatalf("waited %d times, want %d", len(waits), len(ceilings))
	}
	for i, w := range waits {
		if w < 0 || w >= ceilings[i]*time.Millisecond {
			t.Errorf("wait %d = %s, want in [0, %s)", i+1, w, ceilings[i]*time.Millisecond)
		}
	}
	if n := len(logs.all()); n != len(ceilings) {
		t.Errorf("logged %d lines, want one per retry (%d)", n, len(ceilings))
	}
}

// dropFirst closes the connection without an answer on the first request.
func dropFirst(ok reply) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, _ *http.Request, n int) {
		if n == 0 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
			return
		}
		ok.write(w)
	}
}

func TestConnectionDropped(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		call     func(context.Context, *miosa.Client) error
		ok       reply
		requests int
		success  bool
	}{
		{"get retried", getTemplate, reply{status: 200, body: okTemplate}, 2, true},
		{"keyed post retried", createBuild, reply{status: 201, body: okBuild}, 2, true},
		{"validate retried", validate, reply{status: 200, body: okValid}, 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, dropFirst(tt.ok))
			c, _, _ := newClient(t, srv, nil)
			err := tt.call(context.Background(), c)
			if (err == nil) != tt.success {
				t.Fatalf("err = %v, want success %t", err, tt.success)
			}
			if n := srv.count(); n != tt.requests {
				t.Errorf("server got %d requests, want %d", n, tt.requests)
			}
		})
	}
}

func TestConnectionRefusedIsRetried(t *testing.T) {
	t.Parallel()
	srv := newServer(t, script(reply{status: 200, body: okValid}))
	c, sl, _ := newClient(t, srv, func(o *miosa.Options) { o.MaxAttempts = 3 })
	srv.Close()
	err := validate(context.Background(), c)
	if err == nil {
		t.Fatal("no error")
	}
	// Nothing was sent, so even the unkeyed validate POST is retried.
	if n := len(sl.all()); n != 2 {
		t.Errorf("waited %d times, want 2", n)
	}
	var e *miosa.Error
	if !errors.As(err, &e) || e.Status != 0 || e.Attempts != 3 {
		t.Errorf("err = %#v, want a transport *Error after 3 attempts", err)
	}
}

func TestTLSFailureNotRetried(t *testing.T) {
	t.Parallel()
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		reply{status: 200, body: okTemplate}.write(w)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	sl := &sleeper{}
	c, err := miosa.New(miosa.Options{BaseURL: srv.URL + "/api/v1", APIKey: testKey, Sleep: sl.sleep})
	if err != nil {
		t.Fatal(err)
	}
	err = getTemplate(context.Background(), c)
	if err == nil || !strings.Contains(err.Error(), "x509") {
		t.Fatalf("err = %v, want a certificate error", err)
	}
	if n := len(sl.all()); n != 0 {
		t.Errorf("waited %d times, want 0", n)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("server saw %d connections, want 1", n)
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	t.Parallel()
	var other, withAuth atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		other.Add(1)
		if r.Header.Get("Authorization") != "" {
			withAuth.Add(1)
		}
		reply{status: 200, body: okTemplate}.write(w)
	}))
	t.Cleanup(elsewhere.Close)
	for _, status := range []int{301, 302, 307, 308} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
				http.Redirect(w, r, elsewhere.URL+r.URL.Path, status)
			})
			c, _, _ := newClient(t, srv, func(o *miosa.Options) {
				o.HTTPClient = &http.Client{} // its default CheckRedirect would follow
			})
			for _, call := range []func(context.Context, *miosa.Client) error{getTemplate, createBuild} {
				err := call(context.Background(), c)
				if !errors.Is(err, miosa.ErrRedirect) {
					t.Fatalf("err = %v, want ErrRedirect", err)
				}
				host := strings.TrimPrefix(elsewhere.URL, "http://")
				if !strings.Contains(err.Error(), host) {
					t.Errorf("error %q does not name the redirect's host %s", err, host)
				}
			}
			if n := srv.count(); n != 2 {
				t.Errorf("server got %d requests, want 2", n)
			}
		})
	}
	if n := other.Load(); n != 0 {
		t.Errorf("the other host got %d requests (%d with Authorization), want 0", n, withAuth.Load())
	}
}

// TestBodyLimit: a single object is read up to 1 MiB and no further (a
// list is a stream, bounded by row: see TestListBounds).
func TestBodyLimit(t *testing.T) {
	t.Parallel()
	object := func(size int) string {
		const head, tail = `{"id":"t","pad":"`, `"}`
		return head + strings.Repeat("x", size-len(head)-len(tail)) + tail
	}
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		size := miosa.MaxBodySize
		if strings.HasSuffix(r.URL.Path, "/big") {
			size++ // one byte too long
		}
		reply{status: 200, body: object(size)}.write(w)
	})
	c, _, _ := newClient(t, srv, nil)
	if _, err := c.GetTemplate(context.Background(), "exact"); err != nil {
		t.Errorf("body of exactly 1 MiB: %v", err)
	}
	_, err := c.GetTemplate(context.Background(), "big")
	if !errors.Is(err, miosa.ErrResponseTooLarge) {
		t.Errorf("body of 1 MiB + 1: err = %v, want ErrResponseTooLarge", err)
	}
	if n := srv.count(); n != 2 {
		t.Errorf("server got %d requests, want 2 (no retry of an oversized body)", n)
	}
}

func TestErrorBodyLimit(t *testing.T) {
	t.Parallel()
	srv := newServer(t, script(reply{status: 503, body: strings.Repeat("x", miosa.MaxBodySize+10)}))
	c, _, _ := newClient(t, srv, nil)
	err := getTemplate(context.Background(), c)
	if !errors.Is(err, miosa.ErrResponseTooLarge) {
		t.Errorf("err = %v, want ErrResponseTooLarge", err)
	}
	if n := srv.count(); n != 1 {
		t.Errorf("server got %d requests, want 1", n)
	}
}

func TestCancelledContext(t *testing.T) {
	t.Parallel()
	t.Run("before the call", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, script(reply{status: 200, body: okTemplate}))
		c, _, _ := newClient(t, srv, nil)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := getTemplate(ctx, c)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if n := srv.count(); n != 0 {
			t.Errorf("server got %d requests, want 0", n)
		}
	})
	t.Run("during the wait", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		srv := newServer(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
			reply{status: 503, header: map[string]string{"Retry-After": "30"}}.write(w)
			w.(http.Flusher).Flush()
			cancel()
		})
		// The real wait, which must end with the context.
		c, _, _ := newClient(t, srv, func(o *miosa.Options) { o.Sleep = nil })
		err := getTemplate(ctx, c)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if n := srv.count(); n != 1 {
			t.Errorf("server got %d requests, want 1", n)
		}
	})
	t.Run("during the request", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
			cancel()
			<-r.Context().Done()
		})
		c, sl, _ := newClient(t, srv, nil)
		err := getTemplate(ctx, c)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if n := len(sl.all()); n != 0 {
			t.Errorf("waited %d times after the cancel, want 0", n)
		}
	})
}

// TestRetryMessages renders the errors that end a retry loop into
// testdata/retry_errors.golden.
func TestRetryMessages(t *testing.T) {
	t.Parallel()
	rl := func(after string) reply {
		return reply{status: 429, header: map[string]string{"Retry-After": after, "X-Request-ID": "req-rl"},
			body: `{"error":{"code":"RATE_LIMITED","message":"too many requests"}}`}
	}
	tests := []struct {
		name    string
		replies []reply
		opts    func(*miosa.Options)
		call    func(context.Context, *miosa.Client) error
	}{
		{"attempts run out", []reply{s503}, nil, getTemplate},
		{"retry budget exhausted", []reply{s503}, func(o *miosa.Options) { o.RetryBudget = 1 }, createBuild},
		{"retry-after beyond the cap", []reply{rl("86400")}, nil, listTemplates},
		{"retry-after beyond a scaled-down cap", []reply{rl("3")}, func(o *miosa.Options) { o.MaxRetryAfter = 2 * time.Second }, validate},
		{"500 retried once", []reply{s500}, nil, getTemplate},
	}
	var out []string
	for _, tt := range tests {
		srv := newServer(t, script(tt.replies...))
		c, _, _ := newClient(t, srv, tt.opts)
		err := tt.call(context.Background(), c)
		if err == nil {
			t.Fatalf("%s: no error", tt.name)
		}
		out = append(out, fmt.Sprintf("%s\n\t%s", tt.name, err))
	}
	golden.Testdata.Check(t, "retry_errors.golden", strings.Join(out, "\n")+"\n")
}
