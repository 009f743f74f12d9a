package miosa

import (
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// redacted replaces secrets and fragments of secrets in text.
const redacted = "[REDACTED]"

// minFragment is the length from which a substring of the key counts as a
// leak and is redacted.
const minFragment = 8

// maxText bounds, in runes, any one server-provided string put in an error.
const maxText = 500

// secret holds the API key. It prints as [REDACTED] under every fmt verb, so a
// Client that holds it can never print it by accident.
type secret string

// Format implements fmt.Formatter.
func (secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// redact replaces every occurrence in s of the key, and of any substring of
// the key at least minFragment bytes long (or the whole key when it is
// shorter), with [REDACTED].
func (k secret) redact(s string) string {
	key := string(k)
	if key == "" {
		return s
	}
	minLen := min(minFragment, len(key))
	if len(s) < minLen {
		return s
	}
	// mask[i] is true when byte i of s belongs to a fragment of the key.
	var mask []bool
	for i := 0; i+minLen <= len(s); i++ {
		longest := 0
		for j := 0; j+minLen <= len(key); j++ {
			n := 0
			for i+n < len(s) && j+n < len(key) && s[i+n] == key[j+n] {
				n++
			}
			longest = max(longest, n)
		}
		if longest < minLen {
			continue
		}
		if mask == nil {
			mask = make([]bool, len(s))
		}
		for n := range longest {
			mask[i+n] = true
		}
	}
	if mask == nil {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if !mask[i] {
			b.WriteByte(s[i])
			continue
		}
		b.WriteString(redacted)
		for i+1 < len(s) && mask[i+1] {
			i++
		}
	}
	return b.String()
}

// clean makes server-provided text safe to show: control and formatting
// characters become spaces, runs of white space collapse to one, the text is
// cut to maxText runes, and the key and its fragments are redacted last so
// that nothing done before can rebuild a fragment.
func (k secret) clean(s string) string {
	return k.redact(oneLine(s, maxText))
}

// oneLine turns s into a single trimmed line of at most limit runes.
func oneLine(s string, limit int) string {
	var b strings.Builder
	space := false
	runes := 0
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.IsSpace(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) {
			space = b.Len() > 0
			continue
		}
		if runes >= limit {
			b.WriteString("...")
			break
		}
		if space {
			b.WriteByte(' ')
			space = false
			runes++
		}
		b.WriteRune(r)
		runes++
	}
	return b.String()
}
