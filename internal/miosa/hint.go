package miosa

import (
	"crypto/tls"
	"errors"
	"net/url"
	"strings"
)

// transportHint says what to check after a request failed without an
// answer, or "" when the client cannot tell. The case it knows: an https://
// base URL pointed at a port that speaks plain HTTP, such as a local
// emulator's, where Go says "server gave HTTP response to HTTPS client" or
// "tls: first record does not look like a TLS handshake". The URL's scheme
// is then the likely mistake, and the hint gives the http:// URL to use.
func transportHint(base string, err error) string {
	if err == nil || !plainHTTPServer(err) {
		return ""
	}
	u, perr := url.Parse(base)
	if perr != nil || u.Scheme != "https" {
		return ""
	}
	plain := DisplayURL("http://" + u.Host + u.EscapedPath())
	hint := "the server at " + DisplayURL("https://"+u.Host) + " does not speak HTTPS: the api-url's scheme is probably wrong; "
	if isLoopbackHost(u.Hostname()) {
		hint += "for a local emulator use " + plain
	} else {
		hint += "if the server serves plain http, use " + plain + " with allow-insecure-http: true (the key then travels unencrypted)"
	}
	return hint
}

// plainHTTPServer reports a TLS handshake that met a server speaking plain
// HTTP (or anything that is not TLS).
func plainHTTPServer(err error) bool {
	var rec tls.RecordHeaderError
	return errors.As(err, &rec) || strings.Contains(err.Error(), "server gave HTTP response to HTTPS client")
}
