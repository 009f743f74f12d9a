package schema

import (
	"strings"

	"github.com/miosa-dev/sandbox-templates-action/internal/wording"
)

// sanitize replaces control characters in text from the schema library or a
// server schema, so a message stays on one line.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// fieldKey appends a mapping key to a field path: a.b for plain keys,
// a["odd key"] otherwise, so a key cannot inject text into the output.
func fieldKey(parent, key string) string {
	plain := key != ""
	for i, r := range key {
		if !(r == '_' || r == '-' && i > 0 || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' && i > 0) {
			plain = false
			break
		}
	}
	if !plain {
		return parent + "[" + wording.Quote(key) + "]"
	}
	return parent + "." + key
}
