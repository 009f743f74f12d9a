// Package miosa is the client for the Miosa sandbox-templates API as described
// in shared/api/sandbox-templates-api.md.
//
// It reads every response variant that page lists (bare or {"data": ...}
// envelopes, list rows or full templates, older build states, numbers sent as
// strings), turns every error body form into one typed *Error, and retries
// under the page's retry policy: transient statuses and connection errors on
// GETs and on POSTs that carry an Idempotency-Key, full-jitter exponential
// backoff, a bounded number of attempts per request, a retry budget per
// client, and Retry-After honoured up to a cap and never past the context's
// deadline.
//
// A 429 is flow control rather than a failure. All requests of a client share
// one adaptive rate limit: the first 429 pauses every request until the
// Retry-After has passed, then limits the request rate to a little under
// what the server accepted in the second before the 429; answers without a
// 429 raise it again, additively (AIMD). Retries after a 429 spend neither the request's
// attempts nor the retry budget; the context's deadline bounds them.
//
// The API key never appears in an error, a log line or a formatted Client or
// Options value, and server-provided text that echoes the key (or any eight
// or more consecutive characters of it) is redacted before it reaches an
// error.
package miosa
