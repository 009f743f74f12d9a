package textsafe

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode"

	"github.com/google/go-cmp/cmp"
)

// This file reimplements how the GitHub runner reads a step's log for
// workflow commands (actions/runner: ActionCommandManager.TryProcessCommand,
// ActionCommand.TryParseV2 and ActionCommand.TryParse), as the oracle of the
// tests below. Two things make it stricter than the runner:
//   - every name counts as a registered command, as after stop-commands any
//     resume token does;
//   - a line is also parsed with the characters that an ICU
//     culture-sensitive comparison may ignore removed, since the runner's
//     StartsWith and IndexOf with a string argument compare that way.

// runnerCommand is a command as the runner parsed it.
type runnerCommand struct {
	Name   string
	Props  map[string]string
	Data   string
	Legacy bool // parsed by TryParse (##[...]) rather than TryParseV2 (::...::)
}

// csWhiteSpace is C#'s char.IsWhiteSpace, what String.Trim and TrimStart drop.
func csWhiteSpace(r rune) bool {
	switch {
	case r >= '\t' && r <= '\r', r == ' ', r == '\u0085', r == '\u00a0', r == '\u1680',
		r >= '\u2000' && r <= '\u200a', r == '\u2028', r == '\u2029', r == '\u202f', r == '\u205f', r == '\u3000':
		return true
	}
	return false
}

// icuIgnorable is what an ICU comparison may skip: default-ignorable code
// points, format and control characters, and combining marks.
var icuIgnorable = []*unicode.RangeTable{unicode.Cf, unicode.Cc, unicode.Mn, unicode.Me,
	unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point}

func stripIgnorable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.In(r, icuIgnorable...) && !csWhiteSpace(r) {
			return -1
		}
		return r
	}, s)
}

// unescape undoes the runner's escaping in the order its mappings list.
func unescape(s string, pairs ...string) string {
	for i := 0; i < len(pairs); i += 2 {
		s = strings.ReplaceAll(s, pairs[i+1], pairs[i])
	}
	return s
}

// props parses "k=v<sep>k=v": entries split on sep with empty ones dropped,
// each split at its first "="; an entry without both a key and a value is
// dropped.
func props(s string, sep string, unesc func(string) string) map[string]string {
	out := map[string]string{}
	for _, p := range strings.Split(s, sep) {
		k, v, ok := strings.Cut(p, "=")
		if p == "" || !ok || k == "" || v == "" {
			continue
		}
		out[k] = unesc(v)
	}
	return out
}

// parseV2 is TryParseV2.
func parseV2(line string) (runnerCommand, bool) {
	s := strings.TrimLeftFunc(line, csWhiteSpace)
	if !strings.HasPrefix(s, "::") {
		return runnerCommand{}, false
	}
	end := strings.Index(s[2:], "::")
	if end < 0 {
		return runnerCommand{}, false
	}
	end += 2
	info := s[2:end]
	name, rest, hasSpace := strings.Cut(info, " ")
	if name == "" {
		return runnerCommand{}, false
	}
	c := runnerCommand{Name: name, Props: map[string]string{}}
	if hasSpace {
		c.Props = props(strings.TrimFunc(rest, csWhiteSpace), ",", func(v string) string {
			return unescape(v, "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C", "%", "%25")
		})
	}
	c.Data = unescape(s[end+2:], "\r", "%0D", "\n", "%0A", "%", "%25")
	return c, true
}

// parseV1 is TryParse, the legacy parser.
func parseV1(line string) (runnerCommand, bool) {
	start := strings.Index(line, "##[")
	if start < 0 {
		return runnerCommand{}, false
	}
	rb := strings.IndexByte(line[start:], ']')
	if rb < 0 {
		return runnerCommand{}, false
	}
	rb += start
	info := line[start+3 : rb]
	name, rest, hasSpace := strings.Cut(info, " ")
	if name == "" {
		return runnerCommand{}, false
	}
	unesc := func(v string) string {
		return unescape(v, ";", "%3B", "\r", "%0D", "\n", "%0A", "]", "%5D", "%", "%25")
	}
	c := runnerCommand{Name: name, Props: map[string]string{}, Legacy: true}
	if hasSpace {
		c.Props = props(rest, ";", unesc)
	}
	c.Data = unesc(line[rb+1:])
	return c, true
}

// runnerParses returns what the runner could make of line: TryParseV2 first,
// then TryParse, on the line as written and with ignorable characters
// removed, and TryParse also from every later "##[".
func runnerParses(line string) (runnerCommand, bool) {
	for _, l := range []string{line, stripIgnorable(line)} {
		if c, ok := parseV2(l); ok {
			return c, true
		}
		for i := strings.Index(l, "##["); i >= 0; {
			if c, ok := parseV1(l[i:]); ok {
				return c, true
			}
			next := strings.Index(l[i+1:], "##[")
			if next < 0 {
				break
			}
			i += 1 + next
		}
	}
	return runnerCommand{}, false
}

func TestRunnerOracle(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line string
		want *runnerCommand
	}{
		{"::error file=a.yaml,line=3::boom", &runnerCommand{Name: "error", Props: map[string]string{"file": "a.yaml", "line": "3"}, Data: "boom"}},
		{"\u00a0\u3000::warning::x%0Ay", &runnerCommand{Name: "warning", Props: map[string]string{}, Data: "x\ny"}},
		{"size: \"##[error]bad\"", &runnerCommand{Name: "error", Props: map[string]string{}, Data: "bad\"", Legacy: true}},
		{"a ##[set-output name=x;]v", &runnerCommand{Name: "set-output", Props: map[string]string{"name": "x"}, Data: "v", Legacy: true}},
		{"\u200b::error::x", &runnerCommand{Name: "error", Props: map[string]string{}, Data: "x"}},
		{"#\u00ad#[error]x", &runnerCommand{Name: "error", Props: map[string]string{}, Data: "x", Legacy: true}},
		{"##[ ##[error]x", &runnerCommand{Name: "error", Props: map[string]string{}, Data: "x", Legacy: true}},
		{"plain", nil},
		{"::", nil},
		{":: ::x", nil},
		{"##[]x", nil},
		{`\x3a:error::x`, nil},
		{`##\x5berror]x`, nil},
	}
	for _, tt := range tests {
		got, ok := runnerParses(tt.line)
		switch {
		case tt.want == nil && ok:
			t.Errorf("runnerParses(%q) = %+v, want no command", tt.line, got)
		case tt.want != nil && !ok:
			t.Errorf("runnerParses(%q): no command, want %+v", tt.line, *tt.want)
		case tt.want != nil:
			if diff := cmp.Diff(*tt.want, got); diff != "" {
				t.Errorf("runnerParses(%q) (-want +got):\n%s", tt.line, diff)
			}
		}
	}
}

// injectionSeeds are the vectors of issue 11 and their relatives.
var injectionSeeds = []string{
	`##[error]from a YAML value`,
	`"##[error]..."`,
	"\u00a0::error::name in the plan table",
	"##[error]build error_message",
	"\n\u00a0::warning::second line of an error_message",
	"x\u2028::error::after a line separator",
	"\u200b::error::behind a zero-width space",
	"\ufeff::error::behind a byte order mark",
	"\u0085::warning::behind a next-line",
	"\u3000\u205f\u202f\u2000::notice::behind wide spaces",
	"#\u00ad#[error]soft hyphen",
	"#\u200d#\u200b[warning]zero-width joiner",
	"::stop-commands::tok\n::tok::",
	"%0A::error::escaped newline",
	"a\r::error::carriage return",
	"##[set-output name=status;]success",
	"::add-mask::x",
	"\xff::error::invalid UTF-8 first",
	"::",
	"##[",
}

// FuzzNoInjection writes untrusted text every way the action prints it
// (plain log lines, split across writes, and inside the messages and
// properties of its own commands) and parses the log as the runner does:
// exactly the action's own commands must come out, each read back as it was
// issued, and no other line may parse as a command.
func FuzzNoInjection(f *testing.F) {
	for i, s := range injectionSeeds {
		f.Add(s, i)
	}
	f.Fuzz(func(t *testing.T, untrusted string, cut int) {
		var out bytes.Buffer
		w := NewWriter(&out)
		type issued struct {
			name  string
			props map[string]string
			msg   string
		}
		var want []issued
		command := func(name string, props map[string]string, msg string) {
			if err := w.Command(name, props, msg); err != nil {
				t.Fatal(err)
			}
			want = append(want, issued{name, props, msg})
		}

		command("add-mask", nil, untrusted)
		fmt.Fprintf(w, "Plan:\nTEMPLATE  ACTION\n%s  create\n", untrusted)
		if n := len(untrusted); n > 0 {
			c := (cut%n + n) % n
			_, _ = w.Write([]byte(untrusted[:c]))
			_, _ = w.Write([]byte(untrusted[c:]))
		}
		command("error", map[string]string{"file": untrusted, "line": "3", "col": "7", "title": "sandbox template: " + untrusted},
			"build_spec.size: "+untrusted)
		fmt.Fprintf(w, "web: build b1 is failed: %s", untrusted)
		command("warning", nil, untrusted)
		fmt.Fprintf(w, "builds=%s\n", untrusted)
		command("group", nil, "Outputs")
		command("endgroup", nil, "")
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}

		log := out.String()
		if strings.Contains(log, "\r") {
			t.Fatalf("log holds a CR, which the runner reads as a line break:\n%q", log)
		}
		for _, line := range strings.Split(strings.TrimSuffix(log, "\n"), "\n") {
			c, ok := runnerParses(line)
			if !ok {
				continue
			}
			if len(want) == 0 || c.Legacy {
				t.Fatalf("line %q issues %+v, which the action did not", line, c)
			}
			next := want[0]
			want = want[1:]
			wantProps := map[string]string{}
			for k, v := range next.props {
				if v != "" {
					wantProps[k] = v
				}
			}
			// The runner trims the properties as a whole: the last value
			// loses trailing whitespace, up to an escaped CR or LF.
			if last := lastKey(wantProps); last != "" {
				wantProps[last] = strings.TrimRightFunc(wantProps[last], func(r rune) bool { return csWhiteSpace(r) && r != '\r' && r != '\n' })
				if wantProps[last] == "" {
					delete(wantProps, last)
				}
			}
			exact, _ := parseV2(line)
			if diff := cmp.Diff(runnerCommand{Name: next.name, Props: wantProps, Data: next.msg}, exact); diff != "" {
				t.Fatalf("line %q is not read back as issued (-want +got):\n%s", line, diff)
			}
			if c.Name != next.name {
				t.Fatalf("line %q reads as %q with ignorable characters skipped", line, c.Name)
			}
		}
		if len(want) > 0 {
			t.Fatalf("%d command(s) did not come out, first %q:\n%s", len(want), want[0].name, log)
		}

		safe := LogLine(untrusted)
		if c, ok := runnerParses(safe); ok {
			t.Fatalf("LogLine(%q) = %q issues %+v", untrusted, safe, c)
		}
		if strings.ContainsAny(safe, "\r\n") {
			t.Fatalf("LogLine(%q) = %q holds a line break", untrusted, safe)
		}
		if again := LogLine(safe); again != safe {
			t.Fatalf("LogLine is not idempotent: %q -> %q", safe, again)
		}
	})
}

func lastKey(m map[string]string) string {
	last := ""
	for k := range m {
		last = max(last, k)
	}
	return last
}

func TestLogLine(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"node  create", "node  create"},
		{"::warning file=x::injected", `\x3a:warning file=x::injected`},
		{"  ::stop-commands::t", `  \x3a:stop-commands::t`},
		{"a\n::error::x", `a\n::error::x`},
		{"\u00a0::error::x", "\u00a0\\x3a:error::x"},
		{"\u3000\u2007::error::x", "\u3000\u2007\\x3a:error::x"},
		{"\u200b::error::x", "\u200b\\x3a:error::x"},
		{"\u0085::error::x", `\u0085::error::x`},
		{":\u200b:error::x", "\\x3a\u200b:error::x"},
		{`size: "##[error]..."`, `size: "##\x5berror]..."`},
		{"#\u00ad#[error]x", "#\u00ad#\\x5berror]x"},
		{"###[x] ##[y]", `###\x5bx] ##\x5by]`},
		{"# #[x] #[y] [z]", "# #[x] #[y] [z]"},
		{"a: b :: c", "a: b :: c"},
	}
	for _, tt := range tests {
		if got := LogLine(tt.in); got != tt.want {
			t.Errorf("LogLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestWriter(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	w := NewWriter(&out)
	fmt.Fprint(w, "::err")
	fmt.Fprint(w, "or::split\r\nplain\n  ##[warning]x\npartial")
	if err := w.Command("error", map[string]string{"file": "a,b:c.yaml", "line": "3"}, "100% bad\nsecond"); err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(w, "tail")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := `\x3a:error::split
plain
  ##\x5bwarning]x
partial
::error file=a%2Cb%3Ac.yaml,line=3::100%25 bad%0Asecond
tail
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
}

func TestWriterCutsLongLines(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	w := NewWriter(&out)
	fmt.Fprint(w, strings.Repeat("a", maxLine)+"::error::x")
	_ = w.Flush()
	for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		if c, ok := runnerParses(line); ok {
			t.Errorf("line %.40q... issues %+v", line, c)
		}
	}
}

func TestWriterRefusesOtherCommands(t *testing.T) {
	t.Parallel()
	w := NewWriter(&bytes.Buffer{})
	for _, name := range []string{"set-output", "stop-commands", "add-path", "ERROR", "error file=x"} {
		if err := w.Command(name, nil, "x"); !errors.Is(err, ErrCommand) {
			t.Errorf("Command(%q) = %v, want ErrCommand", name, err)
		}
	}
	if err := w.Command("error", map[string]string{"file,line": "x"}, "x"); !errors.Is(err, ErrCommand) {
		t.Errorf("a property key with a comma: %v, want ErrCommand", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("closed") }

func TestWriterKeepsTheFirstError(t *testing.T) {
	t.Parallel()
	w := NewWriter(failWriter{})
	fmt.Fprintln(w, "x")
	if err := w.Command("notice", nil, "y"); err == nil || w.Err() == nil {
		t.Errorf("Command = %v, Err = %v, want the write error", err, w.Err())
	}
}
