package miosa

import (
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

// Bounds of BuildLogTail.
const (
	// DefaultLogTail is how many bytes of the end of a build log
	// BuildLogTail returns when asked for zero or fewer.
	DefaultLogTail = 64 << 10
	// MaxLogRead bounds what BuildLogTail reads of one answer. A server
	// that ignores the Range request sends the whole log; it is read
	// through, keeping only its end, up to this many bytes.
	MaxLogRead = 4 << 20
)

// ErrLogTooLarge: the server ignored the Range request and sent a log
// longer than MaxLogRead, whose end was therefore not read.
var ErrLogTooLarge = errors.New("build log larger than 4 MiB sent whole: the server ignored the Range request")

// LogTail is the end of a build log.
type LogTail struct {
	// Text is the end of the log as the server sent it (not decoded or
	// parsed), with the key and any 8-character run of it redacted.
	Text []byte
	// Partial reports that Text starts inside a line: the log is longer
	// than Text and the byte before Text is not a newline.
	Partial bool
}

// BuildLogTail fetches the last limit bytes (DefaultLogTail when limit is
// zero or less, at most MaxBodySize) of the build log at logURL, a build's
// log_url, with one GET carrying `Range: bytes=-N` (N is limit+1: the extra
// byte tells whether the tail starts a line, and is not returned).
//
// It accepts 206, and 200 from a server that ignores Range (the body is
// read through and its end kept, at most MaxLogRead bytes, else
// ErrLogTooLarge); 416 means an empty log. The API key is sent only when
// logURL has the scheme, host and port of the base URL, the API's own host;
// the request then also waits for the client's rate limit. A relative
// logURL is resolved against the base URL. Redirects are not followed: one
// is an *Error with ErrRedirect. The request is sent once, never retried.
//
// Errors are *Error values whose Path is logURL without its query,
// fragment and user information.
func (c *Client) BuildLogTail(ctx context.Context, logURL string, limit int) (*LogTail, error) {
	if limit <= 0 {
		limit = DefaultLogTail
	}
	limit = min(limit, MaxBodySize)
	u, err := c.logURL(logURL)
	if err != nil {
		return nil, &Error{Method: http.MethodGet, Path: "log_url", Err: err}
	}
	e := &Error{Method: http.MethodGet, Path: c.displayURL(u), Attempts: 1}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		e.Err = fmt.Errorf("build request: %w", err)
		return nil, e
	}
	req.Header.Set("Range", "bytes=-"+strconv.Itoa(limit+1))
	req.Header.Set("Accept", "text/plain, */*")
	req.Header.Set("User-Agent", c.userAgent)
	own := c.ownHost(u)
	var sent time.Time
	if own {
		req.Header.Set("Authorization", "Bearer "+string(c.key))
		if sent, err = c.limit.wait(ctx, c.sleep, time.Time{}); err != nil {
			e.Err = err
			return nil, e
		}
	}
	resp, err := c.http.Do(req)
	if ctxErr := ctx.Err(); ctxErr != nil {
		if err == nil {
			resp.Body.Close()
		}
		e.Err = ctxErr
		return nil, e
	}
	if err != nil {
		cause := err
		var ue *url.Error
		if errors.As(err, &ue) {
			cause = ue.Err // its text holds the URL, query included
		}
		e.Err = &cleanError{msg: c.key.clean(cause.Error()), err: err}
		return nil, e
	}
	defer resp.Body.Close()
	if own && resp.StatusCode != http.StatusTooManyRequests {
		c.limit.accept(sent)
	}
	e.Status = resp.StatusCode
	e.RequestID = c.key.redact(oneLine(resp.Header.Get("X-Request-ID"), maxRequestID))
	switch {
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		// A suffix range is unsatisfiable only when the log is empty.
		return &LogTail{}, nil
	case resp.StatusCode >= 300 && resp.StatusCode <= 399:
		host := "(no Location)"
		if l, perr := url.Parse(resp.Header.Get("Location")); perr == nil && l.Host != "" {
			host = l.Host
		}
		e.Err = ErrRedirect
		e.Message = c.key.clean("server redirected to " + host + "; redirects are not followed")
		return nil, e
	case resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusPartialContent:
		body, _ := io.ReadAll(io.LimitReader(resp.Body, MaxBodySize))
		eb := parseErrorBody(body)
		e.Code, e.Message = c.key.clean(eb.code), c.key.clean(eb.message)
		return nil, e
	case resp.ContentLength > MaxLogRead:
		e.Err = ErrLogTooLarge
		return nil, e
	}
	end, read, err := lastBytes(resp.Body, limit+1, MaxLogRead)
	switch {
	case err != nil:
		e.Err = &cleanError{msg: c.key.clean("read build log: " + err.Error()), err: err}
		return nil, e
	case read > MaxLogRead:
		e.Err = ErrLogTooLarge
		return nil, e
	}
	t := &LogTail{}
	switch {
	case len(end) > limit:
		t.Partial = end[0] != '\n'
		end = end[1:]
	case resp.StatusCode == http.StatusPartialContent:
		// Fewer bytes than asked for are the whole log, unless the server
		// says the range it sent starts later.
		t.Partial = rangeStart(resp.Header.Get("Content-Range")) > 0
	}
	t.Text = []byte(c.key.redact(string(end)))
	return t, nil
}

// logURL parses a build's log_url, resolving a relative one against the
// base URL.
func (c *Client) logURL(s string) (*url.URL, error) {
	base, err := url.Parse(c.base)
	if err != nil {
		return nil, fmt.Errorf("base url: %w", err)
	}
	s = strings.TrimSpace(s)
	u, err := url.Parse(s)
	if err != nil || s == "" {
		return nil, errors.New("log url is not a URL")
	}
	u = base.ResolveReference(u)
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("log url has scheme %q; want http or https", c.key.clean(u.Scheme))
	}
	return u, nil
}

// ownHost reports whether u has the scheme, host and port of the base URL,
// default ports included: only there may the key go.
func (c *Client) ownHost(u *url.URL) bool {
	base, err := url.Parse(c.base)
	return err == nil && origin(base) == origin(u)
}

// origin is a URL's scheme, host and port, lowercased, the default port
// written out.
func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[scheme]
	}
	return scheme + "://" + strings.ToLower(u.Hostname()) + ":" + port
}

// displayURL is u for an error message: without user information, query
// or fragment, which may hold credentials, and with the key redacted.
func (c *Client) displayURL(u *url.URL) string {
	d := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return c.key.clean(d.String())
}

// lastBytes reads r to its end, but no more than limit+1 bytes, and returns
// its last keep bytes and how many bytes it read.
func lastBytes(r io.Reader, keep int, limit int64) ([]byte, int64, error) {
	r = io.LimitReader(r, limit+1)
	buf := make([]byte, 2*keep)
	held := 0
	var read int64
	for {
		if held == len(buf) {
			held = copy(buf, buf[held-keep:held])
		}
		n, err := r.Read(buf[held:])
		held += n
		read += int64(n)
		if err == io.EOF {
			return buf[max(0, held-keep):held], read, nil
		}
		if err != nil {
			return nil, read, err
		}
	}
}

// rangeStart returns the first byte position of a Content-Range value
// ("bytes 100-199/200"), or 0 when it cannot be read.
func rangeStart(v string) int64 {
	v, ok := strings.CutPrefix(strings.TrimSpace(v), "bytes ")
	if !ok {
		return 0
	}
	first, _, ok := strings.Cut(strings.TrimSpace(v), "-")
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(first, 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}
