package textsafe

import (
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

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
	const j = "\u200d" // the zero width joiner Cell writes
	tests := []struct{ in, want string }{
		{"node-22", "node-22"},
		{"a|b", `a\|b`},
		{"x\n| evil | row |", `x\\n\| evil \| row \|`},
		{"<img src=x>", "&lt;img src=x&gt;"},
		{"[link](http://x)", `\[link\](http:` + j + `//x)`},
		{"ping @octocat and @org/team", "ping @" + j + "octocat and @" + j + "org/team"},
		{"mail admin@evil.example", "mail admin@" + j + "evil." + j + "example"},
		{"see www.evil.example/login", "see www." + j + "evil." + j + "example/login"},
		{"go to https://x now", "go to https:" + j + "//x now"},
		{"HTTPS:\\\\evil", `HTTPS:` + j + `\\\\evil`},
		{"bare evil.example", "bare evil." + j + "example"},
		{"dots behind invisibles evil.\u00adexample", "dots behind invisibles evil." + j + "\u00adexample"},
		{"ideographic evil\u3002example", "ideographic evil\u3002" + j + "example"},
		{"fixes #12", `fixes \#` + j + "12"},
		{"the end. Next", "the end. Next"},
		{"version 3.12", "version 3." + j + "12"},
		{"token ghp_abcdefghijklmnop0123", "token \\*\\*\\*"},
		{"https://user:hunter22@host/x", "https:" + j + "//\\*\\*\\*@" + j + "host/x"},
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

// FuzzLine checks Line and Cell: neither output has a line break, and
// Cell's can neither mention, autolink nor show a credential of its input.
func FuzzLine(f *testing.F) {
	f.Add("a\n::b")
	f.Add("\xff\xfe")
	f.Add("cc @octocat @org/team admin@evil.example")
	f.Add("www.evil.example/login https://x HTTP://evil.example evil.example evil\u3002example 1.2.3.4/x")
	f.Add("Bearer abc123def456 https://user:pa55@host npm config set //r/:_authToken=npm_abcdefgh12345678")
	f.Add("ghp_0123456789abcdefghijABCDEFGHIJ012345 github_pat_11ABC_def glpat-abcdefghij0123 xoxb-1234-5678-abcd AKIAABCDEFGHIJKLMNOP sk-proj-abcdef0123456789 msk_u_0123456789")
	f.Add("fixes #12 and evil.\u200bexample and @\u200boctocat")
	f.Fuzz(func(t *testing.T, s string) {
		cell := Cell(s)
		for _, out := range []string{Line(s), cell} {
			if strings.ContainsAny(out, "\n\r") {
				t.Fatalf("output %q has a line break", out)
			}
		}
		if m := linkable.FindString(visible(cell)); m != "" {
			t.Fatalf("Cell(%q) = %q: %q can mention, link or reference", s, cell, m)
		}
		if !printableASCII(s) {
			return // Line's escapes may spell anything out of control characters
		}
		for _, secret := range Secrets(s) {
			if strings.Contains(cell, secret) {
				t.Fatalf("Cell(%q) = %q shows the credential %q", s, cell, secret)
			}
		}
	})
}

// linkable matches, in Cell's output with invisible characters other than
// the zero width joiner removed, what a renderer could turn into a mention,
// a link or a reference: "@" before anything but a joiner, ":" before "/" or
// an escaped "\\", a dot before a letter or digit, "#" before a digit.
var linkable = regexp.MustCompile(`@[^\x{200d}]|:(?:/|\\\\)|[.\x{3002}\x{ff0e}\x{ff61}][\pL\pN]|#\pN`)

// visible drops the invisible characters that Cell looks through, keeping
// the zero width joiners it writes.
func visible(s string) string {
	return strings.Map(func(r rune) rune {
		if r != '\u200d' && invisible(r) {
			return -1
		}
		return r
	}, s)
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// FuzzMaskSecrets checks that MaskSecrets leaves no credential: none of the
// values Secrets found, and nothing Secrets finds afterwards.
func FuzzMaskSecrets(f *testing.F) {
	for _, tt := range secretCases {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		masked := MaskSecrets(s)
		if left := Secrets(masked); len(left) > 0 {
			t.Fatalf("MaskSecrets(%q) = %q still holds %q", s, masked, left)
		}
		for _, secret := range Secrets(s) {
			if strings.Contains(masked, secret) {
				t.Fatalf("MaskSecrets(%q) = %q holds %q", s, masked, secret)
			}
		}
	})
}

// secretCases are texts and the credentials Secrets finds in them.
var secretCases = []struct {
	in   string
	want []string
}{
	{"plain text, version 3.12, node:22-bookworm", nil},
	{"git clone https://x-access-token:ghs_abcdefghij0123456789@github.com/o/r", []string{"x-access-token:ghs_abcdefghij0123456789", "ghs_abcdefghij0123456789"}},
	{"https://deploy@registry.example/v2", []string{"deploy"}},
	{"https://user:${TOKEN}@host and https://$USER:$PASS@host", nil},
	{"ssh://git@github.com/o/r.git", nil},
	{"//registry.npmjs.org/:_authToken=abc123secret", []string{"abc123secret"}},
	{"//registry.npmjs.org/:_authToken=${NPM_TOKEN}", nil},
	{"_auth = \"dXNlcjpwYXNz\"", []string{"dXNlcjpwYXNz"}},
	{"curl -H 'Authorization: Bearer eyJhbGciOi1234.payload.sig'", []string{"eyJhbGciOi1234.payload.sig"}},
	{"bearer authentication is required", nil},
	{"ghp_0123456789abcdefghijABCDEFGHIJ012345", []string{"ghp_0123456789abcdefghijABCDEFGHIJ012345"}},
	{"TOKEN=gho_abcdefgh12 GH=ghu_ZZZZZZZZZZ", []string{"gho_abcdefgh12", "ghu_ZZZZZZZZZZ"}},
	{"github_pat_11ABCDEFG0_abcdefghijklmnop", []string{"github_pat_11ABCDEFG0_abcdefghijklmnop"}},
	{"glpat-abcdefghij0123456789", []string{"glpat-abcdefghij0123456789"}},
	{"npm_config_cache npm_lifecycle_event npm_abcdefgh12345678", []string{"npm_abcdefgh12345678"}},
	{"key msk_u_0123456789abcdef", []string{"msk_u_0123456789abcdef"}},
	{"xoxb-1234567890-abcdefghij xoxp-0000-1111", []string{"xoxb-1234567890-abcdefghij", "xoxp-0000-1111"}},
	{"AKIAIOSFODNN7EXAMPLE", []string{"AKIAIOSFODNN7EXAMPLE"}},
	{"pip install scikit-learn sk-learn-extensions", nil},
	{"OPENAI=sk-proj-abcdefghij0123456789", []string{"sk-proj-abcdefghij0123456789"}},
	{"xghp_abcdefghijkl (no boundary)", nil},
}

func TestSecrets(t *testing.T) {
	t.Parallel()
	for _, tt := range secretCases {
		if diff := cmp.Diff(tt.want, Secrets(tt.in)); diff != "" {
			t.Errorf("Secrets(%q) (-want +got):\n%s", tt.in, diff)
		}
		if got := LooksSecret(tt.in); got != (len(tt.want) > 0) {
			t.Errorf("LooksSecret(%q) = %t", tt.in, got)
		}
	}
}

func TestMaskSecrets(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"git clone https://x-access-token:ghs_abcdefghij0123456789@github.com/o/r", "git clone https://***@github.com/o/r"},
		{"echo ghs_abcdefghij0123456789; curl https://x:ghs_abcdefghij0123456789@h", "echo ***; curl https://***@h"},
		{"npm config set //r/:_authToken=npm_abcdefgh12345678", "npm config set //r/:_authToken=***"},
		{"Authorization: Bearer abcdef123456", "Authorization: Bearer ***"},
		{"nothing here", "nothing here"},
	}
	for _, tt := range tests {
		if got := MaskSecrets(tt.in); got != tt.want {
			t.Errorf("MaskSecrets(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCode(t *testing.T) {
	t.Parallel()
	if got, want := Code("BUILD_STEP_FAILED`|x\n"), `BUILD_STEP_FAILED'\|x\n`; got != want {
		t.Errorf("Code = %q, want %q", got, want)
	}
}
