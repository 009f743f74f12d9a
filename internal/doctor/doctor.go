package doctor

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
	"github.com/miosa-dev/sandbox-templates-action/internal/textsafe"
)

// Status is the verdict of one check.
type Status string

// The verdicts of a check.
const (
	OK   Status = "ok"   // works as the action needs
	Warn Status = "warn" // the action works, with the consequence the check names
	Fail Status = "fail" // the action cannot work until this is fixed
	Skip Status = "skip" // not checked, because an earlier check failed
)

// The checks, in the order of a Report.
const (
	CheckURL       = "url"
	CheckKey       = "key"
	CheckList      = "list"
	CheckSchema    = "schema"
	CheckValidate  = "validate"
	CheckRateLimit = "rate-limit"
	CheckClock     = "clock"
	CheckRequestID = "request-id"
)

var order = []string{CheckURL, CheckKey, CheckList, CheckSchema, CheckValidate, CheckRateLimit, CheckClock, CheckRequestID}

// Check is the result of one check.
type Check struct {
	Name    string         `json:"name"`
	Status  Status         `json:"status"`
	Message string         `json:"message"`        // what was found
	Hint    string         `json:"hint,omitempty"` // what to do, or what it means for the action
	Details map[string]any `json:"details,omitempty"`
}

// Report is the result of Run.
type Report struct {
	APIURL   string  `json:"api_url"`
	OK       bool    `json:"ok"` // no check failed: the action can work
	Warnings int     `json:"warnings"`
	Summary  string  `json:"summary"`
	Checks   []Check `json:"checks"`
}

// Config is what Run needs.
type Config struct {
	APIURL    string // base URL; empty means the public API
	APIKey    string // sent as the bearer key, never printed
	UserAgent string
	// AllowInsecureHTTP allows an APIURL of plain http to a host that is not
	// loopback (miosa.Options.AllowInsecureHTTP): without it the url check
	// fails, with it the check warns.
	AllowInsecureHTTP bool
	HTTPClient        *http.Client // nil means one whose Timeout is RequestTimeout
}

// RequestTimeout bounds each request when Config.HTTPClient is nil.
const RequestTimeout = 15 * time.Second

// maxRetryAfter is the longest Retry-After doctor waits for, once per request.
const maxRetryAfter = 10 * time.Second

// minimalSpec is the build spec sent to the validate endpoint: the smallest
// spec the embedded schema accepts.
func minimalSpec() map[string]any { return map[string]any{"from": "alpine:3.20"} }

// Run checks the server at cfg.APIURL with cfg.APIKey. It only reads, and it
// always returns a report with every check.
func Run(ctx context.Context, cfg Config) *Report {
	d := &doctor{cfg: cfg, checks: map[string]Check{}}
	if d.cfg.HTTPClient == nil {
		d.cfg.HTTPClient = &http.Client{Timeout: RequestTimeout}
	}
	base := strings.TrimRight(cmp.Or(strings.TrimSpace(cfg.APIURL), miosa.DefaultBaseURL), "/")
	d.run(ctx, base)
	return d.report(base)
}

// doctor is one Run.
type doctor struct {
	cfg    Config
	client *miosa.Client
	base   *url.URL
	checks map[string]Check
	skip   string // why the checks not yet made are skipped

	answers   int               // HTTP answers seen
	withID    int               // of them, those with a request id
	rate      map[string]string // rate-limit headers of the latest answer that had any
	limited   bool              // an answer was 429
	skew      time.Duration     // server clock minus local clock
	skewKnown bool
}

func (d *doctor) set(name string, st Status, msg, hint string, details map[string]any) {
	d.checks[name] = Check{Name: name, Status: st, Message: msg, Hint: hint, Details: details}
}

func (d *doctor) run(ctx context.Context, base string) {
	if !d.connect(base) {
		return
	}
	pr, err := d.probe(ctx, http.MethodGet, "/sandbox-templates?page_size=100") // the first page the action asks for
	if d.checkAnswer(ctx, pr, err) {
		d.checkList(pr)
		d.checkSchema(ctx)
		d.checkValidate(ctx)
	}
	if d.answers > 0 {
		d.checkRateLimit()
		d.checkClock()
		d.checkRequestID()
	}
}

// connect makes the client, telling a key that cannot be used from a URL
// that cannot.
func (d *doctor) connect(base string) bool {
	opts := d.options()
	if strings.TrimSpace(d.cfg.APIKey) == "" {
		d.set(CheckKey, Fail, "MIOSA_API_KEY is not set", "set it to a Miosa API key (msk_...)", nil)
		d.skip = "no key to send"
		return false
	}
	// With the default URL only the key can be refused.
	if _, err := miosa.New(opts); err != nil {
		d.set(CheckKey, Fail, "the key cannot be used: "+strings.TrimPrefix(err.Error(), "miosa: "), "check MIOSA_API_KEY", nil)
		d.skip = "the key cannot be used"
		return false
	}
	opts.BaseURL = base
	c, err := miosa.New(opts)
	if err != nil {
		msg, hint := "not a usable API URL: "+strings.TrimPrefix(err.Error(), "miosa: "), "use "+miosa.DefaultBaseURL+", or your deployment's URL ending in /api/v1"
		if errors.Is(err, miosa.ErrInsecureHTTP) {
			msg = fmt.Sprintf("%s is %s: the key would travel unencrypted", miosa.DisplayURL(base), miosa.ErrInsecureHTTP)
			hint = "use https://; for a server you trust on a network you trust, allow plain http explicitly (allow-insecure-http)"
		}
		d.set(CheckURL, Fail, msg, hint, nil)
		d.skip = "the URL is not usable"
		return false
	}
	d.client = c
	d.base, _ = url.Parse(base) // miosa.New parsed it
	return true
}

// options are the client options of every request doctor sends, without
// the base URL.
func (d *doctor) options() miosa.Options {
	return miosa.Options{APIKey: d.cfg.APIKey, UserAgent: d.cfg.UserAgent, HTTPClient: d.cfg.HTTPClient,
		AllowInsecureHTTP: d.cfg.AllowInsecureHTTP, MaxAttempts: 1, RetryBudget: -1}
}

// probe sends one request (again after a short 429), noting what the
// answer says about headers and the clock.
func (d *doctor) probe(ctx context.Context, method, path string) (pr *miosa.ProbeResponse, err error) {
	d.retried(ctx, func() error {
		start := time.Now()
		pr, err = d.client.Probe(ctx, method, path, nil)
		if pr != nil {
			d.observe(pr, start, time.Now())
		}
		return err
	})
	return pr, err
}

// retried calls f, and once more after a 429 whose Retry-After is short.
func (d *doctor) retried(ctx context.Context, f func() error) {
	if err := f(); d.waitAfter429(ctx, err) {
		_ = f() // the caller keeps the second answer
	}
}

// waitAfter429 waits out a 429's Retry-After when it is short and reports
// whether to try again.
func (d *doctor) waitAfter429(ctx context.Context, err error) bool {
	if !miosa.IsRateLimited(err) {
		return false
	}
	d.limited = true
	var e *miosa.Error
	errors.As(err, &e)
	wait := max(e.RetryAfter, time.Second)
	if wait > maxRetryAfter {
		return false
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// observe notes an answer's request id, rate-limit headers and Date.
func (d *doctor) observe(pr *miosa.ProbeResponse, start, end time.Time) {
	d.answered(pr.RequestID)
	if pr.Status == http.StatusTooManyRequests {
		d.limited = true
	}
	found := map[string]string{}
	for _, name := range rateLimitHeaders {
		if v := pr.Header.Get(name); v != "" {
			found[name] = shorten(v, 40)
		}
	}
	if len(found) > 0 {
		d.rate = found
	}
	if date, err := http.ParseTime(pr.Header.Get("Date")); err == nil && !d.skewKnown {
		d.skew = date.Sub(start.Add(end.Sub(start) / 2))
		d.skewKnown = true
	}
}

func (d *doctor) answered(requestID string) {
	d.answers++
	if requestID != "" {
		d.withID++
	}
}

// rateLimitHeaders are the rate-limit headers doctor reports, in order: the
// common X-RateLimit-* family and the IETF draft's RateLimit-*.
var rateLimitHeaders = []string{
	"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-RateLimit-Used",
	"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy", "RateLimit",
}

// checkAnswer judges the list's answer for the url and key checks. It
// reports whether the list answered 2xx with JSON, so that the other
// endpoints are worth asking.
func (d *doctor) checkAnswer(ctx context.Context, pr *miosa.ProbeResponse, err error) bool {
	shown := d.base.String()
	if pr == nil {
		d.connFailure(err)
		d.skip = "the URL does not answer"
		return false
	}
	var e *miosa.Error
	errors.As(err, &e)
	details := map[string]any{"status": pr.Status}
	if e != nil && e.Code != "" {
		details["code"] = e.Code
	}
	answers := func() {
		st, hint := OK, ""
		if d.client.Warning() != "" {
			st, hint = Warn, "the key travels unencrypted over plain http (allowed by allow-insecure-http): use https://"
		}
		d.set(CheckURL, st, fmt.Sprintf("%s answers (HTTP %d)", shown, pr.Status), hint, details)
	}
	switch {
	case pr.Status >= 300 && pr.Status <= 399:
		d.set(CheckURL, Fail, fmt.Sprintf("%s redirects (HTTP %d) to %s: the action follows no redirect, so the key never goes to another address", shown, pr.Status, location(pr)),
			"set the URL to the address it redirects to", details)
		d.skip = "the URL redirects"
	case isHTML(pr):
		d.set(CheckURL, Fail, fmt.Sprintf("%s answers with an HTML page (HTTP %d), not with the API's JSON", shown, pr.Status), d.pathHint(ctx), details)
		d.skip = "the URL does not serve the API"
	case pr.Status == http.StatusNotFound:
		d.set(CheckURL, Fail, fmt.Sprintf("%s has no template list (HTTP 404 for %s/sandbox-templates): the path is wrong", shown, shown), d.pathHint(ctx), details)
		d.skip = "the URL does not serve the API"
	case pr.Status == http.StatusUnauthorized:
		answers()
		d.set(CheckKey, Fail, "401 unauthorized: the key was refused"+says(e), "check MIOSA_API_KEY (a key of another Miosa environment is refused too)", nil)
		d.skip = "the key was refused"
	case pr.Status == http.StatusForbidden:
		answers()
		d.set(CheckKey, Fail, "403 forbidden: the key may not list sandbox templates"+says(e), "use a key with access to sandbox templates", nil)
		d.skip = "the key was refused"
	case pr.Status == http.StatusPaymentRequired:
		answers()
		d.set(CheckKey, Fail, "402 payment required: the key's account is out of credits"+says(e), "check the account's billing", nil)
		d.skip = "the account is out of credits"
	case pr.Status == http.StatusTooManyRequests:
		answers()
		d.set(CheckKey, Fail, "not verified: the list answered 429 (rate limited), also after a retry", "run doctor again later", nil)
		d.skip = "the server is rate limiting"
	case pr.Status >= 500:
		answers()
		d.set(CheckList, Fail, fmt.Sprintf("the list answered HTTP %d%s", pr.Status, says(e)), "a problem of the server, not of the setup: try again later", nil)
		d.skip = "the server failed"
	case !isJSON(pr.Body):
		d.set(CheckURL, Fail, fmt.Sprintf("%s answers (HTTP %d), but not with JSON (%s)", shown, pr.Status, cmp.Or(shorten(pr.Header.Get("Content-Type"), 60), "no Content-Type")), d.pathHint(ctx), details)
		d.skip = "the URL does not serve the API"
	case e != nil:
		answers()
		d.set(CheckList, Fail, fmt.Sprintf("the list answered HTTP %d%s", pr.Status, says(e)), "check the URL: the list is the first call of every run", nil)
		d.skip = "the list failed"
	default:
		answers()
		d.set(CheckKey, OK, fmt.Sprintf("accepted: the template list answers %d", pr.Status), "", nil)
		return true
	}
	return false
}

// connFailure sets the url check for a request that got no answer.
func (d *doctor) connFailure(err error) {
	kind, detail := d.client.ConnFailure(err)
	details := map[string]any{"failure": kind, "error": detail}
	host := d.base.Host
	switch kind {
	case miosa.FailureDNS:
		d.set(CheckURL, Fail, fmt.Sprintf("cannot resolve the host %s", d.base.Hostname()), "check the host name in the URL, and this machine's DNS", details)
	case miosa.FailureRefused:
		d.set(CheckURL, Fail, fmt.Sprintf("connection refused by %s: nothing accepts connections there", host),
			"check the host and the port (the public API is "+miosa.DefaultBaseURL+")", details)
	case miosa.FailureTLS:
		hint := "check the URL's scheme and the server's certificate (behind a proxy that intercepts TLS, its CA must be in this machine's trust store)"
		if strings.Contains(detail, "does not look like a TLS handshake") || strings.Contains(detail, "HTTP response to HTTPS client") {
			hint = "the server speaks plain HTTP there: use http:// for it (a local emulator), or check the port"
		}
		d.set(CheckURL, Fail, fmt.Sprintf("TLS with %s failed: %s", host, detail), hint, details)
	case miosa.FailureTimeout:
		d.set(CheckURL, Fail, fmt.Sprintf("no answer from %s in time", host), "check the network, a proxy or a firewall", details)
	case "":
		d.set(CheckURL, Fail, "interrupted before the server answered", "run doctor again", nil)
	default:
		d.set(CheckURL, Fail, fmt.Sprintf("cannot connect to %s: %s", host, detail), "check the URL and the network", details)
	}
}

// pathHint says what to do when the URL answers but not as the API: the API
// lives under /api/v1, and when that address answers as the API, say so.
func (d *doctor) pathHint(ctx context.Context) string {
	if strings.TrimRight(d.base.Path, "/") == "/api/v1" {
		return "check the host: it does not serve the Miosa API under /api/v1"
	}
	s := *d.base
	s.Path, s.RawPath = "/api/v1", ""
	suggestion := s.String()
	if d.answersAsAPI(ctx, suggestion) {
		return suggestion + " answers as the API: set MIOSA_API_URL (or --api-url) to it"
	}
	return "the API lives under /api/v1: try " + suggestion
}

// answersAsAPI reports whether the list at base answers with JSON and a
// status the API gives (200, 401 or 403).
func (d *doctor) answersAsAPI(ctx context.Context, base string) bool {
	opts := d.options()
	opts.BaseURL = base
	c, err := miosa.New(opts)
	if err != nil {
		return false
	}
	pr, _ := c.Probe(ctx, http.MethodGet, "/sandbox-templates", nil)
	if pr == nil || isHTML(pr) || !isJSON(pr.Body) {
		return false
	}
	switch pr.Status {
	case http.StatusOK, http.StatusUnauthorized, http.StatusForbidden:
		return true
	}
	return false
}

// says quotes the server's reason from an error answer, if it gave one.
func says(e *miosa.Error) string {
	if e == nil {
		return ""
	}
	var parts []string
	if e.Code != "" {
		parts = append(parts, e.Code)
	}
	if e.Message != "" {
		parts = append(parts, shorten(e.Message, 120))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (the server says " + strings.Join(parts, ": ") + ")"
}

// location is where a redirect points, as miosa.DisplayURL shows it.
func location(pr *miosa.ProbeResponse) string {
	loc := pr.Header.Get("Location")
	if loc == "" {
		return "(no Location)"
	}
	return shorten(miosa.DisplayURL(loc), 120)
}

// shorten puts server-provided text on one line of at most n bytes.
func shorten(s string, n int) string {
	return textsafe.Truncate(strings.Join(strings.Fields(s), " "), n)
}
