package miosa

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"

	"github.com/miosa-dev/sandbox-templates-action/internal/textsafe"
)

// maxURLShown bounds, in runes, a URL put in a message.
const maxURLShown = 200

// DisplayURL returns raw as a URL may be printed: scheme://host/path,
// without user information, query or fragment (any of which may hold a
// credential), with credential-looking values in what is left masked
// (textsafe.MaskSecrets), on one line of at most 200 characters. Text that
// does not parse as a URL is cut the same way: at the first "?" or "#", and
// everything up to the last "@" of its host part dropped.
func DisplayURL(raw string) string {
	raw = oneLine(raw, 64<<10) // what is cut here is cut at the end anyway
	var shown string
	if u, err := url.Parse(raw); err == nil && u.Opaque == "" {
		d := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
		shown = d.String()
	} else {
		shown = cutURL(raw)
	}
	shown = oneLine(textsafe.MaskSecrets(shown), maxURLShown)
	if u, err := url.Parse(shown); err == nil && u.User != nil {
		// What is left reads as user information ("//@x"): show its host.
		shown = (&url.URL{Scheme: u.Scheme, Host: u.Host}).String()
	}
	return shown
}

// cutURL drops the query, fragment and user information of text that does
// not parse as a URL, or is opaque (mailto:user@host): what follows the
// first "?" or "#", and the host part's text up to its last "@". The host
// part follows a leading "scheme://" or "//", else it starts the text.
func cutURL(s string) string {
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	prefix, rest := "", s
	if m := schemeSlashes.FindString(s); m != "" {
		prefix, rest = m, s[len(m):]
	}
	host, path, hasPath := strings.Cut(rest, "/")
	if i := strings.LastIndex(host, "@"); i >= 0 {
		host = host[i+1:]
	}
	if hasPath {
		host += "/" + path
	}
	if prefix == "" && strings.HasPrefix(host, "//") {
		host = "/" + strings.TrimLeft(host, "/") // no host part to read in it
	}
	return prefix + host
}

// schemeSlashes matches a leading "scheme://" or "//".
var schemeSlashes = regexp.MustCompile(`^(?:[A-Za-z][A-Za-z0-9+.-]*:)?//`)

// checkBaseURL parses the base URL and refuses what the client cannot use.
// Its errors show the URL only as DisplayURL does.
func checkBaseURL(base string) (*url.URL, error) {
	shown := DisplayURL(base)
	// New trims spaces around the URL (as the runner trims every input);
	// one inside it is a typo that would otherwise show as a bad port or a
	// 404 of a path with %20 in it.
	if i := strings.IndexFunc(base, unicode.IsSpace); i >= 0 {
		return nil, fmt.Errorf("miosa: base url %q holds a space at character %d; remove it from the api-url input (--api-url or MIOSA_API_URL for the CLI)",
			shown, utf8.RuneCountInString(base[:i])+1)
	}
	u, err := url.Parse(base)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text holds the whole URL
		}
		return nil, fmt.Errorf("miosa: base url %s is not a URL: %s", shown, oneLine(textsafe.MaskSecrets(err.Error()), maxText))
	}
	var problems []string
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		problems = append(problems, "want http(s)://host[/path]")
	}
	if u.User != nil {
		problems = append(problems, "credentials in the URL are never sent (the key goes in a header)")
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		problems = append(problems, "a query or fragment is not allowed")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("miosa: base url %s: %s", shown, strings.Join(problems, "; "))
	}
	return u, nil
}

// isLoopbackHost reports whether a URL's host name is "localhost" or a
// loopback address (127.0.0.0/8, ::1).
func isLoopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// publicAddr reports whether ip is an address on the public internet:
// not loopback, private, link-local, unspecified, multicast, shared
// (100.64.0.0/10), reserved or documentation space.
func publicAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsUnspecified() || ip.IsMulticast() ||
		ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// nonPublic are the prefixes, beyond what netip.Addr's methods name, that
// are not on the public internet.
var nonPublic = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8",       // "this network"
		"100.64.0.0/10",   // shared address space (carrier-grade NAT)
		"192.0.0.0/24",    // IETF protocol assignments
		"192.0.2.0/24",    // documentation
		"198.18.0.0/15",   // benchmarking
		"198.51.100.0/24", // documentation
		"203.0.113.0/24",  // documentation
		"240.0.0.0/4",     // reserved, and the broadcast address
		"64:ff9b::/96",    // NAT64, which can reach any IPv4 address
		"64:ff9b:1::/48",  // local-use NAT64
		"100::/64",        // discard
		"2001::/23",       // IETF protocol assignments (Teredo, ...)
		"2001:db8::/32",   // documentation
		"2002::/16",       // 6to4, which embeds any IPv4 address
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// addrRefused is the error of a dial to an address that is not public.
type addrRefused struct {
	ip netip.Addr
}

func (e *addrRefused) Error() string {
	return fmt.Sprintf("its host resolves to %s, which is not a public address", e.ip)
}

// dialPublicOnly is a net.Dialer Control function: it refuses, after name
// resolution and before connecting, any address that is not public, so a
// name that resolves (or is rebound) to an internal address gets nothing.
func dialPublicOnly(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !publicAddr(ip) {
		return &addrRefused{ip: ip}
	}
	return nil
}
