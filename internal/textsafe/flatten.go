package textsafe

import (
	"strings"
	"unicode"
)

// Flatten returns a library's or a server's message on one line: control
// characters (newlines included) and line separators become spaces, where
// Line would show them as escapes. It is for text whose line breaks are
// layout, such as a wrapped parser error, not part of a user's value.
func Flatten(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
}
