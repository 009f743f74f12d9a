package miosa

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Error codes the client branches on.
const (
	CodeTemplateNotFound           = "TEMPLATE_NOT_FOUND"
	CodeIdempotencyPayloadMismatch = "IDEMPOTENCY_PAYLOAD_MISMATCH"
	CodeValidationFailed           = "VALIDATION_FAILED"
	CodeInvalidBuildSpec           = "INVALID_BUILDSPEC"
	CodeRateLimited                = "RATE_LIMITED"
)

// Sentinel causes carried in Error.Err.
var (
	// ErrResponseTooLarge: a response body was longer than MaxBodySize.
	ErrResponseTooLarge = errors.New("response body larger than 1 MiB")
	// ErrRedirect: the server answered with a redirect, which is never followed.
	ErrRedirect = errors.New("redirect not followed")
	// ErrMalformedResponse: a success response could not be decoded.
	ErrMalformedResponse = errors.New("malformed response")
)

// Error is the one error type of this package: an HTTP error response, a
// redirect, an unreadable response, a connection failure or an ended context.
// Every string in it is one line with the API key redacted.
type Error struct {
	Method     string        // HTTP method
	Path       string        // request path relative to the base URL, query included
	Status     int           // HTTP status; 0 when no response arrived
	Code       string        // error.code from the body, e.g. TEMPLATE_NOT_FOUND
	Message    string        // the server's message
	RequestID  string        // X-Request-ID header, or error.request_id
	Fields     []FieldError  // per-field problems from the body's "errors"
	RetryAfter time.Duration // what the server asked to wait (Retry-After or error.retry_after)
	Attempts   int           // attempts made, retries included
	Err        error         // underlying cause, if any (context, network, ErrRedirect, ...)
	// URL is the URL requested, without its query, when the answer did not
	// come from the API (a 404 without the API's error body, an HTML page):
	// the base URL is then the likely mistake.
	URL string

	headline string   // replaces the status text when the client adds a reason (fail-fast waits)
	hint     string   // what to check, after the summary
	notes    []string // appended in the parenthesis (retry budget exhausted, ...)
}

// apiURLHint is the hint of an answer that did not come from the API.
const apiURLHint = "is api-url right? it should end in /api/v1"

// Error renders `get /path: message: field: problem (http 404 CODE, request id X, 3 attempts)`.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(strings.ToLower(e.Method))
	b.WriteByte(' ')
	b.WriteString(e.Path)
	b.WriteString(": ")
	b.WriteString(e.summary())
	if e.hint != "" {
		b.WriteString("; ")
		b.WriteString(e.hint)
	}

	var tail []string
	if e.Status != 0 {
		tail = append(tail, strings.TrimSpace("http "+strconv.Itoa(e.Status)+" "+e.Code))
	}
	if e.RequestID != "" {
		tail = append(tail, "request id "+e.RequestID)
	}
	if e.Attempts > 1 {
		tail = append(tail, strconv.Itoa(e.Attempts)+" attempts")
	}
	tail = append(tail, e.notes...)
	if len(tail) > 0 {
		b.WriteString(" (")
		b.WriteString(strings.Join(tail, ", "))
		b.WriteByte(')')
	}
	return b.String()
}

// maxFieldsShown bounds the field problems Error() lists.
const maxFieldsShown = 5

func (e *Error) summary() string {
	var parts []string
	if e.headline != "" {
		parts = append(parts, e.headline)
	}
	if e.Message != "" {
		parts = append(parts, e.Message)
	}
	if e.isPayloadMismatch() {
		parts = append(parts, "the server answered an earlier request with this Idempotency-Key and a different body")
	}
	if len(e.Fields) > 0 {
		var fs []string
		for i, f := range e.Fields {
			if i == maxFieldsShown {
				fs = append(fs, fmt.Sprintf("and %d more", len(e.Fields)-i))
				break
			}
			fs = append(fs, f.String())
		}
		parts = append(parts, strings.Join(fs, "; "))
	}
	if len(parts) == 0 && e.Err != nil {
		parts = append(parts, e.Err.Error())
	}
	if len(parts) == 0 {
		parts = append(parts, strings.ToLower(cmp.Or(http.StatusText(e.Status), "unexpected response")))
	}
	return strings.Join(parts, ": ")
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Hint is what to check, when the client knows (it is also in Error()): a
// base URL that does not end in /api/v1, or one that serves no template
// list. "" otherwise.
func (e *Error) Hint() string { return e.hint }

func (e *Error) isPayloadMismatch() bool {
	if e.Code == CodeIdempotencyPayloadMismatch {
		return true
	}
	if e.Code != "" || e.Status != http.StatusConflict {
		return false
	}
	// Older flat bodies carry no code: recognise the message.
	texts := []string{e.Message}
	for _, f := range e.Fields {
		texts = append(texts, f.Message)
	}
	for _, t := range texts {
		t = strings.ToLower(t)
		if strings.Contains(t, "idempotenc") &&
			(strings.Contains(t, "payload") || strings.Contains(t, "different") || strings.Contains(t, "mismatch")) {
			return true
		}
	}
	return false
}

// asError finds an *Error in err's chain.
func asError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// IsNotFound reports a 404 or a *_NOT_FOUND code.
func IsNotFound(err error) bool {
	e, ok := asError(err)
	return ok && (e.Status == http.StatusNotFound || strings.HasSuffix(e.Code, "NOT_FOUND"))
}

// IsPayloadMismatch reports a 409 IDEMPOTENCY_PAYLOAD_MISMATCH: the
// Idempotency-Key was used before with a different body.
func IsPayloadMismatch(err error) bool {
	e, ok := asError(err)
	return ok && e.isPayloadMismatch()
}

// IsRateLimited reports a 429 or a RATE_LIMITED code.
func IsRateLimited(err error) bool {
	e, ok := asError(err)
	return ok && (e.Status == http.StatusTooManyRequests || e.Code == CodeRateLimited)
}

// IsConflict reports a 409 of any code (payload mismatch, template in use).
func IsConflict(err error) bool {
	e, ok := asError(err)
	return ok && e.Status == http.StatusConflict
}

// cleanError hides a cause's text behind a cleaned copy, since transport
// errors can quote bytes the server sent.
type cleanError struct {
	msg string
	err error
}

func (e *cleanError) Error() string { return e.msg }
func (e *cleanError) Unwrap() error { return e.err }
