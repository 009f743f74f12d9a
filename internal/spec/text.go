package spec

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// oddName says what is wrong with a file name that could break a log line or
// start a GitHub workflow command, or "" when the name is fine.
func oddName(name string) string {
	if !utf8.ValidString(name) {
		return "file name is not valid UTF-8"
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return "file name contains a control or invisible character (" + strconv.QuoteRuneToASCII(r) + ")"
		}
	}
	if strings.Contains(name, "::") {
		return `file name contains "::", which could start a workflow command in the log`
	}
	return ""
}

// displayPath is the path as shown in diagnostics: quoted when the name is
// odd, so it can never start a workflow command or span lines.
func displayPath(rel string) string {
	if oddName(rel) != "" {
		return strconv.QuoteToASCII(rel)
	}
	return rel
}
