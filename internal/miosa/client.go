package miosa

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/netfail"
)

// Defaults for Options fields left at their zero value.
const (
	DefaultBaseURL       = "https://api.miosa.ai/api/v1"
	DefaultUserAgent     = "sandbox-templates-action/dev"
	DefaultMaxAttempts   = 5
	DefaultRetryBudget   = 50
	DefaultMaxRetryAfter = 60 * time.Second
	DefaultBaseBackoff   = 500 * time.Millisecond
	DefaultMaxBackoff    = 20 * time.Second
	// DefaultRetryPerRequest is what each request started adds to the
	// retry budget.
	DefaultRetryPerRequest = 0.2
	// DefaultAttemptTimeout bounds one attempt when Options.HTTPClient is nil.
	DefaultAttemptTimeout = 60 * time.Second
	// MaxRateLimitedRetries bounds the retries of one request after 429s in
	// a row when its context has no deadline.
	MaxRateLimitedRetries = 30
	// MaxBodySize is the most the client reads of any response body.
	MaxBodySize = 1 << 20
)

// ErrInsecureHTTP is in New's error for a base URL of plain http to a host
// that is not loopback, without Options.AllowInsecureHTTP.
var ErrInsecureHTTP = errors.New("plain http to a host that is not loopback")

// KeyPrefix starts every Miosa API key.
const KeyPrefix = "msk_"

// Options configure a Client. Zero values select the defaults above.
type Options struct {
	// BaseURL is the API root, e.g. https://api.miosa.ai/api/v1 or
	// http://127.0.0.1:8787/api/v1.
	BaseURL string
	// APIKey is the bearer key; it must start with msk_. Options never
	// prints it (see Format).
	APIKey string
	// UserAgent names this tool and its version, e.g.
	// "sandbox-templates-action/1.2.3".
	UserAgent string
	// AllowInsecureHTTP allows a BaseURL of plain http to a host that is not
	// loopback; without it New refuses one, since the key would travel
	// unencrypted. With it, Warning says what that means.
	AllowInsecureHTTP bool
	// HTTPClient sends the requests; the client never follows redirects
	// whatever its CheckRedirect says. Nil means an http.Client whose
	// Timeout is DefaultAttemptTimeout, over NewTransport(Concurrency):
	// each client's requests share one transport. Build logs on another
	// origin than the API's are fetched through a copy of its transport
	// (when it is an *http.Transport) that connects only to public
	// addresses, directly.
	HTTPClient *http.Client
	// Concurrency is how many requests the caller sends at once, for the
	// transport made when HTTPClient is nil; zero means 8.
	Concurrency int
	// MaxAttempts bounds the attempts of one request (first try included);
	// 1 disables retries, after a 429 too. Attempts answered 429 do not
	// count: rate limiting is flow control, bounded by the context's
	// deadline, or by MaxRateLimitedRetries in a row when it has none.
	MaxAttempts int
	// RetryBudget and RetryPerRequest bound the retries of all requests of
	// this client (one client serves one run): the budget starts at
	// RetryBudget and grows by RetryPerRequest with every request started,
	// so a run of N requests may retry RetryBudget + RetryPerRequest*N times
	// in all, however long the run's deadline. A negative RetryBudget means
	// no retries at all; a negative RetryPerRequest a budget that does not
	// grow. Retries after a 429 never spend it.
	RetryBudget     int
	RetryPerRequest float64
	// MaxRetryAfter is the longest Retry-After the client waits for; when the
	// server asks for more, the request fails at once.
	MaxRetryAfter time.Duration
	// BaseBackoff and MaxBackoff shape the full-jitter exponential backoff:
	// the n-th retry waits a random time in [0, min(MaxBackoff, BaseBackoff*2^(n-1))).
	BaseBackoff, MaxBackoff time.Duration
	// Logf, when set, receives one line per retry. Lines never hold the key.
	Logf func(format string, args ...any)
	// Sleep, when set, replaces the wait between attempts (tests use it to
	// record waits instead of sleeping). It must return ctx.Err() when ctx
	// ends first.
	Sleep func(ctx context.Context, d time.Duration) error
}

// String describes the options without the API key, and the base URL as
// DisplayURL shows it.
func (o Options) String() string {
	key := "(empty)"
	if o.APIKey != "" {
		key = redacted
	}
	return fmt.Sprintf("miosa.Options{BaseURL: %q, APIKey: %s, UserAgent: %q, AllowInsecureHTTP: %t, HTTPClient: %t, Concurrency: %d, MaxAttempts: %d, RetryBudget: %d, RetryPerRequest: %g, MaxRetryAfter: %s, BaseBackoff: %s, MaxBackoff: %s, Logf: %t, Sleep: %t}",
		DisplayURL(o.BaseURL), key, o.UserAgent, o.AllowInsecureHTTP, o.HTTPClient != nil, o.Concurrency, o.MaxAttempts, o.RetryBudget, o.RetryPerRequest, o.MaxRetryAfter, o.BaseBackoff, o.MaxBackoff, o.Logf != nil, o.Sleep != nil)
}

// Format implements fmt.Formatter so that every verb, %#v included, prints
// String and never the key.
func (o Options) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, o.String()) }

// Client calls the sandbox-templates API. It is safe for concurrent use.
type Client struct {
	base        string // BaseURL without a trailing slash
	v1Path      bool   // base ends in /api/v1, as the API's does
	key         secret
	userAgent   string
	warning     string       // what New allowed that the caller should print
	http        *http.Client // the API's requests
	foreign     *http.Client // build logs on another origin: public addresses only
	maxAttempts int
	budget      atomic.Int64 // retries left, in thousandths
	perRequest  int64        // thousandths of a retry each request adds
	maxRA       time.Duration
	baseBackoff time.Duration
	maxBackoff  time.Duration
	logf        func(format string, args ...any)
	sleep       func(ctx context.Context, d time.Duration) error
	limit       limiter // shared by every request of the client
}

// String describes the client without the API key.
func (c *Client) String() string {
	return fmt.Sprintf("miosa.Client{BaseURL: %q, APIKey: %s, UserAgent: %q}", c.base, redacted, c.userAgent)
}

// Format implements fmt.Formatter so that every verb prints String.
func (c *Client) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// New checks opts and returns a client. It sends nothing. A base URL of
// plain http to a host that is not loopback (127.0.0.0/8, ::1, localhost)
// is refused unless opts.AllowInsecureHTTP is set; every error shows the
// URL as DisplayURL does, never its user information or query.
func New(opts Options) (*Client, error) {
	key := strings.TrimSpace(opts.APIKey)
	switch {
	case key == "":
		return nil, errors.New("miosa: api key is empty")
	case !strings.HasPrefix(key, KeyPrefix):
		return nil, fmt.Errorf("miosa: api key does not start with %q; it is not a Miosa API key", KeyPrefix)
	case !printableASCII(key):
		return nil, errors.New("miosa: api key holds spaces or characters that cannot be sent in a header")
	}
	base := strings.TrimRight(cmp.Or(strings.TrimSpace(opts.BaseURL), DefaultBaseURL), "/")
	u, err := checkBaseURL(base)
	if err != nil {
		return nil, err
	}
	var warning string
	if u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
		if !opts.AllowInsecureHTTP {
			return nil, fmt.Errorf("miosa: base url %s is %w: the API key would travel unencrypted; use https://, or allow plain http explicitly (allow-insecure-http)", DisplayURL(base), ErrInsecureHTTP)
		}
		warning = "api url " + DisplayURL(base) + " is plain http to a host that is not loopback: the API key and every answer travel unencrypted (allowed by allow-insecure-http)"
	}
	ua := cmp.Or(opts.UserAgent, DefaultUserAgent)
	if !printableASCII(strings.ReplaceAll(ua, " ", "")) {
		return nil, errors.New("miosa: user agent holds characters that cannot be sent in a header")
	}
	hc := &http.Client{Timeout: DefaultAttemptTimeout, Transport: NewTransport(cmp.Or(opts.Concurrency, defaultConcurrency))}
	if opts.HTTPClient != nil {
		copied := *opts.HTTPClient
		hc = &copied
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	c := &Client{
		base:        base,
		v1Path:      strings.HasSuffix(u.Path, "/api/v1"),
		key:         secret(key),
		userAgent:   ua,
		warning:     warning,
		http:        hc,
		foreign:     foreignClient(hc, dialPublicOnly),
		maxAttempts: max(1, cmp.Or(opts.MaxAttempts, DefaultMaxAttempts)),
		maxRA:       cmp.Or(opts.MaxRetryAfter, DefaultMaxRetryAfter),
		baseBackoff: cmp.Or(opts.BaseBackoff, DefaultBaseBackoff),
		maxBackoff:  cmp.Or(opts.MaxBackoff, DefaultMaxBackoff),
		logf:        opts.Logf,
		sleep:       opts.Sleep,
	}
	if opts.RetryBudget >= 0 {
		c.budget.Store(int64(cmp.Or(opts.RetryBudget, DefaultRetryBudget)) * retryUnit)
		c.perRequest = int64(max(0, cmp.Or(opts.RetryPerRequest, DefaultRetryPerRequest)) * retryUnit)
	}
	if c.sleep == nil {
		c.sleep = netfail.Sleep
	}
	return c, nil
}

// defaultConcurrency is the Concurrency of Options that leave it zero.
const defaultConcurrency = 8

// NewTransport returns the HTTP transport for a run that sends up to
// concurrency requests at once to the API: the settings of Go's default
// transport, but with an idle connection kept for each of them. Go's
// default keeps two per host, so that at a concurrency of 16 most requests
// would close the connection they used and open (over TLS) a new one.
func NewTransport(concurrency int) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = max(2, concurrency)
	tr.MaxIdleConns = max(tr.MaxIdleConns, 2*concurrency)
	return tr
}

// Warning is what the caller should print about this client's settings
// before using it, or "": that the base URL is plain http to a host that is
// not loopback, allowed by Options.AllowInsecureHTTP.
func (c *Client) Warning() string { return c.warning }

// foreignClient returns the client for build logs on another origin than
// the API's: hc's settings, but with a transport that connects directly
// (no proxy, which would resolve the name itself) and only where control
// allows (dialPublicOnly: public addresses), checked after name resolution,
// so a name that resolves or is rebound to an internal address gets
// nothing.
func foreignClient(hc *http.Client, control func(network, address string, c syscall.RawConn) error) *http.Client {
	var tr *http.Transport
	if t, ok := hc.Transport.(*http.Transport); ok && t != nil {
		tr = t.Clone()
	} else {
		tr = http.DefaultTransport.(*http.Transport).Clone()
	}
	tr.Proxy = nil
	tr.DialTLSContext = nil
	tr.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: control}).DialContext
	fc := *hc
	fc.Transport = tr
	return &fc
}

// log sends one redacted line to Logf.
func (c *Client) log(format string, args ...any) {
	if c.logf == nil {
		return
	}
	c.logf("%s", c.key.redact(fmt.Sprintf(format, args...)))
}

// printableASCII reports whether s is non-empty and holds only visible ASCII.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return s != ""
}
