package diag

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxQuoted bounds how much of a user's value a message repeats.
const maxQuoted = 64

// Quote renders a user's value for a message: Go-quoted, so control
// characters cannot break the line, and shortened when long.
func Quote(s string) string {
	if utf8.RuneCountInString(s) > maxQuoted {
		r := []rune(s)
		return strconv.Quote(string(r[:maxQuoted])) + "..."
	}
	return strconv.Quote(s)
}

// JoinQuoted renders choices as "a", "b", "c".
func JoinQuoted(choices []string) string {
	q := make([]string, len(choices))
	for i, c := range choices {
		q[i] = strconv.Quote(c)
	}
	return strings.Join(q, ", ")
}

// Suggest returns the candidate closest to word, or "" when none is close.
// Case, '_' and '-' are ignored first, so memory_mib suggests memoryMib.
func Suggest(word string, candidates []string) string {
	fold := func(s string) string {
		return strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(s))
	}
	best, bestDist := "", -1
	for _, c := range candidates {
		if fold(c) == fold(word) {
			return c
		}
		d := distance(strings.ToLower(word), strings.ToLower(c))
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	limit := max(1, min(3, utf8.RuneCountInString(word)/3))
	if bestDist < 0 || bestDist > limit {
		return ""
	}
	return best
}

// distance is the edit distance between a and b, counting insertions,
// deletions, substitutions and swaps of adjacent characters (optimal string
// alignment), so "form" is one edit from "from".
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// FieldIndex appends a list index to a field path: a[2].
func FieldIndex(parent string, i int) string {
	return parent + "[" + strconv.Itoa(i) + "]"
}

// FieldKey appends a mapping key to a field path (a Diagnostic's Field):
// a.b for plain keys, a["odd key"] otherwise, so a key cannot inject text
// into the output.
func FieldKey(parent, key string) string {
	plain := key != ""
	for i, r := range key {
		if !(r == '_' || r == '-' && i > 0 || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' && i > 0) {
			plain = false
			break
		}
	}
	if !plain {
		return parent + "[" + Quote(key) + "]"
	}
	if parent == "" {
		return key
	}
	return parent + "." + key
}
