package prcomment

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzBody(f *testing.F) {
	f.Add("w/j", "", "## Plan\n```diff\n+ a\n", 70000, "https://github.com/o/r/actions/runs/1")
	f.Add("a-->b", "0123456789abcdef0123456789abcdef01234567", "<details>\n~~~\nx\n", 65536, "")
	f.Add("", "x -->\n<!--", "é", 40000, "javascript:alert(1)")
	f.Fuzz(func(t *testing.T, marker, head, chunk string, size int, runURL string) {
		if chunk == "" || size < 0 || size > 1<<18 {
			return
		}
		md := strings.Repeat(chunk, size/len(chunk)+1)
		body, cut := truncate(marker, head, md, runURL)
		first, rest, _ := strings.Cut(body, "\n")
		second, _, _ := strings.Cut(rest, "\n")
		switch {
		case len(body) > MaxLen:
			t.Fatalf("%d bytes", len(body))
		case first != markerLine(marker) || strings.Count(first, "-->") != 1:
			t.Fatalf("first line %q", first)
		case head != "" && (second != headLine(head) || strings.Count(second, "-->") != 1 || strings.Count(second, "<!--") != 1):
			t.Fatalf("second line %q", second)
		case cut != strings.Contains(body, "**Cut to fit"):
			t.Fatalf("cut %v, body ends %q", cut, body[max(len(body)-200, 0):])
		case cut && utf8.ValidString(md) && !utf8.ValidString(body):
			t.Fatal("cut inside a character")
		}
		if cut && strings.Contains(body, "job summary](<") && !strings.HasPrefix(runURL, "http") {
			t.Fatalf("linked %q", runURL)
		}
	})
}
