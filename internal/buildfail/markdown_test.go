package buildfail_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/miosa-dev/sandbox-templates-action/internal/buildfail"
)

func TestMarkdown(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		lines []string
		want  string
	}{
		{"no lines", nil, ""},
		{"one line", []string{"ok"}, "<details><summary>Last line of the build log</summary>\n\n```text\nok\n```\n\n</details>\n"},
		{"fence longer than any backtick run", []string{"a ``` b", "````", "`"},
			"<details><summary>Last 3 lines of the build log</summary>\n\n`````text\na ``` b\n````\n`\n`````\n\n</details>\n"},
		{"lines stay lines", []string{"a\nb\r```"}, "<details><summary>Last line of the build log</summary>\n\n````text\na\\nb\\r```\n````\n\n</details>\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, buildfail.Markdown(tt.lines)); diff != "" {
				t.Errorf("Markdown (-want +got):\n%s", diff)
			}
		})
	}
}

// closesFence reports whether line closes a backtick fence of length n in
// CommonMark: up to three spaces, at least n backticks, then only spaces
// or tabs.
func closesFence(line string, n int) bool {
	rest := strings.TrimLeft(line, " ")
	if len(line)-len(rest) > 3 {
		return false
	}
	ticks := len(rest) - len(strings.TrimLeft(rest, "`"))
	return ticks >= n && strings.Trim(rest[ticks:], " \t") == ""
}
