package textsafe

import (
	"testing"

	_ "github.com/miosa-dev/sandbox-templates-action/internal/golden" // defines -update for go test ./... -update
)

func TestLine(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"a\n::error::x", `a\n::error::x`},
		{"cr\rlf", `cr\rlf`},
		{"bell\a", `bell\u0007`},
		{"bad\xffutf8", `bad\xffutf8`},
		{"ls\u2028sep", `ls\u2028sep`},
		{"ünïcode ok", "ünïcode ok"},
	}
	for _, tt := range tests {
		if got := Line(tt.in); got != tt.want {
			t.Errorf("Line(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCell(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"node-22", "node-22"},
		{"a|b", `a\|b`},
		{"x\n| evil | row |", `x\\n\| evil \| row \|`},
		{"<img src=x>", "&lt;img src=x&gt;"},
		{"[link](http://x)", `\[link\](http://x)`},
	}
	for _, tt := range tests {
		if got := Cell(tt.in); got != tt.want {
			t.Errorf("Cell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	if got := Truncate("héllo world", 5); got != "h..." {
		t.Errorf("Truncate = %q", got)
	}
	if got := Truncate("short", 10); got != "short" {
		t.Errorf("Truncate = %q", got)
	}
}

func FuzzLine(f *testing.F) {
	f.Add("a\n::b")
	f.Add("\xff\xfe")
	f.Fuzz(func(t *testing.T, s string) {
		for _, out := range []string{Line(s), Cell(s)} {
			for i := 0; i < len(out); i++ {
				if out[i] == '\n' || out[i] == '\r' {
					t.Fatalf("output %q has a line break", out)
				}
			}
		}
	})
}

func TestCode(t *testing.T) {
	t.Parallel()
	if got, want := Code("BUILD_STEP_FAILED`|x\n"), `BUILD_STEP_FAILED'\|x\n`; got != want {
		t.Errorf("Code = %q, want %q", got, want)
	}
}
