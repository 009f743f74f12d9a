package buildfail_test

import (
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/miosa-dev/sandbox-templates-action/internal/buildfail"
	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
	"github.com/miosa-dev/sandbox-templates-action/internal/textsafe"
)

// FuzzTail checks that every line Tail returns is one safe log line: no
// line break, unchanged by textsafe.LogLine, no workflow command marker,
// at most MaxLineBytes; and that Markdown keeps them all inside its block.
func FuzzTail(f *testing.F) {
	f.Add([]byte(buildLog), true, 50)
	f.Add([]byte("::error::x\n##[group]y\r\n```\n"), false, 2)
	f.Add([]byte("\xff\x1b[31m\u2028\u200b::a::b"), true, 0)
	f.Fuzz(func(t *testing.T, log []byte, partial bool, n int) {
		n = n % 100
		lines := buildfail.Tail(log, partial, n)
		if n > 0 && len(lines) > n || len(lines) > buildfail.TailLines && n <= 0 {
			t.Fatalf("%d lines for n = %d", len(lines), n)
		}
		for _, l := range lines {
			if strings.ContainsAny(l, "\r\n") || textsafe.LogLine(l) != l || len(l) > buildfail.MaxLineBytes {
				t.Fatalf("unsafe line %q", l)
			}
			if strings.HasPrefix(strings.TrimLeftFunc(l, unicode.IsSpace), "::") || strings.Contains(l, "##[") {
				t.Fatalf("line %q starts a workflow command", l)
			}
		}
		md := buildfail.Markdown(lines)
		if len(lines) == 0 {
			if md != "" {
				t.Fatalf("Markdown of no lines = %q", md)
			}
			return
		}
		out := strings.Split(strings.TrimSuffix(md, "\n"), "\n")
		// <details>, blank, opening fence, the lines, closing fence, blank, </details>
		if len(out) != len(lines)+6 {
			t.Fatalf("Markdown has %d lines for %d: %q", len(out), len(lines), md)
		}
		fence := strings.TrimSuffix(out[2], "text")
		for i, l := range out[3 : 3+len(lines)] {
			if l != lines[i] || closesFence(l, len(fence)) {
				t.Fatalf("line %d %q of the block differs from %q or closes fence %q", i, l, lines[i], fence)
			}
		}
		if out[3+len(lines)] != fence {
			t.Fatalf("block closed by %q, want %q", out[3+len(lines)], fence)
		}
	})
}

// fieldForm is what Locate's field may be.
var fieldForm = regexp.MustCompile(`^build_spec(\.steps\[[0-3]\]\.run)?$`)

// FuzzLocate checks that any error code and message give a position in the
// file and a field of the expected form.
func FuzzLocate(f *testing.F) {
	f.Add("BUILD_STEP_FAILED", "step 2 `npm ci` exited 1: ENOENT package-lock.json")
	f.Add("", "Step 3: ``npm run build``")
	f.Add("BUILD_STEP_FAILED", "step 5 `npm ci`")
	f.Add("X", "step -1 ``` ` ``")
	f.Fuzz(func(t *testing.T, code, msg string) {
		tpl, _ := spec.Parse("app.yaml", []byte(appYAML))
		line, col, field := buildfail.Locate(tpl, code, msg)
		if line < 3 || line > 11 || col < 1 || !fieldForm.MatchString(field) {
			t.Fatalf("Locate(%q, %q) = %d:%d %q", code, msg, line, col, field)
		}
	})
}
