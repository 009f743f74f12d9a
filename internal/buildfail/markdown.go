package buildfail

import (
	"strconv"
	"strings"

	"github.com/miosa-dev/sandbox-templates-action/internal/textsafe"
)

// Markdown renders lines (Tail's) for a job summary: a fenced code block
// inside a collapsed <details> whose summary says how many lines it holds.
// The fence is longer than any run of backticks in the lines, and each line
// passes textsafe.Line, so no line can end the block or the details early.
// No lines render as "".
func Markdown(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	longest := 0
	for _, l := range lines {
		run := 0
		for i := 0; i < len(l); i++ {
			if l[i] != '`' {
				run = 0
				continue
			}
			run++
			longest = max(longest, run)
		}
	}
	fence := strings.Repeat("`", max(3, longest+1))
	title := "Last " + strconv.Itoa(len(lines)) + " lines of the build log"
	if len(lines) == 1 {
		title = "Last line of the build log"
	}
	var b strings.Builder
	b.WriteString("<details><summary>" + title + "</summary>\n\n")
	b.WriteString(fence + "text\n")
	for _, l := range lines {
		b.WriteString(textsafe.Line(l))
		b.WriteByte('\n')
	}
	b.WriteString(fence + "\n\n</details>\n")
	return b.String()
}
