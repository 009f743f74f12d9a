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

// LogNotFetchedError is BuildLogTail's answer for a log it does not fetch
// because of where the log is: another origin than the API's over plain
// http, an address that is not public, a scheme other than http(s). Its
// text is what a person reads: "log at URL (not fetched: reason)".
type LogNotFetchedError struct {
	URL    string // the log's URL as DisplayURL shows it
	Reason string
}

func (e *LogNotFetchedError) Error() string {
	return "log at " + e.URL + " (not fetched: " + e.Reason + ")"
}

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
// ErrLogTooLarge); 416 means an empty log. A relative logURL is resolved
// against the base URL. Where the log is decides how it is fetched:
//   - on the API's own origin (the scheme, host and port of the base URL)
//     with the API key, through the client's rate limit;
//   - on another origin only over https, without the key, directly (no
//     proxy) and only from a public address, checked after name resolution
//     and before connecting, so neither a name nor a rebound name can reach
//     loopback, private, link-local, unspecified or multicast addresses;
//   - anywhere else not at all: a *LogNotFetchedError, and nothing is sent.
//
// Redirects are not followed: one is an *Error with ErrRedirect. The
// request is sent once, never retried. Other errors are *Error values whose
// Path is logURL as DisplayURL shows it.
func (c *Client) BuildLogTail(ctx context.Context, logURL string, limit int) (*LogTail, error) {
	if limit <= 0 {
		limit = DefaultLogTail
	}
	limit = min(limit, MaxBodySize)
	u, err := c.logURL(logURL)
	if err != nil {
		return nil, err
	}
	shown := c.key.clean(DisplayURL(u.String()))
	own := c.ownHost(u)
	hc := c.http
	if !own {
		if u.Scheme != "https" {
			return nil, &LogNotFetchedError{URL: shown, Reason: "plain http on another origin than the API's " + c.key.clean(DisplayURL(c.base))}
		}
		hc = c.foreign
	}
	e := &Error{Method: http.MethodGet, Path: shown, Attempts: 1}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		e.Err = fmt.Errorf("build request: %w", err)
		return nil, e
	}
	req.Header.Set("Range", "bytes=-"+strconv.Itoa(limit+1))
	req.Header.Set("Accept", "text/plain, */*")
	req.Header.Set("User-Agent", c.userAgent)
	var sent time.Time
	if own {
		req.Header.Set("Authorization", "Bearer "+string(c.key))
		if sent, err = c.limit.wait(ctx, c.sleep, time.Time{}); err != nil {
			e.Err = err
			return nil, e
		}
	}
	resp, err := hc.Do(req)
	if ctxErr := ctx.Err(); ctxErr != nil {
		if err == nil {
			resp.Body.Close()
		}
		e.Err = ctxErr
		return nil, e
	}
	var refused *addrRefused
	if errors.As(err, &refused) {
		return nil, &LogNotFetchedError{URL: shown, Reason: refused.Error()}
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
// base URL. What cannot be fetched is a *LogNotFetchedError.
func (c *Client) logURL(s string) (*url.URL, error) {
	base, err := url.Parse(c.base)
	if err != nil {
		return nil, &Error{Method: http.MethodGet, Path: "log_url", Err: fmt.Errorf("base url: %w", err)}
	}
	s = strings.TrimSpace(s)
	shown := c.key.clean(DisplayURL(s))
	u, err := url.Parse(s)
	if err != nil || s == "" {
		return nil, &LogNotFetchedError{URL: shown, Reason: "not a URL"}
	}
	u = base.ResolveReference(u)
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &LogNotFetchedError{URL: shown, Reason: fmt.Sprintf("scheme %q; only https, or the API's own origin, is fetched", c.key.clean(u.Scheme))}
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
