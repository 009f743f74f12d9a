package buildfail

import (
	"bytes"
	"regexp"
	"strings"

	"github.com/miosa-dev/sandbox-templates-action/internal/textsafe"
)

// Bounds of Tail.
const (
	// TailLines is how many lines of a build log a run shows.
	TailLines = 50
	// MaxLineBytes bounds one line of Tail's result.
	MaxLineBytes = 500
)

// terminalEscape matches the terminal control sequences that build tools
// print for colours, cursor moves and links: CSI (ESC [ ... final), OSC
// (ESC ] ... BEL or ESC \) and the shorter escapes (ESC, intermediate
// bytes, a final byte: ESC ( B, ESC =, ...).
var terminalEscape = regexp.MustCompile(`\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[ -/]*[0-~]`)

// Tail returns the last n lines (TailLines when n is zero or less) of the
// end of a build log, each safe to print as one line of a log the runner
// reads for workflow commands (textsafe.LogLine) and at most MaxLineBytes
// long. partial says that log starts inside a line (miosa.LogTail.Partial):
// that first piece of a line is dropped, unless it is all there is, which
// is then shown after "...". Each line shows what a terminal would: the
// text after its last carriage return, without colour and other terminal
// escapes, with values that look like credentials masked
// (textsafe.MaskSecrets). Trailing empty lines are left out.
func Tail(log []byte, partial bool, n int) []string {
	if n <= 0 {
		n = TailLines
	}
	prefix := ""
	if partial {
		if i := bytes.IndexByte(log, '\n'); i >= 0 {
			log = log[i+1:]
		} else {
			prefix = "..."
		}
	}
	text := strings.TrimRight(string(log), "\r\n")
	if text == "" {
		return nil
	}
	raw := strings.Split(text, "\n")
	raw = raw[max(0, len(raw)-n):]
	lines := make([]string, len(raw))
	for i, l := range raw {
		l = strings.TrimRight(l, "\r")
		if j := strings.LastIndexByte(l, '\r'); j >= 0 {
			l = l[j+1:]
		}
		l = textsafe.MaskSecrets(terminalEscape.ReplaceAllString(l, ""))
		lines[i] = textsafe.Truncate(textsafe.LogLine(l), MaxLineBytes)
	}
	if prefix != "" {
		lines[0] = textsafe.Truncate(prefix+lines[0], MaxLineBytes)
	}
	return lines
}
