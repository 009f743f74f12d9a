package buildfail_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/miosa-dev/sandbox-templates-action/internal/buildfail"
	"github.com/miosa-dev/sandbox-templates-action/internal/golden"
)

// numbered returns lines "line 1" to "line n", each ended by a newline.
func numbered(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	return b.String()
}

func TestTail(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 300) // 600 bytes
	tests := []struct {
		name    string
		log     string
		partial bool
		n       int
		want    []string
	}{
		{"empty", "", false, 50, nil},
		{"only newlines", "\n\r\n\n", false, 50, nil},
		{"fewer lines than asked", "a\nb\n", false, 50, []string{"a", "b"}},
		{"no final newline", "a\nb", false, 50, []string{"a", "b"}},
		{"the last n", numbered(60), false, 3, []string{"line 58", "line 59", "line 60"}},
		{"zero means TailLines", numbered(60), false, 0, strings.Split(strings.TrimSuffix(numbered(60), "\n"), "\n")[10:]},
		{"partial first line dropped", "ne 7\nline 8\nline 9\n", true, 50, []string{"line 8", "line 9"}},
		{"a partial line is not dropped when it is all there is", "the end of a long line", true, 50, []string{"...the end of a long line"}},
		{"partial ending in its first newline", "ne 7\n", true, 50, nil},
		{"empty lines inside are kept", "a\n\nb\n\n\n", false, 50, []string{"a", "", "b"}},
		{"CRLF", "a\r\nb\r\n", false, 50, []string{"a", "b"}},
		{"carriage returns overwrite", "pulling 10%\rpulling 55%\rpulled\n", false, 50, []string{"pulled"}},
		{"colours and links removed", "\x1b[1;31merror\x1b[0m: \x1b]8;;https://x.test\x07link\x1b]8;;\x07 \x1b(Bok\n", false, 50, []string{"error: link ok"}},
		{"a bare escape is escaped", "a\x1bZ\x1b[\x1b\n", false, 50, []string{`a\u001b`}},
		{"workflow commands broken", "::error file=a::x\n  ::add-mask::y\nok ##[warning]z\n\u200b::set-output name=a::b\n", false, 50,
			[]string{`\x3a:error file=a::x`, `  \x3a:add-mask::y`, `ok ##\x5bwarning]z`, "\u200b\\x3a:set-output name=a::b"}},
		{"control characters and invalid UTF-8", "a\x00b\tc\xffd\u2028e\n", false, 50, []string{`a\u0000b\tc\xffd\u2028e`}},
		{"long line cut", long + "\n", false, 50, []string{strings.Repeat("é", 248) + "..."}},
		{"long partial fragment cut", long, true, 50, []string{"..." + strings.Repeat("é", 247) + "..."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := buildfail.Tail([]byte(tt.log), tt.partial, tt.n)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Tail (-want +got):\n%s", diff)
			}
			for _, l := range got {
				if len(l) > buildfail.MaxLineBytes {
					t.Errorf("line of %d bytes, over MaxLineBytes", len(l))
				}
			}
		})
	}
}

// buildLog is a failed build's log as a build tool prints it, with server
// text that tries to break out of the log and of the summary.
const buildLog = "ckages (3/12)\n" +
	"2026-11-29T10:38:01.000Z step 2/3: npm ci\n" +
	"2026-11-29T10:38:01.500Z   $ npm ci\n" +
	"\x1b[31mnpm ERR!\x1b[0m code ENOENT\r\n" +
	"npm ERR! path /workspace/package-lock.json\n" +
	"::error file=app.yaml,line=1::injected\n" +
	"##[group]injected\n" +
	"```\n" +
	"</details><script>alert(1)</script>\n" +
	"````` five backticks\n" +
	"2026-11-29T10:38:02.000Z error BUILD_STEP_FAILED: step 2 `npm ci` exited 1: ENOENT package-lock.json\n"

func TestTailAndMarkdownGolden(t *testing.T) {
	t.Parallel()
	got := buildfail.Markdown(buildfail.Tail([]byte(buildLog), true, buildfail.TailLines))
	golden.Testdata.Check(t, "summary.md", got)
}
