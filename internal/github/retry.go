package github

import (
	"context"
	"fmt"
	"net/http"
	"time"

	gh "github.com/google/go-github/v75/github"

	"github.com/miosa-dev/sandbox-templates-action/internal/netfail"
)

const (
	maxAttempts   = 3                // tries of one request
	maxBackoff    = 10 * time.Second // the longest wait between tries GitHub did not ask for
	maxRetryAfter = 60 * time.Second // the longest wait GitHub may ask for and get
)

// call describes one API operation to do.
type call struct {
	op    string // named in errors: "list comments"
	what  string // what a success holds, named when it is unreadable: "a list of comments"
	write bool   // a POST: repeated only when GitHub says it did nothing
}

// do runs send, go-github's call, until it succeeds, fails for good or has
// been tried maxAttempts times, and returns nil or an *Error. Retried:
//
//   - a rate limit (429, or a 403 of the primary or a secondary limit), for
//     every request, a POST too, as GitHub did nothing; after the
//     Retry-After or the reset when the answer gives one (up to
//     maxRetryAfter, else never), the backoff otherwise;
//   - 500, 502, 503, 504 and a lost connection, for requests that may be
//     repeated (not a POST, whose outcome is unknown: its caller decides);
//   - a connection that could not be opened, for every request.
//
// The backoff starts at Config.RetryWait and doubles, up to maxBackoff.
// Never retried: 401, 403 refusals, 404, 422, other statuses, unreadable
// answers, TLS failures and an ended context, whose error is returned.
func (c *Client) do(ctx context.Context, cl call, send func() (*gh.Response, error)) error {
	wait := min(c.wait, maxBackoff)
	for attempt := 1; ; attempt++ {
		resp, err := send()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", cl.op, ctx.Err())
		}
		e := c.failure(cl, resp, err)
		e.Attempts = attempt
		d, again := retryWait(cl, e, wait)
		if !again || attempt == maxAttempts {
			return e
		}
		if err := netfail.Sleep(ctx, d); err != nil {
			return fmt.Errorf("%w; stopped waiting to retry: %w", e, err)
		}
		wait = min(2*wait, maxBackoff)
	}
}

// retryWait says whether to try e's request again, and after how long;
// wait is the backoff.
func retryWait(cl call, e *Error, wait time.Duration) (time.Duration, bool) {
	switch {
	case e.rateLimited:
		d := e.RetryAfter
		if d == 0 {
			d = wait
		}
		return d, d <= maxRetryAfter
	case e.Status == 0 && e.Err != nil:
		switch {
		case netfail.IsTLS(e.Err) || !netfail.IsNet(e.Err):
			return 0, false
		case netfail.IsDial(e.Err):
			return wait, true
		}
		return wait, !cl.write
	case e.Status == http.StatusInternalServerError, e.Status == http.StatusBadGateway,
		e.Status == http.StatusServiceUnavailable, e.Status == http.StatusGatewayTimeout, e.Status == http.StatusAccepted:
		return wait, !cl.write
	}
	return 0, false
}
