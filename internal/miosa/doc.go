// Package miosa is the client for the Miosa sandbox-templates API, as
// Miosa's SDKs, CLIs and server code show it.
//
// It reads every response variant they show (bare or {"data": ...}
// envelopes, list rows or full templates, older build states, numbers sent as
// strings), turns every error body form into one typed *Error, and retries
// under the page's retry policy: transient statuses and connection errors on
// GETs, on POSTs that carry an Idempotency-Key and on the validate POST
// (which changes nothing), full-jitter exponential backoff, a bounded number
// of attempts per request, a retry budget per client, and Retry-After
// honoured up to a cap and never past the context's deadline.
//
// Lists are streams: each page is decoded row by row, every row (and
// every other member of a page) bounded to MaxRowSize and a whole list to
// MaxListRows, never the body as a whole; single objects are read up to
// MaxBodySize. A list follows the pages the server announces (a page
// object, a next link in the body, a Link header; see eachRow), asking for
// PageSize rows, refuses a page already read and a next link away from the
// base URL, and EachBuild stops asking once its caller has what it needs.
// Each client's requests share one transport (NewTransport) that keeps an
// idle connection for each of its workers.
//
// A 429 is flow control rather than a failure. All requests of a client go
// through one limiter. From the first answer with rate-limit headers
// (X-RateLimit-*, RateLimit-* or RateLimit) it paces to the budget they
// announce, spreading what is left until the reset and sending nothing with
// none left. For a limit the server does not announce, a 429 pauses every
// request until the Retry-After has passed (a second at least when it
// gives none) and then sets a request rate, estimated from the 429s, that
// stays just under the rate a 429 was met at (see limiter). Retries after
// a 429 spend neither the request's attempts nor the retry budget; the
// context's deadline bounds them.
//
// The API key never appears in an error, a log line or a formatted Client or
// Options value, and server-provided text that echoes the key (or any eight
// or more consecutive characters of it) is redacted before it reaches an
// error. The key goes only to the API's origin: New refuses a base URL of
// plain http to a host that is not loopback (unless
// Options.AllowInsecureHTTP), redirects are never followed, and build logs
// on another origin are fetched without it, over https, from public
// addresses only (BuildLogTail). Every URL the client puts in a message is
// shown as DisplayURL shows it: no user information, query or fragment.
package miosa
