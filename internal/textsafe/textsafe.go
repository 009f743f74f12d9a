package textsafe

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Line returns s on one line: control characters (newlines included) and
// invalid UTF-8 are written as Go escapes, so s cannot end the current log
// line and start a workflow command such as "::set-output".
func Line(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			if r < 0x10000 {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				fmt.Fprintf(&b, `\U%08x`, r)
			}
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}

func needsEscape(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return true
		}
	}
	return false
}

// zwj is U+200D ZERO WIDTH JOINER. Written after a character, it shows
// nothing, but no mention, autolink or issue reference can run across it.
const zwj = '\u200d'

// Cell returns s as the text of one Markdown table cell, or of a line of
// Markdown: credentials masked (MaskSecrets), on one line, with pipes
// escaped and HTML and Markdown markup characters neutralised, so an
// untrusted value cannot add a column, a row, a link or raw HTML. It cannot
// mention or autolink either: a zero width joiner follows every "@" (no
// @user, @org/team or e-mail address), every ":" before "/" or "\\" (no
// https://...), every dot before a letter or digit (no www.evil.example, no
// bare evil.example or 192.0.2.1, which mail clients link) and every "#"
// before a digit (no #123 reference).
func Cell(s string) string {
	s = Line(MaskSecrets(s))
	var b strings.Builder
	for i, r := range s {
		switch r {
		case '|', '\\', '`', '*', '_', '[', ']', '#', '!', '~':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		default:
			b.WriteRune(r)
		}
		if linkAfter(r, func() rune { return nextVisible(s[i+utf8.RuneLen(r):]) }) {
			b.WriteRune(zwj)
		}
	}
	return b.String()
}

// linkAfter reports whether r followed by the rune next returns can start
// or continue a mention, a link or a reference, so that Cell breaks them
// apart.
func linkAfter(r rune, next func() rune) bool {
	switch r {
	case '@':
		return true
	case ':':
		n := next()
		return n == '/' || n == '\\'
	case '.', '\u3002', '\uff0e', '\uff61': // the dots that hosts are written with
		n := next()
		return unicode.IsLetter(n) || unicode.IsDigit(n)
	case '#':
		return unicode.IsDigit(next())
	}
	return false
}

// maxInvisible bounds how many invisible runes nextVisible skips.
const maxInvisible = 16

// nextVisible returns the first rune of s that is not invisible, or 0 at
// its end. After maxInvisible invisible runes it gives up and returns 'x',
// a letter, so that the caller breaks what may follow.
func nextVisible(s string) rune {
	n := 0
	for _, r := range s {
		if !invisible(r) {
			return r
		}
		if n++; n > maxInvisible {
			return 'x'
		}
	}
	return 0
}

// Truncate shortens s to at most n bytes on a rune boundary, marking the cut
// with an ellipsis. A credential (see Secrets) that the cut would split, or
// whose context (the "@" after a URL's password) it would cut off, is left
// out whole: cut, it no longer looks like one, and masking the shortened
// text (MaskSecrets) would show it.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := max(n-3, 0)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:clearOfCredentials(s, cut)] + "..."
}

// clearOfCredentials moves cut, an index into s, back to the start of any
// credential of s that it falls in: in the credential's value, wherever
// it occurs, or in the text around it that makes it one.
func clearOfCredentials(s string, cut int) int {
	secrets := Secrets(s)
	if len(secrets) == 0 {
		return cut
	}
	lower := strings.ToLower(s)
	for moved := true; moved; {
		moved = false
		for _, v := range secrets {
			for i := strings.Index(s, v); i >= 0 && i < cut; i = nextIndex(s, v, i) {
				if i+len(v) > cut {
					cut, moved = i, true
					break
				}
			}
		}
		for _, c := range credentials {
			if !strings.Contains(lower, c.needle) {
				continue
			}
			for _, m := range c.re.FindAllStringSubmatchIndex(s, -1) {
				if m[2] < cut && m[1] > cut {
					cut, moved = m[2], true
				}
			}
		}
	}
	return cut
}

// nextIndex is the index of the next occurrence of v in s after the one at
// i, or -1.
func nextIndex(s, v string, i int) int {
	j := strings.Index(s[i+1:], v)
	if j < 0 {
		return -1
	}
	return i + 1 + j
}

// Code returns s for a Markdown code span inside a table cell: credentials
// masked (MaskSecrets), on one line, with backticks replaced (a span cannot
// escape them) and pipes escaped. In a code span nothing mentions or links.
func Code(s string) string {
	return strings.NewReplacer("`", "'", "|", `\|`).Replace(Line(MaskSecrets(s)))
}
