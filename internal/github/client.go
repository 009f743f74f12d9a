package github

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync/atomic"
	"time"

	gh "github.com/google/go-github/v75/github"

	"github.com/miosa-dev/sandbox-templates-action/internal/textsafe"
)

const (
	defaultUA      = "sandbox-templates-action"
	defaultTimeout = 30 * time.Second
	maxAnswer      = 64 << 20 // bytes read of one answer
)

// Config says which repository to talk to, where, and as whom.
type Config struct {
	APIURL     string        // GITHUB_API_URL as given: https://api.github.com, or https://HOST/api/v3; http only to this machine
	Token      string        // sent as a bearer token, only to APIURL; "" sends anonymous requests
	Repository string        // owner/name
	UserAgent  string        // "" means "sandbox-templates-action"
	HTTPClient *http.Client  // nil: a client with a 30 s timeout; its redirect policy is replaced, never followed
	RetryWait  time.Duration // before the first retry of a transient failure, doubled after; 0 means 1 s; a Retry-After wins
}

// Format prints c with the token redacted, under every verb.
func (c Config) Format(f fmt.State, _ rune) {
	_, _ = fmt.Fprintf(f, "{APIURL:%s Token:%v Repository:%s UserAgent:%s RetryWait:%s}",
		shownURL(c.APIURL), secret(c.Token), c.Repository, c.UserAgent, c.RetryWait)
}

// Client sends one repository's GitHub API requests. It is safe for
// concurrent use.
type Client struct {
	gh          *gh.Client
	owner, repo string
	token       secret
	wait        time.Duration
	sent        *atomic.Int64
}

// New returns a client for cfg. It fails for an APIURL that is not an
// http(s) URL (or is plain http to another machine) and for a Repository
// that is not owner/name; the error never shows the URL's user info or query.
func New(cfg Config) (*Client, error) {
	base, err := apiBase(cfg.APIURL)
	if err != nil {
		return nil, err
	}
	owner, repo, ok := strings.Cut(cfg.Repository, "/")
	if !ok || !repoPart(owner) || !repoPart(repo) {
		return nil, fmt.Errorf("repository %q is not owner/name", textsafe.Truncate(cfg.Repository, 200))
	}
	sent := new(atomic.Int64)
	hc := &http.Client{Timeout: defaultTimeout}
	if cfg.HTTPClient != nil {
		cp := *cfg.HTTPClient
		hc = &cp
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	hc.Transport = &transport{base: base, token: secret(cfg.Token), next: hc.Transport, sent: sent}
	g := gh.NewClient(hc)
	g.BaseURL = base
	g.UserAgent = defaultUA
	if cfg.UserAgent != "" {
		g.UserAgent = cfg.UserAgent
	}
	g.DisableRateLimitCheck = true // rate limits are answered by do, from what GitHub says each time
	wait := cfg.RetryWait
	if wait <= 0 {
		wait = time.Second
	}
	return &Client{gh: g, owner: owner, repo: repo, token: secret(cfg.Token), wait: wait, sent: sent}, nil
}

// Format prints the client's repository and API URL, never its token,
// under every verb.
func (c Client) Format(f fmt.State, _ rune) {
	_, _ = fmt.Fprintf(f, "github.Client{%s/%s at %s}", c.owner, c.repo, c.gh.BaseURL)
}

// Requests returns the number of requests sent so far, retries included.
func (c *Client) Requests() int { return int(c.sent.Load()) }

// apiBase checks GITHUB_API_URL and returns it with a trailing slash:
// http(s), a host, no user, query or fragment, and https unless the host is
// this machine.
func apiBase(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("GITHUB_API_URL %s is not an http(s) URL such as https://api.github.com", shownURL(s))
	}
	if u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return nil, fmt.Errorf("GITHUB_API_URL %s has user info, a query or a fragment; give only https://HOST/PATH", shownURL(s))
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		return nil, fmt.Errorf("GITHUB_API_URL %s is plain http: the token would travel unencrypted; use https", shownURL(s))
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		u.RawPath = ""
	}
	return u, nil
}

// shownURL quotes the parts of a URL an error may show: scheme, host and
// path, never user info, query or fragment.
func shownURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(not a URL)"
	}
	shown := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return fmt.Sprintf("%q", textsafe.Truncate(shown.String(), 200))
}

// loopback reports whether host is this machine.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// repoPart reports whether s can be an owner or repository name.
func repoPart(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > 100 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// under reports whether u is under the API base URL, the only place the
// token goes.
func under(base, u *url.URL) bool {
	if u.Scheme != base.Scheme || !strings.EqualFold(u.Host, base.Host) || u.User != nil {
		return false
	}
	basePath := strings.TrimSuffix(base.Path, "/")
	p := path.Clean("/" + u.Path)
	return basePath == "" || p == basePath || strings.HasPrefix(p, basePath+"/")
}

// secret holds the token; it prints as [REDACTED] under every verb.
type secret string

// Format prints [REDACTED], or nothing for no token.
func (s secret) Format(f fmt.State, _ rune) {
	if s != "" {
		_, _ = io.WriteString(f, "[REDACTED]")
	}
}

// redact replaces the token in text.
func (s secret) redact(text string) string {
	if s == "" {
		return text
	}
	return strings.ReplaceAll(text, string(s), "[REDACTED]")
}

// transport counts requests, adds the token to those under the API base
// URL, and bounds what is read of an answer.
type transport struct {
	base  *url.URL
	token secret
	next  http.RoundTripper // nil: http.DefaultTransport
	sent  *atomic.Int64
}

// RoundTrip sends req.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.sent.Add(1)
	req = req.Clone(req.Context())
	req.Header.Del("Authorization")
	if t.token != "" && under(t.base, req.URL) {
		req.Header.Set("Authorization", "Bearer "+string(t.token))
	}
	next := t.next
	if next == nil {
		next = http.DefaultTransport
	}
	resp, err := next.RoundTrip(req)
	if resp != nil && resp.Body != nil {
		resp.Body = &cappedBody{ReadCloser: resp.Body, left: maxAnswer}
	}
	return resp, err
}

// cappedBody fails a read past its limit.
type cappedBody struct {
	io.ReadCloser
	left int64
}

// errTooLarge is the read error of an answer over maxAnswer.
var errTooLarge = fmt.Errorf("answer larger than %d MiB", maxAnswer>>20)

// Read reads at most the bytes left.
func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}
