package prcomment

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/textsafe"
)

const (
	maxBody       = 1 << 20          // bytes read of an answer read whole: an error, a created or updated comment
	maxPage       = 32 << 20         // bytes read of one page of comments, decoded a comment at a time
	perPage       = 100              // comments asked for per page, GitHub's maximum
	maxPages      = 100              // pages read before giving up: 10,000 comments
	attempts      = 3                // tries of the whole find-and-write, for transient failures
	maxRetryAfter = 60 * time.Second // the longest wait a Retry-After or rate-limit reset may ask for
	maxText       = 300              // bytes of GitHub's text kept in an error
)

// Operations named in errors.
const (
	opList   = "list comments"
	opCreate = "create comment"
	opUpdate = "update comment"
)

// Error is an answer GitHub refused the request with, or a request that got
// no answer. No string in it holds the token.
type Error struct {
	Op         string        // "list comments", "create comment" or "update comment"
	Status     int           // HTTP status; 0 when no answer came
	Message    string        // GitHub's message, with the messages of its "errors", on one line
	RetryAfter time.Duration // the wait GitHub asked for (Retry-After, or the rate limit's reset)
	Attempts   int           // tries made
	Err        error         // why no answer came, when Status is 0

	errText     string // Err's text, redacted
	rateLimited bool   // a 429, or a 403 for the rate limit
	hint        string // what to do
}

// Error renders "pr-comment: create comment: HTTP 422: Validation Failed: ...; hint (3 attempts)".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("pr-comment: ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	b.WriteString(e.brief())
	if e.hint != "" {
		b.WriteString("; ")
		b.WriteString(e.hint)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (%d attempts)", e.Attempts)
	}
	return b.String()
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

// brief is the status and GitHub's message: "HTTP 403: Resource not accessible by integration".
func (e *Error) brief() string {
	if e.Status == 0 {
		return cmp.Or(e.errText, e.Message)
	}
	s := "HTTP " + strconv.Itoa(e.Status)
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// readOnly reports whether the answer means the token may not comment: a
// 403 that is not the rate limit, or a 404 for the pull request (GitHub
// hides a private repository from a token that may not read it).
func (e *Error) readOnly() bool {
	return (e.Status == http.StatusForbidden && !e.rateLimited) || (e.Status == http.StatusNotFound && e.Op != opUpdate)
}

// client sends one Post's requests.
type client struct {
	base        *url.URL
	token       string
	ua          string
	http        *http.Client
	owner, repo string
	pr          int
	marker      string // the hidden first line
	wait        time.Duration
}

func newClient(cfg Config) (*client, error) {
	base, err := apiBase(cfg.APIURL)
	if err != nil {
		return nil, err
	}
	owner, repo, ok := strings.Cut(cfg.Repository, "/")
	if !ok || !repoPart(owner) || !repoPart(repo) {
		return nil, fmt.Errorf("pr-comment: repository %q is not owner/name", textsafe.Line(cfg.Repository))
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	if cfg.HTTPClient != nil {
		cp := *cfg.HTTPClient
		hc = &cp
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c := &client{
		base: base, token: cfg.Token, ua: cfg.UserAgent, http: hc,
		owner: owner, repo: repo, pr: cfg.PR, marker: markerLine(cfg.Marker), wait: cfg.RetryWait,
	}
	if c.ua == "" {
		c.ua = "sandbox-templates-action"
	}
	if c.wait <= 0 {
		c.wait = time.Second
	}
	return c, nil
}

// apiBase checks GITHUB_API_URL: http(s), no user, query or fragment, and
// https unless the host is this machine.
func apiBase(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(s, "/"))
	if s == "" || err != nil || u.Host == "" || u.Scheme != "https" && u.Scheme != "http" ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("pr-comment: GITHUB_API_URL %q is not an http(s) URL such as https://api.github.com", textsafe.Line(s))
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		return nil, fmt.Errorf("pr-comment: GITHUB_API_URL %q is plain http: the token would travel unencrypted; use https", textsafe.Line(s))
	}
	return u, nil
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
	if s == "" || s == "." || s == ".." {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// under reports whether u is under the API base URL, the only place the token goes.
func (c *client) under(u *url.URL) bool {
	if u.Scheme != c.base.Scheme || !strings.EqualFold(u.Host, c.base.Host) || u.User != nil {
		return false
	}
	basePath := strings.TrimSuffix(c.base.Path, "/")
	p := path.Clean("/" + u.Path)
	return basePath == "" || p == basePath || strings.HasPrefix(p, basePath+"/")
}

// endpoint returns the URL of an API path made of segments.
func (c *client) endpoint(segments ...string) string {
	return c.base.JoinPath(segments...).String()
}

// comment is the part of an issue comment this package reads.
type comment struct {
	ID      int64  `json:"id"`
	Body    string `json:"body"`
	HTMLURL string `json:"html_url"`
	User    *struct {
		Login string `json:"login"`
		Type  string `json:"type"`
	} `json:"user"`
	AuthorAssociation string `json:"author_association"`
}

// ours reports whether cm is this job's comment: its first line is the
// marker, and a bot or someone with write access wrote it.
func (c *client) ours(cm *comment) bool {
	first, _, _ := strings.Cut(cm.Body, "\n")
	if strings.TrimRight(first, "\r \t") != c.marker {
		return false
	}
	if cm.User != nil && cm.User.Type == "Bot" {
		return true
	}
	switch cm.AuthorAssociation {
	case "OWNER", "MEMBER", "COLLABORATOR":
		return true
	}
	return false
}

// post finds this job's comment and edits it, or creates it, retrying
// transient failures from the start: a create whose answer was lost is
// found by the next try's list, never made twice.
func (c *client) post(ctx context.Context, body string) (Result, error) {
	wait := c.wait
	for attempt := 1; ; attempt++ {
		res, err := c.once(ctx, body)
		if err == nil {
			return res, nil
		}
		var ge *Error
		if !errors.As(err, &ge) {
			return Result{}, err
		}
		ge.Attempts = attempt
		d, retry := c.retryWait(ge, wait)
		if !retry || attempt == attempts {
			return Result{}, ge
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return Result{}, ctx.Err()
		case <-t.C:
		}
		wait *= 2
	}
}

// retryWait says whether to try again after e, and after how long.
func (c *client) retryWait(e *Error, wait time.Duration) (time.Duration, bool) {
	switch {
	case e.rateLimited || e.Status == http.StatusTooManyRequests:
		d := cmp.Or(e.RetryAfter, wait)
		return d, d <= maxRetryAfter
	case e.Status == http.StatusNotFound && e.Op == opUpdate:
		return 0, true // deleted since the list: list again
	case e.Status == 0 && e.Err != nil, e.Status == http.StatusInternalServerError, e.Status == http.StatusBadGateway,
		e.Status == http.StatusServiceUnavailable, e.Status == http.StatusGatewayTimeout:
		return wait, true
	}
	return 0, false
}

// once is one try: list, then update or create.
func (c *client) once(ctx context.Context, body string) (Result, error) {
	found, err := c.find(ctx)
	if err != nil {
		return Result{}, err
	}
	if found != nil && found.Body == body {
		return c.result(Updated, found, "is up to date"), nil
	}
	if found != nil {
		cm, err := c.write(ctx, opUpdate, http.MethodPatch, c.endpoint("repos", c.owner, c.repo, "issues", "comments", strconv.FormatInt(found.ID, 10)), body)
		if err != nil {
			return Result{}, err
		}
		return c.result(Updated, cm, "updated"), nil
	}
	cm, err := c.write(ctx, opCreate, http.MethodPost, c.endpoint("repos", c.owner, c.repo, "issues", strconv.Itoa(c.pr), "comments"), body)
	if err != nil {
		return Result{}, err
	}
	return c.result(Created, cm, "created"), nil
}

// result describes what happened to cm.
func (c *client) result(o Outcome, cm *comment, did string) Result {
	msg := fmt.Sprintf("pull request #%d: comment %d %s", c.pr, cm.ID, did)
	if cm.HTMLURL != "" {
		msg += ": " + textsafe.Truncate(textsafe.Line(cm.HTMLURL), maxText)
	}
	return Result{Outcome: o, CommentID: cm.ID, URL: cm.HTMLURL, Message: msg}
}

// find returns this job's comment, or nil, reading the pages of the pull
// request's comments until it turns up.
func (c *client) find(ctx context.Context) (*comment, error) {
	next := c.endpoint("repos", c.owner, c.repo, "issues", strconv.Itoa(c.pr), "comments") + "?per_page=" + strconv.Itoa(perPage)
	for page := 1; next != ""; page++ {
		if page > maxPages {
			return nil, &Error{Op: opList, Message: fmt.Sprintf("more than %d pages of comments", maxPages)}
		}
		found, link, err := c.listPage(ctx, next)
		if err != nil || found != nil {
			return found, err
		}
		next = link
	}
	return nil, nil
}

// listPage reads one page and returns this job's comment on it, or the next
// page's URL ("" after the last).
func (c *client) listPage(ctx context.Context, pageURL string) (*comment, string, error) {
	resp, err := c.do(ctx, opList, http.MethodGet, pageURL, nil)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	bad := func(why string) error {
		return &Error{Op: opList, Status: resp.StatusCode, Message: "unreadable answer: " + why}
	}
	dec := json.NewDecoder(&capped{r: resp.Body, n: maxPage})
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, "", bad("not a list of comments")
	}
	for dec.More() {
		var cm comment
		if err := dec.Decode(&cm); err != nil {
			return nil, "", bad(c.redact(err.Error()))
		}
		if c.ours(&cm) {
			return &cm, "", nil
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, "", bad(c.redact(err.Error()))
	}
	link := nextLink(resp.Header.Get("Link"))
	if link == "" {
		return nil, "", nil
	}
	u, err := resp.Request.URL.Parse(link)
	if err != nil || !c.under(u) {
		return nil, "", &Error{Op: opList, Status: resp.StatusCode,
			Message: "the next page's link leaves GITHUB_API_URL; not following it with the token"}
	}
	return nil, u.String(), nil
}

// capped reads at most n bytes, then fails.
type capped struct {
	r io.Reader
	n int64
}

func (c *capped) Read(p []byte) (int, error) {
	if c.n <= 0 {
		return 0, fmt.Errorf("answer larger than %d MiB", maxPage>>20)
	}
	if int64(len(p)) > c.n {
		p = p[:c.n]
	}
	n, err := c.r.Read(p)
	c.n -= int64(n)
	return n, err
}

// write sends body to create or update a comment and returns the comment.
func (c *client) write(ctx context.Context, op, method, u, body string) (*comment, error) {
	payload, err := json.Marshal(map[string]string{"body": body})
	if err != nil {
		return nil, fmt.Errorf("pr-comment: %s: %w", op, err)
	}
	resp, err := c.do(ctx, op, method, u, payload)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var cm comment
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(&cm); err != nil || cm.ID == 0 {
		return nil, &Error{Op: op, Status: resp.StatusCode, Message: "unreadable answer: not a comment"}
	}
	return &cm, nil
}

// do sends one request with the token and returns a 2xx answer, or an *Error.
func (c *client) do(ctx context.Context, op, method, u string, body []byte) (*http.Response, error) {
	pu, err := url.Parse(u)
	if err != nil || !c.under(pu) {
		return nil, &Error{Op: op, Message: "refusing to send the token outside GITHUB_API_URL"}
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("pr-comment: %s: %s", op, c.redact(err.Error()))
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	req.Header.Set("User-Agent", c.ua)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &Error{Op: op, Err: err, errText: c.redact(err.Error())}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, c.answerError(op, resp)
}

// answerError turns a refusal into an *Error.
func (c *client) answerError(op string, resp *http.Response) *Error {
	e := &Error{Op: op, Status: resp.StatusCode}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	var body struct {
		Message string `json:"message"`
		Errors  []struct {
			Message string `json:"message"`
			Field   string `json:"field"`
			Code    string `json:"code"`
		} `json:"errors"`
	}
	if json.Unmarshal(raw, &body) == nil {
		parts := []string{body.Message}
		for _, fe := range body.Errors {
			switch {
			case fe.Message != "":
				parts = append(parts, fe.Message)
			case fe.Field != "" || fe.Code != "":
				parts = append(parts, strings.TrimSpace(fe.Field+" "+fe.Code))
			}
		}
		e.Message = strings.Trim(strings.Join(parts, ": "), ": ")
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	e.Message = textsafe.Truncate(textsafe.Line(c.redact(e.Message)), maxText)
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		e.Message = "a redirect, not followed"
		if loc, err := resp.Request.URL.Parse(resp.Header.Get("Location")); err == nil && loc.Host != "" {
			e.Message += " (to " + textsafe.Truncate(textsafe.Line(c.redact(loc.Redacted())), maxText) + ")"
		}
		e.hint = "is GITHUB_API_URL right?"
	case resp.StatusCode == http.StatusUnauthorized:
		e.hint = "github-token was refused"
	case resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode == http.StatusForbidden &&
		(resp.Header.Get("X-RateLimit-Remaining") == "0" || strings.Contains(strings.ToLower(e.Message), "rate limit")):
		e.rateLimited = true
		e.RetryAfter = rateLimitWait(resp.Header)
		e.hint = "GitHub's rate limit"
	}
	return e
}

// rateLimitWait is what a rate-limited answer asks to wait: Retry-After, or
// until X-RateLimit-Reset when none are left; 0 when it does not say.
func rateLimitWait(h http.Header) time.Duration {
	if s, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After"))); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if h.Get("X-RateLimit-Remaining") == "0" {
		if reset, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			return max(time.Until(time.Unix(reset, 0)), time.Second)
		}
	}
	return 0
}

// redact removes the token from s.
func (c *client) redact(s string) string {
	if c.token == "" {
		return s
	}
	return strings.ReplaceAll(s, c.token, "[REDACTED]")
}

// nextLink returns the target of rel="next" in a Link header, or "".
func nextLink(h string) string {
	for {
		h = strings.TrimLeft(h, " \t,")
		if !strings.HasPrefix(h, "<") {
			return ""
		}
		end := strings.IndexByte(h, '>')
		if end < 0 {
			return ""
		}
		target, params := h[1:end], h[end+1:]
		if strings.ContainsRune(target, '<') {
			return "" // not a link-value: a target holds no "<"
		}
		h = ""
		if i := strings.IndexByte(params, '<'); i >= 0 {
			params, h = params[:i], params[i:]
		}
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(k), "rel") {
				continue
			}
			v = strings.Trim(strings.TrimSpace(strings.TrimRight(strings.TrimSpace(v), ",")), `"`)
			for _, rel := range strings.Fields(v) {
				if strings.EqualFold(rel, "next") {
					return target
				}
			}
		}
	}
}
