package github

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	gh "github.com/google/go-github/v75/github"
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
		if err := sleep(ctx, d); err != nil {
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
		case isTLSError(e.Err) || !isNetError(e.Err):
			return 0, false
		case isDialError(e.Err):
			return wait, true
		}
		return wait, !cl.write
	case e.Status == http.StatusInternalServerError, e.Status == http.StatusBadGateway,
		e.Status == http.StatusServiceUnavailable, e.Status == http.StatusGatewayTimeout, e.Status == http.StatusAccepted:
		return wait, !cl.write
	}
	return 0, false
}

// sleep waits d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// isNetError reports a failure of the connection: no answer, or an answer
// cut short.
func isNetError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// isDialError reports a failure to open the connection, before any byte of
// the request was sent.
func isDialError(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

// isTLSError reports a certificate or handshake failure, which a retry
// cannot mend.
func isTLSError(err error) bool {
	var (
		verr *tls.CertificateVerificationError
		rerr tls.RecordHeaderError
		uerr x509.UnknownAuthorityError
		herr x509.HostnameError
		cerr x509.CertificateInvalidError
	)
	return errors.As(err, &verr) || errors.As(err, &rerr) || errors.As(err, &uerr) ||
		errors.As(err, &herr) || errors.As(err, &cerr)
}
