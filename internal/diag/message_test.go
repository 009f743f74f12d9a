package diag

import (
	"strings"
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
		t.Run(tt.word, func(t *testing.T) {
			t.Parallel()
			if got := Suggest(tt.word, keys); got != tt.want {
				t.Errorf("Suggest(%q) = %q, want %q", tt.word, got, tt.want)
			}
		})
	}
}

func TestDistance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"from", "from", 0},
		{"form", "from", 1}, // a swap is one edit
		{"from", "fro", 1},
		{"kitten", "sitting", 3},
		{"é", "e", 1}, // runes, not bytes
	}
	for _, tt := range tests {
		if got := distance(tt.a, tt.b); got != tt.want {
			t.Errorf("distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestQuote(t *testing.T) {
	t.Parallel()
	if got := Quote("a\nb"); got != `"a\nb"` {
		t.Errorf("Quote = %s", got)
	}
	long := Quote(string(make([]byte, 100)))
	if len(long) > 4*maxQuoted+10 || !strings.HasSuffix(long, "...") {
		t.Errorf("long value not shortened: %s", long)
	}
	if got := JoinQuoted([]string{"xs", "small"}); got != `"xs", "small"` {
		t.Errorf("JoinQuoted = %s", got)
	}
}

func TestFieldIndex(t *testing.T) {
	t.Parallel()
	if got := FieldIndex(FieldKey("build_spec", "steps"), 2); got != "build_spec.steps[2]" {
		t.Errorf("FieldIndex = %q", got)
	}
}

func TestFieldKey(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, parent, key, want string }{
		{"top level", "", "build_spec", "build_spec"},
		{"nested", "build_spec", "memoryMib", "build_spec.memoryMib"},
		{"dash inside", "metadata", "team-name", "metadata.team-name"},
		{"leading dash", "metadata", "-x", `metadata["-x"]`},
		{"leading digit", "ports", "8080", `ports["8080"]`},
		{"space", "metadata", "odd key", `metadata["odd key"]`},
		{"newline", "metadata", "a\n::error::x", `metadata["a\n::error::x"]`},
		{"empty", "metadata", "", `metadata[""]`},
		{"odd at top level", "", "a.b", `["a.b"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := FieldKey(tt.parent, tt.key); got != tt.want {
				t.Errorf("FieldKey(%q, %q) = %q, want %q", tt.parent, tt.key, got, tt.want)
			}
		})
	}
}
