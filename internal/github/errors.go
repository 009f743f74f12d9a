package github

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v75/github"

	"github.com/miosa-dev/sandbox-templates-action/internal/netfail"
	"github.com/miosa-dev/sandbox-templates-action/internal/textsafe"
)

// maxText bounds, in bytes, any one text of GitHub's put in an error.
const maxText = 300

// Error is an answer GitHub refused a request with, an answer that could not
// be read, or a request that got no answer. No string in it holds the token.
type Error struct {
	Op         string        // what was asked: "list comments", `get commit "main"`
	Status     int           // HTTP status; 0 when no answer came
	Message    string        // GitHub's message, with the messages of its "errors", on one line
	RequestID  string        // X-GitHub-Request-Id of the answer, if any
	RetryAfter time.Duration // the wait a rate-limited answer asked for
	Attempts   int           // tries made
	Err        error         // why no answer came, when Status is 0

	errText     string // Err's text, redacted, on one line
	hint        string // what to do
	rateLimited bool   // a 429, or a 403 of a rate limit
}

// Error renders `get commit "main": HTTP 422: No commit found for SHA: main
// (X-GitHub-Request-Id 0400:1F)`, with a hint after a semicolon and the
// number of attempts when there was more than one.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	b.WriteString(": ")
	b.WriteString(e.Brief())
	if e.hint != "" {
		b.WriteString("; ")
		b.WriteString(e.hint)
	}
	var notes []string
	if e.Attempts > 1 {
		notes = append(notes, fmt.Sprintf("%d attempts", e.Attempts))
	}
	if e.RequestID != "" {
		notes = append(notes, "X-GitHub-Request-Id "+e.RequestID)
	}
	if len(notes) > 0 {
		b.WriteString(" (" + strings.Join(notes, ", ") + ")")
	}
	return b.String()
}

// Brief is the status and GitHub's message, "HTTP 403: Resource not
// accessible by integration", or why no answer came.
func (e *Error) Brief() string {
	if e.Status == 0 {
		if e.errText != "" {
			return e.errText
		}
		return e.Message
	}
	s := "HTTP " + strconv.Itoa(e.Status)
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

// IsNotFound reports whether err is GitHub's "not found": a 404, or the
// commits endpoint's 422 "No commit found for SHA".
func IsNotFound(err error) bool {
	e, ok := errors.AsType[*Error](err)
	return ok && (e.Status == http.StatusNotFound ||
		e.Status == http.StatusUnprocessableEntity && strings.HasPrefix(e.Message, "No commit found for SHA"))
}

// IsUnknownRef reports whether err is GitHub's refusal of a deployment of
// a ref it does not have: 422 "No ref found for: REF".
func IsUnknownRef(err error) bool {
	e, ok := errors.AsType[*Error](err)
	return ok && e.Status == http.StatusUnprocessableEntity && strings.HasPrefix(e.Message, "No ref found for")
}

// IsForbidden reports whether err is a refusal of the token: a 401, or a 403
// that is not a rate limit, such as "Resource not accessible by
// integration" for a read-only token.
func IsForbidden(err error) bool {
	e, ok := errors.AsType[*Error](err)
	return ok && (e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden && !e.rateLimited)
}

// IsRateLimited reports whether err is a rate limit: a 429, or a 403 of the
// primary or a secondary rate limit.
func IsRateLimited(err error) bool {
	e, ok := errors.AsType[*Error](err)
	return ok && e.rateLimited
}

// failure turns what go-github returned for a failed request into an *Error.
func (c *Client) failure(cl call, resp *gh.Response, err error) *Error {
	e := &Error{Op: cl.op}
	var hr *http.Response
	if resp != nil {
		hr = resp.Response
	}
	answered := hr != nil && hr.StatusCode >= 200 && hr.StatusCode < 300 && hr.StatusCode != http.StatusAccepted
	switch {
	case answered && errors.Is(err, errTooLarge):
		e.Status = hr.StatusCode
		e.Message = "unreadable answer: " + errTooLarge.Error()
	case answered && !netfail.IsNet(err):
		e.Status = hr.StatusCode
		e.Message = "unreadable answer: not " + cl.what
	case hr != nil && !answered:
		e.Status = hr.StatusCode
		c.refusal(e, hr, err)
	default:
		e.Err = err
		e.errText = textsafe.Truncate(textsafe.Line(c.token.redact(err.Error())), maxText)
	}
	if hr != nil {
		e.RequestID = textsafe.Truncate(textsafe.Line(c.token.redact(hr.Header.Get("X-GitHub-Request-Id"))), 100)
	}
	return e
}

// refusal fills e from an answer with an error status.
func (c *Client) refusal(e *Error, hr *http.Response, err error) {
	e.Message = textsafe.Truncate(textsafe.Line(c.token.redact(refusalText(err, hr.StatusCode))), maxText)
	switch {
	case hr.StatusCode >= 300 && hr.StatusCode < 400:
		e.Message = "a redirect, not followed"
		if to := redirectTarget(hr); to != "" {
			e.Message += " (to " + textsafe.Truncate(textsafe.Line(c.token.redact(to)), maxText) + ")"
		}
		e.hint = "is GITHUB_API_URL right?"
	case hr.StatusCode == http.StatusUnauthorized:
		e.hint = "the token was refused"
	case isRateLimit(hr, err, e.Message):
		e.rateLimited = true
		e.RetryAfter = rateLimitWait(hr.Header)
		e.hint = "GitHub's rate limit"
		if e.RetryAfter > maxRetryAfter {
			e.hint += " asks to wait " + e.RetryAfter.Round(time.Second).String()
		}
	}
}

// refusalText is GitHub's message in err, or the status's text.
func refusalText(err error, status int) string {
	msg := ""
	switch v := err.(type) {
	case *gh.ErrorResponse:
		msg = joinMessages(v.Message, v.Errors)
	case *gh.TwoFactorAuthError:
		msg = joinMessages(v.Message, v.Errors)
	case *gh.RateLimitError:
		msg = v.Message
	case *gh.AbuseRateLimitError:
		msg = v.Message
	case *gh.AcceptedError:
		msg = "accepted, the answer is not ready yet"
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return msg
}

// isRateLimit reports whether an answer is a rate limit: a 429, or a 403 of
// the primary limit (none left) or of a secondary one.
func isRateLimit(hr *http.Response, err error, msg string) bool {
	if hr.StatusCode == http.StatusTooManyRequests {
		return true
	}
	_, abuse := err.(*gh.AbuseRateLimitError)
	_, primary := err.(*gh.RateLimitError)
	return hr.StatusCode == http.StatusForbidden &&
		(abuse || primary || hr.Header.Get("X-RateLimit-Remaining") == "0" || strings.Contains(strings.ToLower(msg), "rate limit"))
}

// joinMessages puts GitHub's message and those of its "errors" on one line.
func joinMessages(message string, errs []gh.Error) string {
	parts := []string{message}
	for _, fe := range errs {
		switch {
		case fe.Message != "":
			parts = append(parts, fe.Message)
		case fe.Field != "" || fe.Code != "":
			parts = append(parts, strings.TrimSpace(fe.Field+" "+fe.Code))
		}
	}
	return strings.Trim(strings.Join(parts, ": "), ": ")
}

// redirectTarget is where a redirect points, without user info or query.
func redirectTarget(hr *http.Response) string {
	loc, err := url.Parse(hr.Header.Get("Location"))
	if err != nil || hr.Header.Get("Location") == "" {
		return ""
	}
	if hr.Request != nil && hr.Request.URL != nil {
		loc = hr.Request.URL.ResolveReference(loc)
	}
	shown := url.URL{Scheme: loc.Scheme, Host: loc.Host, Path: loc.Path, RawPath: loc.RawPath}
	return shown.String()
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
