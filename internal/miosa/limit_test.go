package miosa_test

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
)

// TestRateLimitFlowControl syncs against an emulator that allows a fixed
// request rate and answers 429 with Retry-After beyond it. The client shares
// one adaptive limit among all its requests: no call fails, although the
// client may neither retry a request twice nor spend more than one retry of
// its budget, and the 429s stay few because every worker pauses on the first
// one and the rate settles under the server's limit.
func TestRateLimitFlowControl(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		rate         float64
		workers      int
		calls        int
		max429       int
		maxAttempts  int
		retryBudget  int
		wantFailures int
	}{
		{name: "8 workers", rate: 100, workers: 8, calls: 300, max429: 40, maxAttempts: 2, retryBudget: 1},
		{name: "32 workers", rate: 100, workers: 32, calls: 300, max429: 120, maxAttempts: 2, retryBudget: 1},
		{name: "1 worker", rate: 50, workers: 1, calls: 100, max429: 10, maxAttempts: 2, retryBudget: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			emu, c, _ := startEmulator(t, func(o *emulator.Options) { o.RateLimit = tt.rate }, func(o *miosa.Options) {
				o.Sleep = nil // real waits: the limit is measured with the clock
				o.MaxAttempts, o.RetryBudget = tt.maxAttempts, tt.retryBudget
			})
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			var (
				next     atomic.Int64
				failures atomic.Int64
				wg       sync.WaitGroup
			)
			for range tt.workers {
				wg.Go(func() {
					for next.Add(1) <= int64(tt.calls) {
						if _, err := c.ListTemplates(ctx, false); err != nil {
							failures.Add(1)
							t.Errorf("list: %v", err)
						}
					}
				})
			}
			wg.Wait()
			cn := emu.Counters()
			if n := failures.Load(); n != 0 {
				t.Errorf("%d of %d calls failed, want 0", n, tt.calls)
			}
			if got, want := cn.Requests["list"], tt.calls+cn.RateLimited; got != want {
				t.Errorf("list requests %d, want %d (calls + one retry per 429)", got, want)
			}
			if cn.RateLimited > tt.max429 {
				t.Errorf("%d answers were 429, want at most %d", cn.RateLimited, tt.max429)
			}
			t.Logf("%d calls, %d answered 429", tt.calls, cn.RateLimited)
		})
	}
}

// TestRateLimitedRetriesSpendNoBudget: retries after a 429 spend neither the
// request's attempts nor the client's retry budget; the context's deadline
// bounds them, or MaxRateLimitedRetries in a row when it has none.
func TestRateLimitedRetriesSpendNoBudget(t *testing.T) {
	t.Parallel()
	r429 := reply{status: http.StatusTooManyRequests, header: map[string]string{"Retry-After": "1"},
		body: `{"error":{"code":"RATE_LIMITED","message":"too many requests"}}`}
	replies := []reply{r429, r429, r429, r429, r429, r429, {status: 200, body: okTemplate}}
	tests := []struct {
		name     string
		deadline bool
		ok       bool
		requests int
	}{
		{name: "with a deadline", deadline: true, ok: true, requests: 7},
		{name: "without a deadline", deadline: false, ok: true, requests: 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, script(replies...))
			c, _, _ := newClient(t, srv, func(o *miosa.Options) { o.MaxAttempts, o.RetryBudget = 2, 1 })
			ctx := context.Background()
			if tt.deadline {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, time.Hour)
				defer cancel()
			}
			_, err := c.GetTemplate(ctx, "web")
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want success %t", err, tt.ok)
			}
			if err != nil && !miosa.IsRateLimited(err) {
				t.Errorf("IsRateLimited(%v) = false", err)
			}
			if n := srv.count(); n != tt.requests {
				t.Errorf("server got %d requests, want %d", n, tt.requests)
			}
		})
	}
	t.Run("without a deadline, 429s in a row are bounded", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, script(r429))
		c, _, _ := newClient(t, srv, func(o *miosa.Options) { o.MaxAttempts, o.RetryBudget = 2, 1 })
		_, err := c.GetTemplate(context.Background(), "web")
		if err == nil || !miosa.IsRateLimited(err) {
			t.Fatalf("err = %v, want rate limited", err)
		}
		if n, want := srv.count(), 1+miosa.MaxRateLimitedRetries; n != want {
			t.Errorf("server got %d requests, want %d", n, want)
		}
	})
	t.Run("budget left for other failures", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, script(r429, r429, r429, s503, reply{status: 200, body: okTemplate}))
		c, _, _ := newClient(t, srv, func(o *miosa.Options) { o.MaxAttempts, o.RetryBudget = 2, 1 })
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		if _, err := c.GetTemplate(ctx, "web"); err != nil {
			t.Fatalf("err = %v: three 429s and one 503 need one retry of the budget", err)
		}
		if n := srv.count(); n != 5 {
			t.Errorf("server got %d requests, want 5", n)
		}
	})
}

// TestRateLimitPausesEveryRequest: a 429 to one request holds back the next
// request of the client too, not only the retry of the one that got it.
func TestRateLimitPausesEveryRequest(t *testing.T) {
	t.Parallel()
	r429 := reply{status: http.StatusTooManyRequests, header: map[string]string{"Retry-After": "30"}}
	srv := newServer(t, script(r429, reply{status: 200, body: okTemplate}))
	c, sl, _ := newClient(t, srv, nil)
	ctx := context.Background()
	if _, err := c.GetTemplate(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if n := len(sl.all()); n != 1 {
		t.Fatalf("first call waited %d times, want 1 (its Retry-After)", n)
	}
	if _, err := c.GetTemplate(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if n := len(sl.all()); n != 2 {
		t.Errorf("after the second call the client waited %d times, want 2: the second call must wait out the pause", n)
	}
	if n := srv.count(); n != 3 {
		t.Errorf("server got %d requests, want 3", n)
	}
}
