package textsafe

import (
	"strings"
	"testing"
)

func TestFlatten(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"plain", "plain", "plain"},
		{"newline", "yaml: line 3:\n  mapping values", "yaml: line 3:   mapping values"},
		{"carriage return", "a\r\n::error::x", "a  ::error::x"},
		{"tab and delete", "a\tb\x7f", "a b "},
		{"C1 next line", "a\u0085b", "a b"},
		{"line separator", "ls\u2028ps\u2029", "ls ps "},
		{"unicode", "ünïcode ok", "ünïcode ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Flatten(tt.in); got != tt.want {
				t.Errorf("Flatten(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzFlatten checks that Flatten's output never holds a line break.
func FuzzFlatten(f *testing.F) {
	f.Add("a\n::b")
	f.Add("\xff\u2028\u0085")
	f.Fuzz(func(t *testing.T, s string) {
		if out := Flatten(s); strings.ContainsAny(out, "\n\r\u2028\u2029\u0085") {
			t.Fatalf("Flatten(%q) = %q has a line break", s, out)
		}
	})
}
