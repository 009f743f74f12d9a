package miosa

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// call is one logical API request, sent once and retried under the policy.
type call struct {
	method string
	path   string // escaped, relative to the base URL, query included
	body   []byte // nil when the request has no body
	key    string // Idempotency-Key, "" for none
	// readOnly marks a POST that changes nothing on the server (validate),
	// so resending it is as harmless as resending a GET.
	readOnly bool
	// accept reports whether a response other than 2xx is an answer rather
	// than an error (validate's 422); nil accepts 2xx only.
	accept func(res *response) bool
	// stream, when set, reads a 2xx answer's body as it arrives instead of
	// as a whole (a list page); what it returns is the response's
	// streamErr, unless the connection failed while it read.
	stream func(body *bodyReader) error
}

// replayable reports whether sending the call twice is harmless: a GET, a
// POST that carries an Idempotency-Key, or a POST that changes nothing.
func (cl *call) replayable() bool {
	return cl.method == http.MethodGet || cl.key != "" || cl.readOnly
}

func (cl *call) accepts(res *response) bool {
	if res.status >= 200 && res.status <= 299 {
		return true
	}
	return cl.accept != nil && cl.accept(res)
}

// response is a fully read HTTP response.
type response struct {
	status    int
	header    http.Header
	body      []byte
	requestID string // cleaned X-Request-ID
	replayed  bool   // Idempotent-Replayed or Idempotency-Replayed: true
	// streamErr is what call.stream returned (errStop when it stopped on
	// purpose); body then holds only the first bytes, for messages.
	streamErr error
}

// maxRequestID bounds, in runes, a request id put in an error.
const maxRequestID = 128

// do sends cl, retrying under the policy, and returns the accepted response
// or an *Error.
func (c *Client) do(ctx context.Context, cl call) (*response, error) {
	if err := ctx.Err(); err != nil {
		return nil, &Error{Method: cl.method, Path: cl.path, Err: err}
	}
	req, err := c.newRequest(ctx, cl)
	if err != nil {
		return nil, &Error{Method: cl.method, Path: cl.path, Err: err}
	}
	c.earnBudget()
	var (
		p         policy
		counted   int       // attempts that count toward MaxAttempts: every one but those answered 429
		throttled int       // attempts answered 429 in a row
		ready     time.Time // end of this call's own wait, already slept
	)
	for attempt := 1; ; attempt++ {
		sent, err := c.limit.wait(ctx, c.sleep, ready)
		if err != nil {
			return nil, &Error{Method: cl.method, Path: cl.path, Attempts: attempt - 1, Err: err}
		}
		if note := c.limit.takeNote(); note != "" {
			c.log("miosa: %s", note)
		}
		res, err := c.send(req, cl.stream)
		if res != nil {
			c.limit.announce(sent, time.Now(), res.header)
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, &Error{Method: cl.method, Path: cl.path, Attempts: attempt, Err: ctxErr}
		}
		limited := err == nil && res.status == http.StatusTooManyRequests
		if res != nil && !limited {
			c.limit.accept(sent)
		}
		if err == nil && cl.accepts(res) {
			return res, nil
		}
		e, retry := c.failure(&cl, &p, res, err)
		e.Attempts = attempt
		if !retry {
			return nil, e
		}
		if limited {
			throttled++
		} else {
			counted++
			throttled = 0
		}
		wait, ok := c.retryWait(ctx, e, counted, throttled)
		if !ok {
			return nil, e
		}
		if limited {
			now := time.Now()
			ready = c.limit.throttle(now, sent, wait, e.RetryAfter)
			wait = ready.Sub(now)
			then := "then slowed to under the rate the server accepted"
			if c.limit.paced() {
				then = "then paced to the budget the server announces"
			}
			c.log("miosa: %v; all requests paused for %s, %s", e, wait.Round(time.Millisecond), then)
		} else {
			c.log("miosa: %v; retry %d of %d in %s", e, counted, c.maxAttempts-1, wait.Round(time.Millisecond))
			ready = time.Now().Add(wait)
		}
		if err := c.sleep(ctx, wait); err != nil {
			return nil, &Error{Method: cl.method, Path: cl.path, Attempts: attempt, Err: err}
		}
	}
}

// newRequest builds the request once; every attempt clones it, so headers,
// the Idempotency-Key included, are set once and identical on every retry.
func (c *Client) newRequest(ctx context.Context, cl call) (*http.Request, error) {
	var body io.Reader
	if cl.body != nil {
		body = bytes.NewReader(cl.body)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, c.base+cl.path, body)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+string(c.key))
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if cl.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if cl.key != "" {
		req.Header.Set("Idempotency-Key", cl.key)
	}
	return req, nil
}

// send makes one attempt: a fresh body from GetBody, at most MaxBodySize+1
// bytes read, or a 2xx body handed to stream when it is set. A response
// whose body could not be read comes back with the error, so its status is
// still known.
func (c *Client) send(req *http.Request, stream func(*bodyReader) error) (*response, error) {
	r := req.Clone(req.Context())
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return nil, fmt.Errorf("rewind request body: %w", err)
		}
		r.Body = body
	}
	resp, err := c.http.Do(r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	res := &response{
		status:    resp.StatusCode,
		header:    resp.Header,
		requestID: c.key.redact(oneLine(resp.Header.Get("X-Request-ID"), maxRequestID)),
		replayed:  headerTrue(resp.Header, "Idempotent-Replayed") || headerTrue(resp.Header, "Idempotency-Replayed"),
	}
	if stream != nil && res.status >= 200 && res.status <= 299 {
		br := &bodyReader{r: resp.Body}
		res.streamErr = stream(br)
		res.body = br.head
		if br.err != nil {
			return res, fmt.Errorf("read response body: %w", br.err)
		}
		if res.streamErr == nil || errors.Is(res.streamErr, errStop) {
			// What is left of a page read far enough is read and dropped, up
			// to a bound, so that the connection can serve the next request.
			_, _ = io.CopyN(io.Discard, resp.Body, MaxBodySize)
		}
		return res, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBodySize+1))
	if err != nil {
		return res, fmt.Errorf("read response body: %w", err)
	}
	if len(body) > MaxBodySize {
		return res, ErrResponseTooLarge
	}
	res.body = body
	return res, nil
}

// bodyReader reads a streamed body: it keeps the first bytes, for
// messages about a body that is not what was expected, and tells a failed
// connection (err) from a body that could not be decoded.
type bodyReader struct {
	r    io.Reader
	head []byte
	err  error // the connection's error, other than the end of the body
}

// headSize is how much of a streamed body bodyReader keeps.
const headSize = 1024

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if k := min(n, headSize-len(b.head)); k > 0 {
		b.head = append(b.head, p[:k]...)
	}
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

func headerTrue(h http.Header, name string) bool {
	b, err := strconv.ParseBool(strings.TrimSpace(h.Get(name)))
	return err == nil && b
}

// failure turns a failed attempt into an *Error and says whether the retry
// policy allows another attempt (before attempts, budget and waits count).
func (c *Client) failure(cl *call, p *policy, res *response, err error) (*Error, bool) {
	e := &Error{Method: cl.method, Path: cl.path}
	if res != nil {
		e.Status = res.status
		e.RequestID = res.requestID
	}
	switch {
	case errors.Is(err, ErrResponseTooLarge):
		e.Err = err
		return e, false
	case err != nil:
		e.Status = 0 // a body cut off mid-way is a connection failure, whatever the status said
		e.Err = &cleanError{msg: c.key.clean(err.Error()), err: err}
		e.hint = transportHint(c.base, err)
		return e, p.retryConnError(cl, err)
	case res.status >= 300 && res.status <= 399:
		host := "(no Location)"
		if u, perr := url.Parse(res.header.Get("Location")); perr == nil && u.Host != "" {
			host = u.Host
		}
		e.Err = ErrRedirect
		e.Message = c.key.clean("server redirected to " + host + "; redirects are not followed, check the api url")
		return e, false
	}
	eb := parseErrorBody(res.body)
	e.Code = c.key.clean(eb.code)
	e.Message = c.key.clean(eb.message)
	if e.RequestID == "" {
		e.RequestID = c.key.redact(oneLine(eb.requestID, maxRequestID))
	}
	e.Fields = c.cleanFields(eb.fields)
	e.RetryAfter = retryAfter(res.header.Get("Retry-After"), eb.retryAfter)
	if res.status == http.StatusNotFound && !eb.fromAPI() {
		e.URL = c.url(cl.path)
		e.headline = e.URL + " answered 404 without the API's JSON error"
		if eb.notJSON || !c.v1Path {
			e.hint = apiURLHint
		}
	}
	return e, p.retryStatus(cl, res.status, eb.retryable)
}

// url is the URL of path, without its query.
func (c *Client) url(path string) string {
	path, _, _ = strings.Cut(path, "?")
	return c.base + path
}

// maxFields bounds the field problems kept from one response.
const maxFields = 100

// cleanFields returns the first maxFields field problems, cleaned.
func (c *Client) cleanFields(fs []FieldError) []FieldError {
	var out []FieldError
	for _, f := range fs[:min(len(fs), maxFields)] {
		out = append(out, FieldError{Code: c.key.clean(f.Code), Field: c.key.clean(f.Field), Message: c.key.clean(f.Message)})
	}
	return out
}
