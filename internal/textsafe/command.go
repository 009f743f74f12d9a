package textsafe

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"unicode"
)

// The GitHub runner reads every line a step prints, on stdout and stderr, for
// workflow commands. ActionCommandManager.TryProcessCommand (actions/runner,
// src/Runner.Worker) tries two parsers of ActionCommand
// (src/Runner.Common/ActionCommand.cs), the second when the first fails:
//
//   - TryParseV2: the line, after String.TrimStart() (which drops every
//     leading char that char.IsWhiteSpace accepts: U+0009 to U+000D, U+0020,
//     U+0085, U+00A0, U+1680, U+2000 to U+200A, U+2028, U+2029, U+202F,
//     U+205F, U+3000), starts with "::"; the next "::" ends the command
//     name and its properties ("name k=v,k=v"), and the data follows.
//   - TryParse, the legacy form: "##[" anywhere in the line, then the name
//     and properties ("name k=v;k=v") up to the next "]", then the data.
//
// Command names are case-insensitive, and after stop-commands any name (the
// resume token) is one. Data is unescaped %0D, %0A, %25; V2 properties also
// %3A and %2C. StartsWith and IndexOf with a string argument compare
// culture-sensitively, and with ICU that skips ignorable characters such as
// U+200B or U+00AD, so this package treats invisible characters between and
// before the marker characters as absent.

// LogLine returns s as one line of a log that the runner reads for workflow
// commands: Line, then the two markers are broken so that neither parser
// matches. A line that starts with "::" once leading whitespace and
// invisible characters are skipped gets its first colon written as \x3a;
// every "[" that follows "##" is written as \x5b. What the reader sees is
// otherwise unchanged.
func LogLine(s string) string {
	s = Line(s)
	if i := commandColon(s); i >= 0 {
		s = s[:i] + `\x3a` + s[i+1:]
	}
	return breakLegacy(s)
}

// commandColon returns the byte offset of the colon that starts a V2
// command in s, or -1 when s does not start one.
func commandColon(s string) int {
	first := -1
	for i, r := range s {
		switch {
		case first < 0 && (runnerSpace(r) || invisible(r)):
		case first < 0 && r == ':':
			first = i
		case first >= 0 && invisible(r):
		case first >= 0 && r == ':':
			return first
		default:
			return -1
		}
	}
	return -1
}

// breakLegacy writes every "[" that follows "##" (invisible characters
// between them ignored) as \x5b.
func breakLegacy(s string) string {
	if !strings.Contains(s, "#") || !strings.Contains(s, "[") {
		return s
	}
	var b strings.Builder
	hashes := 0
	for _, r := range s {
		switch {
		case r == '#':
			hashes = min(hashes+1, 2)
		case r == '[' && hashes == 2:
			b.WriteString(`\x5b`)
			hashes = 0
			continue
		case invisible(r):
		default:
			hashes = 0
		}
		b.WriteRune(r)
	}
	return b.String()
}

// runnerSpace reports whether C#'s char.IsWhiteSpace accepts r, which is
// what String.TrimStart drops.
func runnerSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', '\u0085', '\u00a0', '\u1680',
		'\u2028', '\u2029', '\u202f', '\u205f', '\u3000':
		return true
	}
	return r >= '\u2000' && r <= '\u200a' || unicode.IsSpace(r)
}

// invisible reports characters that a culture-sensitive comparison may
// skip: controls, format characters (U+200B, U+00AD, U+FEFF, bidi marks),
// combining marks, variation selectors and the other default-ignorable code
// points.
func invisible(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Mn, unicode.Me,
		unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point)
}

// commands are the workflow commands a Writer issues; any other name is
// refused.
var commands = []string{"add-mask", "debug", "endgroup", "error", "group", "notice", "warning"}

// ErrCommand is returned for a command a Writer does not issue.
var ErrCommand = errors.New("textsafe: workflow command not allowed")

// maxLine is the longest line a Writer holds back waiting for its end; a
// longer one is cut there and the rest starts a new (escaped) line.
const maxLine = 64 << 10

// Writer is the only way to a log that the runner reads for workflow
// commands. Everything written to it is cut into lines, and each line is
// printed through LogLine, so no text written can issue a command; only
// Command issues one. It is safe for concurrent use. The first write error
// is kept and returned by every later call.
type Writer struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte // the start of a line whose end has not been written yet
	err error
}

// NewWriter returns a Writer printing to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write prints each complete line of p through LogLine. A line's end may
// come in a later Write; Flush prints what is left.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	rest := p
	for len(rest) > 0 {
		i := slices.Index(rest, '\n')
		if i < 0 {
			w.buf = append(w.buf, rest...)
			if len(w.buf) > maxLine {
				w.line()
			}
			break
		}
		w.buf = append(w.buf, rest[:i]...)
		w.line()
		rest = rest[i+1:]
	}
	return len(p), w.err
}

// line prints the held line and empties it. A CR before the LF is the
// line's end, not part of it.
func (w *Writer) line() {
	l := strings.TrimSuffix(string(w.buf), "\r")
	w.buf = w.buf[:0]
	w.print(LogLine(l) + "\n")
}

func (w *Writer) print(s string) {
	if w.err == nil {
		_, w.err = io.WriteString(w.w, s)
	}
}

// Flush prints a line that was written without its end.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.line()
	}
	return w.err
}

// Err returns the first error writing to the underlying writer.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Command issues the workflow command `::name k=v,...::msg` on a line of its
// own, with the properties in key order. msg and the property values are
// escaped as the runner unescapes them (%25, %0D, %0A; in properties also
// %3A and %2C), so the runner reads back exactly msg and the values. name
// must be one of add-mask, debug, endgroup, error, group, notice, warning,
// and property keys lowercase letters.
func (w *Writer) Command(name string, props map[string]string, msg string) error {
	line, err := commandLine(name, props, msg)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.line()
	}
	w.print(line + "\n")
	return w.err
}

// commandLine formats one workflow command.
func commandLine(name string, props map[string]string, msg string) (string, error) {
	if !slices.Contains(commands, name) {
		return "", fmt.Errorf("%w: %q", ErrCommand, name)
	}
	var b strings.Builder
	b.WriteString("::")
	b.WriteString(name)
	keys := make([]string, 0, len(props))
	for k := range props {
		if k == "" || strings.TrimFunc(k, func(r rune) bool { return r >= 'a' && r <= 'z' }) != "" {
			return "", fmt.Errorf("%w: property key %q", ErrCommand, k)
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i == 0 {
			b.WriteByte(' ')
		} else {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(escapeCommand(props[k], true))
	}
	b.WriteString("::")
	b.WriteString(escapeCommand(msg, false))
	return b.String(), nil
}

// escapeCommand escapes a command's data, or with property set a property
// value, the way actions/toolkit does and the runner undoes.
func escapeCommand(s string, property bool) string {
	if !strings.ContainsAny(s, "%\r\n") && (!property || !strings.ContainsAny(s, ":,")) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '%':
			b.WriteString("%25")
		case c == '\r':
			b.WriteString("%0D")
		case c == '\n':
			b.WriteString("%0A")
		case property && c == ':':
			b.WriteString("%3A")
		case property && c == ',':
			b.WriteString("%2C")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
