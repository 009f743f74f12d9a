package miosa_test

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
)

// TestAnnouncedBudget: from the first answer with rate-limit headers the
// client paces to them, in each form a server may send: with none left it
// sends nothing before the reset; below half the limit it spreads what is
// left until the reset; above half it does not wait. It says so once in the
// log.
func TestAnnouncedBudget(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header map[string]string
		wait   time.Duration // of the second request
	}{
		{"X-RateLimit, none left", map[string]string{"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "30"}, 30 * time.Second},
		{"RateLimit fields, none left", map[string]string{"RateLimit-Limit": "60", "RateLimit-Remaining": "0", "RateLimit-Reset": "12"}, 12 * time.Second},
		{"RateLimit dictionary, none left", map[string]string{"RateLimit": "limit=60, remaining=0, reset=20"}, 20 * time.Second},
		{"RateLimit policies, none left", map[string]string{"RateLimit": `"default";r=0;t=25`, "RateLimit-Policy": `"default";q=60;w=60`}, 25 * time.Second},
		{"below half: spread until the reset", map[string]string{"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "4", "X-RateLimit-Reset": "8"}, (8*time.Second - 500*time.Millisecond) / 4},
		{"above half: no wait", map[string]string{"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "8", "X-RateLimit-Reset": "8"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, script(reply{status: 200, header: tt.header, body: okTemplate}))
			c, sl, logs := newClient(t, srv, nil)
			ctx := context.Background()
			if _, err := c.GetTemplate(ctx, "a"); err != nil {
				t.Fatal(err)
			}
			if n := len(sl.all()); n != 0 {
				t.Fatalf("first request waited %v, want no wait", sl.all())
			}
			if _, err := c.GetTemplate(ctx, "b"); err != nil {
				t.Fatal(err)
			}
			waits := sl.all()
			switch {
			case tt.wait == 0 && len(waits) != 0:
				t.Errorf("second request waited %v, want no wait", waits)
			case tt.wait > 0 && (len(waits) != 1 || waits[0] < tt.wait-100*time.Millisecond || waits[0] > tt.wait):
				t.Errorf("second request waited %v, want one wait of %s", waits, tt.wait)
			}
			if n := srv.count(); n != 2 {
				t.Errorf("server got %d requests, want 2", n)
			}
			var noted []string
			for _, l := range logs.all() {
				if strings.Contains(l, "the server announces") {
					noted = append(noted, l)
				}
			}
			want := "spreading requests until then"
			if strings.Contains(tt.name, "none left") {
				want = "waiting for it"
			}
			if tt.wait > 0 && (len(noted) != 1 || !strings.Contains(noted[0], want)) {
				t.Errorf("log %q, want one line saying %q", logs.all(), want)
			}
		})
	}
}

// TestAnnouncedBudgetPastDeadline: when none is left until a reset past the
// context's deadline, the request fails at once, unsent, saying why.
func TestAnnouncedBudgetPastDeadline(t *testing.T) {
	t.Parallel()
	srv := newServer(t, script(reply{status: 200, header: map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "3600"}, body: okTemplate}))
	c, sl, _ := newClient(t, srv, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := c.GetTemplate(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	_, err := c.GetTemplate(ctx, "b")
	if err == nil || !strings.Contains(err.Error(), "past the deadline") {
		t.Fatalf("err = %v, want one that says the wait is past the deadline", err)
	}
	if n := srv.count(); n != 1 || len(sl.all()) != 0 {
		t.Errorf("server got %d requests and the client waited %v; want 1 and no wait", n, sl.all())
	}
}

// inProcess is an HTTP client that serves each request with h in the
// calling goroutine, so that a synctest bubble holds the whole exchange.
func inProcess(h http.Handler) *http.Client {
	return &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		if r.Body == nil {
			r.Body = http.NoBody
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Result(), nil
	})}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// economy is what one sync cost under a rate limit.
type economy struct {
	requests, limited int
	wall              time.Duration
}

// syncLike makes the requests of a sync of n new templates with --wait the
// way the action makes them (see docs/performance.md): two reads, then n
// validations, n creates and n build reads by 8 workers, then one list per
// second until builds of buildTime are over, then one read per build by 8
// workers. Every request is a list: the limit counts requests, not kinds.
func syncLike(t *testing.T, c *miosa.Client, n int, buildTime time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 24*time.Hour)
	defer cancel()
	list := func() {
		if _, err := c.ListTemplates(ctx, false); err != nil {
			t.Errorf("list: %v", err)
		}
	}
	workers := func(calls int) {
		var next atomic.Int64
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for next.Add(1) <= int64(calls) {
					list()
				}
			})
		}
		wg.Wait()
	}
	list()
	list()
	workers(n)
	built := time.Now().Add(buildTime)
	workers(2 * n)
	for time.Now().Before(built) {
		time.Sleep(time.Second)
		list()
	}
	workers(n)
}

// TestRequestEconomy runs syncs against the emulator's limits per minute in
// a synctest bubble (virtual time, so minutes take milliseconds) and checks
// the targets of the benchmark's request-economy rows: at most 8 (the
// concurrency) + 5% of the requests answered 429, and a wall time within
// 1.3x the floor, the accepted requests divided by the rate. The limits
// hold a burst as large as a minute's requests, or a small one (down to a
// single request), and answer 429 with a Retry-After or without one. With
// the limit announced in headers no request may be answered 429 at all.
func TestRequestEconomy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		perMinute    float64
		burst        int // 0: a minute's requests
		n            int
		noRetryAfter bool
	}{
		{12, 0, 10, false}, {20, 0, 10, false}, {30, 0, 10, false}, {60, 0, 30, false}, {120, 0, 100, false},
		{120, 10, 10, false}, {120, 2, 10, false}, {120, 1, 10, false}, {60, 2, 30, false}, {30, 10, 30, false},
		{120, 10, 100, false}, {60, 1, 100, false},
		{120, 10, 10, true}, {60, 0, 30, true}, {30, 2, 30, true}, {120, 1, 10, true}, {120, 0, 100, true},
	}
	for _, tt := range tests {
		for _, headers := range []bool{false, true} {
			if headers && (tt.burst != 0 || tt.noRetryAfter) {
				continue
			}
			burst := cmp.Or(tt.burst, int(tt.perMinute))
			name := fmt.Sprintf("%g per minute, burst %d, %d templates", tt.perMinute, burst, tt.n)
			switch {
			case headers:
				name += ", announced"
			case tt.noRetryAfter:
				name += ", no Retry-After"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				var got economy
				synctest.Test(t, func(t *testing.T) {
					opts := emulator.NewOptions()
					opts.RateLimit, opts.RateBurst, opts.RateLimitHeaders = tt.perMinute/60, burst, headers
					opts.RateLimitNoRetryAfter = tt.noRetryAfter
					opts.Faults.Latency = 50 * time.Millisecond
					opts.RequestLogSize = 1
					emu := emulator.New(opts)
					c, err := miosa.New(miosa.Options{BaseURL: "http://emulator.test/api/v1", APIKey: testKey, HTTPClient: inProcess(emu), AllowInsecureHTTP: true})
					if err != nil {
						t.Fatal(err)
					}
					start := time.Now()
					syncLike(t, c, tt.n, 4*time.Second)
					cn := emu.Counters()
					got = economy{requests: cn.Requests["list"], limited: cn.RateLimited, wall: time.Since(start)}
				})
				accepted := got.requests - got.limited
				floor := time.Duration(float64(accepted) / (tt.perMinute / 60) * float64(time.Second))
				max429 := 8 + 0.05*float64(got.requests)
				if headers {
					max429 = 0
				}
				if float64(got.limited) > max429 {
					t.Errorf("%d of %d requests answered 429, want at most %.1f", got.limited, got.requests, max429)
				}
				if ratio := got.wall.Seconds() / floor.Seconds(); ratio > 1.3 {
					t.Errorf("wall %s = %.2fx the floor %s (%d accepted at %g/min), want at most 1.3x", got.wall.Round(time.Second), ratio, floor.Round(time.Second), accepted, tt.perMinute)
				}
				t.Logf("%s: %d requests, %d answered 429, wall %s (floor %s)", name, got.requests, got.limited, got.wall.Round(time.Second), floor.Round(time.Second))
			})
		}
	}
}
