package prcomment

import (
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// MaxLen is the longest body Post sends, in bytes: GitHub's limit of 65,536
// characters. A character is at least one byte in UTF-8 and never more
// UTF-16 units than bytes, so a body within MaxLen bytes fits however GitHub
// counts.
const MaxLen = 65536

// markerPrefix starts the hidden first line of every comment of this action.
const markerPrefix = "<!-- sandbox-templates-action: "

// headPrefix starts the hidden second line, naming the pull request head
// the comment was written for.
const headPrefix = "<!-- sandbox-templates head: "

// markerLine returns the hidden first line of the comment marked marker.
func markerLine(marker string) string {
	return markerPrefix + escapeMarker(marker) + " -->"
}

// escapeMarker percent-encodes what could end the HTML comment or the line:
// bytes outside printable ASCII, "<", ">" and the second "-" of every "--".
func escapeMarker(m string) string {
	var b strings.Builder
	for i := 0; i < len(m); i++ {
		c := m[i]
		if c < 0x20 || c >= 0x7f || c == '<' || c == '>' || (c == '-' && i > 0 && m[i-1] == '-') {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// headLine returns the hidden line recording the pull request head sha a
// comment was written for, escaped as the marker is.
func headLine(sha string) string {
	return headPrefix + escapeMarker(sha) + " -->"
}

// Body returns the comment Post sends for markdown: the hidden marker line,
// the hidden line naming headSHA (the pull request head the text is for;
// none when it is ""), then markdown, cut on a line boundary to at most
// MaxLen bytes when it is longer, with any open code fence or <details>
// closed and a last line pointing at the job summary on runURL (the run's
// page; may be empty).
func Body(marker, headSHA, markdown, runURL string) string {
	body, _ := truncate(marker, headSHA, markdown, runURL)
	return body
}

// truncate returns the body and whether markdown was cut.
func truncate(marker, headSHA, markdown, runURL string) (string, bool) {
	head := markerLine(marker) + "\n"
	if headSHA != "" {
		head += headLine(headSHA) + "\n"
	}
	text := strings.TrimRight(markdown, "\n") + "\n"
	if len(head)+len(text) <= MaxLen {
		return head + text, false
	}
	note := cutNote(runURL)
	var b strings.Builder
	b.WriteString(head)
	var st blocks
	for _, line := range strings.SplitAfter(text, "\n") {
		next := st.after(line)
		if b.Len()+len(line)+len(next.closers())+len(note) > MaxLen {
			break
		}
		b.WriteString(line)
		st = next
	}
	b.WriteString(st.closers())
	b.WriteString(note)
	return b.String(), true
}

// cutNote is the last part of a cut body.
func cutNote(runURL string) string {
	where := "this run's job summary"
	if linkable(runURL) {
		where = "the [job summary](<" + runURL + ">)"
	}
	return "\n---\n\n**Cut to fit GitHub's limit of 65,536 characters.** The full text is in " + where + ".\n"
}

// linkable reports whether runURL can be the target of a Markdown link,
// written <runURL>: an http(s) URL that cannot end the link or the line.
func linkable(runURL string) bool {
	u, err := url.Parse(runURL)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" &&
		!strings.ContainsAny(runURL, "<>\n\r") && utf8.ValidString(runURL)
}

// Room is how long the markdown given to Post may be without being cut:
// MaxLen less the hidden lines. Markdown fits a comment in it.
func (c Config) Room() int {
	n := MaxLen - len(markerLine(c.Marker)) - 2
	if c.HeadSHA != "" {
		n -= len(headLine(c.HeadSHA)) + 1
	}
	return n
}

// blocks is what is open at a point of a Markdown text: a fenced code block
// (its fence) and <details> elements.
type blocks struct {
	fence   string // the opening fence ("```", "~~~~"), or "" outside a code block
	details int    // <details> opened and not yet closed
}

// after returns the state after line.
func (s blocks) after(line string) blocks {
	t := strings.TrimRight(line, "\r\n")
	indent := len(t) - len(strings.TrimLeft(t, " "))
	t = strings.TrimLeft(t, " ")
	if s.fence != "" {
		if indent <= 3 && strings.HasPrefix(t, s.fence) && strings.Trim(t, s.fence[:1]+" \t") == "" {
			s.fence = ""
		}
		return s
	}
	if indent <= 3 {
		for _, c := range []string{"`", "~"} {
			if n := len(t) - len(strings.TrimLeft(t, c)); n >= 3 && !(c == "`" && strings.Contains(t[n:], "`")) {
				s.fence = strings.Repeat(c, n)
				return s
			}
		}
	}
	lower := strings.ToLower(t)
	s.details = max(s.details+strings.Count(lower, "<details")-strings.Count(lower, "</details>"), 0)
	return s
}

// closers returns the lines that close what is open.
func (s blocks) closers() string {
	var b strings.Builder
	if s.fence != "" {
		b.WriteString(s.fence + "\n")
	}
	for range s.details {
		b.WriteString("</details>\n")
	}
	return b.String()
}
