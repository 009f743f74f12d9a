package wording

import (
	"testing"

	_ "github.com/miosa-dev/sandbox-templates-action/internal/golden" // defines -update for go test ./... -update
)

func TestSuggest(t *testing.T) {
	t.Parallel()
	keys := []string{"from", "steps", "memoryMib", "previewPort", "description", "build_spec"}
	tests := []struct{ word, want string }{
		{"form", "from"},
		{"stpes", "steps"},
		{"memory_mib", "memoryMib"},
		{"preview_port", "previewPort"},
		{"descripton", "description"},
		{"buildspec", "build_spec"},
		{"zzz", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Suggest(tt.word, keys); got != tt.want {
			t.Errorf("Suggest(%q) = %q, want %q", tt.word, got, tt.want)
		}
	}
}

func TestQuote(t *testing.T) {
	t.Parallel()
	if got := Quote("a\nb"); got != `"a\nb"` {
		t.Errorf("Quote = %s", got)
	}
	long := Quote(string(make([]byte, 100)))
	if len(long) > 4*MaxQuoted+10 || long[len(long)-3:] != "..." {
		t.Errorf("long value not shortened: %s", long)
	}
	if got := JoinQuoted([]string{"xs", "small"}); got != `"xs", "small"` {
		t.Errorf("JoinQuoted = %s", got)
	}
}
