// Package doctor checks what a Miosa server supports, with a real key, before
// the action runs against it: whether the URL answers (telling DNS, refused
// connections, TLS and HTTP problems apart), whether the key is accepted,
// the list's shape, the build-spec schema endpoint and how it differs from
// the embedded schema, the validate endpoint, rate-limit headers, the server's
// clock and request ids.
//
// It is read-only: it sends GET /sandbox-templates, GET
// /sandbox-templates/build-spec and POST /sandbox-templates/validate (which
// changes nothing), each once, plus one retry after a 429, and, when the
// URL's path looks wrong, one GET to the address it suggests. It never
// creates, builds or deletes anything, and never prints the key, nor the
// URL's user information or query. Plain http to a host that is not
// loopback fails the url check before any request, unless
// Config.AllowInsecureHTTP allows it (then it warns).
//
// Run returns a Report of Checks, each ok, warn or fail (or skip when an
// earlier failure makes it meaningless). The action can work when no check
// failed. Report renders as text, one line per check, and as JSON.
package doctor
