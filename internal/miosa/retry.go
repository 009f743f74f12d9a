package miosa

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/netfail"
)

// policy applies the API page's retry policy to the attempts of one call:
//
//   - 408, 502, 503, 504 and connection errors are retried for GETs, for
//     POSTs with an Idempotency-Key and for the validate POST, which changes
//     nothing (call.replayable);
//   - 500 is retried at most once, and only for a GET or for such a POST
//     whose body says error.retryable: true;
//   - 429 is retried for every request, a POST or DELETE without a key
//     included: a rate-limited request was refused before it was processed;
//   - a connection that could not be opened is retried for every request, as
//     nothing was sent;
//   - an explicit error.retryable: false is never retried;
//   - 400, 401, 402, 403, 404, 409, 422, every other status, TLS failures,
//     oversized bodies, redirects and an ended context are never retried.
type policy struct {
	retried500 bool
}

// retryConnError decides for an attempt that got no complete response.
func (p *policy) retryConnError(cl *call, err error) bool {
	switch {
	case netfail.IsTLS(err):
		return false
	case netfail.IsDial(err):
		return true
	}
	return cl.replayable()
}

// retryStatus decides for an error status; retryable is error.retryable.
func (p *policy) retryStatus(cl *call, status int, retryable *bool) bool {
	if retryable != nil && !*retryable {
		return false
	}
	switch status {
	case http.StatusRequestTimeout, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return cl.replayable()
	case http.StatusTooManyRequests:
		return true
	case http.StatusInternalServerError:
		if p.retried500 || !cl.replayable() {
			return false
		}
		if cl.method == http.MethodGet || (retryable != nil && *retryable) {
			p.retried500 = true
			return true
		}
	}
	return false
}

// retryWait returns how long to wait before the next attempt, or false when
// there is to be none; it then records why on e. counted is the number of
// attempts that count toward MaxAttempts (all but the ones answered 429) and
// throttled the number of 429 answers in a row (non-zero when the last
// answer was a 429).
//
// A 429 is flow control, not a failure: its retries spend neither the
// attempts of the request nor the client's retry budget, and are bounded by
// the context's deadline instead (by MaxRateLimitedRetries in a row when
// there is none). Its wait is the Retry-After, or the backoff when the
// server gives none.
func (c *Client) retryWait(ctx context.Context, e *Error, counted, throttled int) (time.Duration, bool) {
	deadline, hasDeadline := ctx.Deadline()
	if e.RetryAfter > 0 {
		what := strings.ToLower(http.StatusText(e.Status))
		if e.Status == http.StatusTooManyRequests {
			what = "rate limited"
		}
		if e.RetryAfter > c.maxRA {
			e.headline = fmt.Sprintf("%s: server asked to retry after %s, beyond the %s cap", what, e.RetryAfter, c.maxRA)
			return 0, false
		}
		if left := time.Until(deadline); hasDeadline && left < e.RetryAfter {
			e.headline = fmt.Sprintf("%s: server asked to retry after %s, past the deadline (%s left)", what, e.RetryAfter, left.Round(time.Second))
			return 0, false
		}
	}
	flow := throttled > 0
	switch {
	case c.maxAttempts == 1, !flow && counted >= c.maxAttempts, flow && !hasDeadline && throttled > MaxRateLimitedRetries:
		return 0, false
	}
	wait := e.RetryAfter
	if wait <= 0 {
		wait = c.backoff(max(counted, throttled))
	}
	if hasDeadline && time.Until(deadline) <= wait {
		e.notes = append(e.notes, "no time left to retry before the deadline")
		return 0, false
	}
	if !flow && !c.takeBudget() {
		e.notes = append(e.notes, "retry budget exhausted")
		return 0, false
	}
	return wait, true
}

// backoff is the full-jitter exponential wait before retry n (n >= 1): a
// random duration in [0, min(MaxBackoff, BaseBackoff*2^(n-1))).
func (c *Client) backoff(n int) time.Duration {
	ceiling := c.baseBackoff
	for i := 1; i < n && ceiling < c.maxBackoff; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, c.maxBackoff)
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling)
}

// retryUnit is one retry of the budget, which counts in thousandths so
// that a request can add a fraction of a retry.
const retryUnit = 1000

// earnBudget adds a started request's share to the client's retry budget.
func (c *Client) earnBudget() {
	if c.perRequest > 0 {
		c.budget.Add(c.perRequest)
	}
}

// takeBudget spends one retry of the client's budget.
func (c *Client) takeBudget() bool {
	for {
		n := c.budget.Load()
		if n < retryUnit {
			return false
		}
		if c.budget.CompareAndSwap(n, n-retryUnit) {
			return true
		}
	}
}

// maxRetryAfterSeconds keeps a parsed Retry-After inside time.Duration.
const maxRetryAfterSeconds = float64(math.MaxInt64/int64(time.Second)) - 1

// retryAfter reads the Retry-After header (seconds or an HTTP date) or, when
// it is absent or unreadable, the body's retry_after (seconds or a date).
// The result is 0 when neither says anything usable.
func retryAfter(header, body string) time.Duration {
	for _, s := range []string{header, body} {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if secs, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(secs) {
			secs = min(max(secs, 0), maxRetryAfterSeconds)
			return time.Duration(secs * float64(time.Second))
		}
		if t, err := http.ParseTime(s); err == nil {
			return max(time.Until(t), 0)
		}
	}
	return 0
}
