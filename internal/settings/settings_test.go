package settings_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	_ "github.com/miosa-dev/sandbox-templates-action/internal/golden" // defines -update for go test ./... -update
	"github.com/miosa-dev/sandbox-templates-action/internal/settings"
)

// parseOne parses raw (given, or not given when raw is nil) as the one
// setting s, labelled as an action input.
func parseOne(s settings.Setting, raw *string) (settings.Values, error) {
	get := func(string) (string, bool) {
		if raw == nil {
			return "", false
		}
		return *raw, true
	}
	return settings.Parse([]settings.Setting{s}, get, func(name string) string { return "input " + name })
}

// given is a raw value that was given.
func given(s string) *string { return &s }

// parseCase is one raw value of one kind of setting, and what parsing it
// gives: the value, or the error's full text.
type parseCase struct {
	name    string
	raw     *string // nil: not given
	want    any
	wantErr string
}

// runParseCases parses each case as s and compares what value reads.
func runParseCases(t *testing.T, s settings.Setting, tests []parseCase, value func(settings.Values) any) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := parseOne(s, tt.raw)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if diff := cmp.Diff(tt.want, value(v)); diff != "" {
				t.Errorf("value (-want +got):\n%s", diff)
			}
		})
	}
}

// Booleans are YAML 1.2 core booleans, as actions/toolkit's getBooleanInput
// reads them: YAML 1.1's yes, on and y are errors, not false.
func TestParseBool(t *testing.T) {
	t.Parallel()
	s := settings.Setting{Name: "wait", Kind: settings.Bool, Default: "false"}
	notBool := func(v string) string {
		return `input wait: "` + v + `" is not true or false (YAML 1.2 booleans: true, True, TRUE, false, False, FALSE)`
	}
	tests := []parseCase{
		{name: "true", raw: given("true"), want: true},
		{name: "True", raw: given("True"), want: true},
		{name: "TRUE", raw: given("TRUE"), want: true},
		{name: "false", raw: given("false"), want: false},
		{name: "False", raw: given("False"), want: false},
		{name: "FALSE", raw: given("FALSE"), want: false},
		{name: "not given", raw: nil, want: false},
		{name: "empty takes the default", raw: given(""), want: false},
		{name: "tRUE", raw: given("tRUE"), wantErr: notBool("tRUE")},
		{name: "yes", raw: given("yes"), wantErr: notBool("yes")},
		{name: "on", raw: given("on"), wantErr: notBool("on")},
		{name: "y", raw: given("y"), wantErr: notBool("y")},
		{name: "no", raw: given("no"), wantErr: notBool("no")},
		{name: "1", raw: given("1"), wantErr: notBool("1")},
		{name: "0", raw: given("0"), wantErr: notBool("0")},
		{name: "spaces", raw: given(" true"), wantErr: notBool(" true")},
	}
	runParseCases(t, s, tests, func(v settings.Values) any { return v.Bool("wait") })

	on := settings.Setting{Name: "summary", Kind: settings.Bool, Default: "true"}
	runParseCases(t, on, []parseCase{
		{name: "default true", raw: nil, want: true},
		{name: "empty takes the default true", raw: given(""), want: true},
		{name: "False turns it off", raw: given("False"), want: false},
	}, func(v settings.Values) any { return v.Bool("summary") })
}

// A duration needs a unit; a bare number is refused, not guessed at, and a
// value too large for a duration says so rather than "invalid".
func TestParseDuration(t *testing.T) {
	t.Parallel()
	s := settings.Setting{Name: "timeout", Kind: settings.Duration, Default: "30m"}
	const most = "2562047h0m0s"
	tests := []parseCase{
		{name: "seconds", raw: given("90s"), want: 90 * time.Second},
		{name: "minutes", raw: given("45m"), want: 45 * time.Minute},
		{name: "hours and minutes", raw: given("1h30m"), want: 90 * time.Minute},
		{name: "fraction", raw: given("1.5h"), want: 90 * time.Minute},
		{name: "zero", raw: given("0"), want: time.Duration(0)},
		{name: "zero with a fraction", raw: given("0.0"), want: time.Duration(0)},
		{name: "zero with a unit", raw: given("0s"), want: time.Duration(0)},
		{name: "not given", raw: nil, want: 30 * time.Minute},
		{name: "empty takes the default", raw: given(""), want: 30 * time.Minute},
		{name: "no unit", raw: given("90"),
			wantErr: `input timeout: "90" has no unit: write 90s for seconds or 90m for minutes`},
		{name: "no unit, fraction", raw: given("1.5"),
			wantErr: `input timeout: "1.5" has no unit: write 1.5s for seconds or 1.5m for minutes`},
		{name: "no unit, too large even as seconds", raw: given("9300000000"),
			wantErr: `input timeout: "9300000000" has no unit, and is too large even as seconds (the most is ` + most + `); write a duration such as 30m or 1h`},
		{name: "too large in seconds", raw: given("9300000000s"),
			wantErr: `input timeout: "9300000000s" is too large for a duration; the most is ` + most},
		{name: "too large in hours", raw: given("3000000h"),
			wantErr: `input timeout: "3000000h" is too large for a duration; the most is ` + most},
		{name: "too large in a sum", raw: given("2562047h60m"),
			wantErr: `input timeout: "2562047h60m" is too large for a duration; the most is ` + most},
		{name: "negative", raw: given("-5m"), wantErr: `input timeout: "-5m" is negative`},
		{name: "a word", raw: given("soon"), wantErr: `input timeout: "soon" is not a duration such as 30s, 10m or 1h`},
		{name: "an unknown unit", raw: given("3d"), wantErr: `input timeout: "3d" is not a duration such as 30s, 10m or 1h`},
		{name: "a space inside", raw: given("30 m"), wantErr: `input timeout: "30 m" is not a duration such as 30s, 10m or 1h`},
	}
	runParseCases(t, s, tests, func(v settings.Values) any { return v.Duration("timeout") })

	poll := settings.Setting{Name: "poll-interval", Kind: settings.Duration, Default: "10s", MinDur: time.Second}
	runParseCases(t, poll, []parseCase{
		{name: "the minimum", raw: given("1s"), want: time.Second},
		{name: "below the minimum", raw: given("100ms"), wantErr: "input poll-interval: 100ms is below the 1s minimum"},
		{name: "zero is below the minimum", raw: given("0"), wantErr: "input poll-interval: 0s is below the 1s minimum"},
	}, func(v settings.Values) any { return v.Duration("poll-interval") })
}

// A whole number is within Min..Max, both included.
func TestParseInt(t *testing.T) {
	t.Parallel()
	s := settings.Setting{Name: "concurrency", Kind: settings.Int, Default: "8", Min: 1, Max: 64}
	outside := func(v string) string { return `input concurrency: "` + v + `" is not a whole number from 1 to 64` }
	tests := []parseCase{
		{name: "within", raw: given("16"), want: 16},
		{name: "the lower bound", raw: given("1"), want: 1},
		{name: "the upper bound", raw: given("64"), want: 64},
		{name: "spaces around", raw: given(" 4\n"), want: 4},
		{name: "not given", raw: nil, want: 8},
		{name: "empty takes the default", raw: given(""), want: 8},
		{name: "below", raw: given("0"), wantErr: outside("0")},
		{name: "above", raw: given("65"), wantErr: outside("65")},
		{name: "negative", raw: given("-1"), wantErr: outside("-1")},
		{name: "a fraction", raw: given("2.5"), wantErr: outside("2.5")},
		{name: "a word", raw: given("many"), wantErr: outside("many")},
		{name: "too large for an int", raw: given("99999999999999999999"), wantErr: outside("99999999999999999999")},
	}
	runParseCases(t, s, tests, func(v settings.Values) any { return v.Int("concurrency") })
}

// Lines are trimmed; empty lines and # comments are dropped.
func TestParseLines(t *testing.T) {
	t.Parallel()
	s := settings.Setting{Name: "path", Kind: settings.Lines, Default: "a/*.yaml\nb/*.yml"}
	tests := []parseCase{
		{name: "one", raw: given("x/*.yaml"), want: []string{"x/*.yaml"}},
		{name: "comments and blanks", raw: given("a/*.yaml\n# a comment\n\n  b/*.yml  \n"), want: []string{"a/*.yaml", "b/*.yml"}},
		{name: "CRLF", raw: given("a\r\nb\r\n"), want: []string{"a", "b"}},
		{name: "not given", raw: nil, want: []string{"a/*.yaml", "b/*.yml"}},
		{name: "given empty is none", raw: given(""), want: []string(nil)},
		{name: "only comments", raw: given("# none\n"), want: []string(nil)},
	}
	runParseCases(t, s, tests, func(v settings.Values) any { return v.Lines("path") })
}

// A choice is one of Choices exactly, case included.
func TestParseChoice(t *testing.T) {
	t.Parallel()
	s, ok := settings.Lookup(settings.Mode)
	if !ok {
		t.Fatal("no mode setting")
	}
	tests := []parseCase{
		{name: "plan", raw: given("plan"), want: "plan"},
		{name: "apply", raw: given("apply"), want: "apply"},
		{name: "not given", raw: nil, want: "auto"},
		{name: "empty takes the default", raw: given(""), want: "auto"},
		{name: "another case", raw: given("Plan"), wantErr: `input mode: "Plan" is not one of auto, validate, plan, apply, cleanup`},
		{name: "unknown", raw: given("deploy"), wantErr: `input mode: "deploy" is not one of auto, validate, plan, apply, cleanup`},
	}
	runParseCases(t, s, tests, func(v settings.Values) any { return v.String(settings.Mode) })
}

// Text and Secret values are kept as given.
func TestParseText(t *testing.T) {
	t.Parallel()
	for _, kind := range []settings.Kind{settings.Text, settings.Secret} {
		s := settings.Setting{Name: "api-url", Kind: kind, Default: "https://example.invalid"}
		runParseCases(t, s, []parseCase{
			{name: "given", raw: given(" as is \n"), want: " as is \n"},
			{name: "not given", raw: nil, want: "https://example.invalid"},
		}, func(v settings.Values) any { return v.String("api-url") })
	}
}

// Parse reads the whole table: every default parses, and the first bad
// value in the list's order is the error, named by label.
func TestParseTable(t *testing.T) {
	t.Parallel()
	none := func(string) (string, bool) { return "", false }
	flag := func(name string) string { return "--" + name }
	v, err := settings.Parse(settings.All, none, flag)
	if err != nil {
		t.Fatalf("the defaults do not parse: %v", err)
	}
	got := map[string]any{
		settings.Timeout:     v.Duration(settings.Timeout),
		settings.Concurrency: v.Int(settings.Concurrency),
		settings.Summary:     v.Bool(settings.Summary),
		settings.Mode:        v.String(settings.Mode),
		settings.APIURL:      v.String(settings.APIURL),
		settings.Path:        v.Lines(settings.Path),
	}
	want := map[string]any{
		settings.Timeout:     30 * time.Minute,
		settings.Concurrency: 8,
		settings.Summary:     true,
		settings.Mode:        "auto",
		settings.APIURL:      "https://api.miosa.ai/api/v1",
		settings.Path:        []string{"sandbox-templates/*.yaml", "sandbox-templates/*.yml"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	bad := map[string]string{settings.Wait: "yes", settings.Concurrency: "0"}
	_, err = settings.Parse(settings.All, func(name string) (string, bool) { s, ok := bad[name]; return s, ok }, flag)
	if want := `--wait: "yes" is not true or false`; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %v, want one starting %q (wait comes before concurrency)", err, want)
	}
}

func TestForCLI(t *testing.T) {
	t.Parallel()
	names := func(list []settings.Setting) []string {
		var out []string
		for _, s := range list {
			out = append(out, s.Name)
		}
		return out
	}
	tests := []struct {
		cmd  string
		want []string
	}{
		{"plan", []string{"api-url", "allow-insecure-http", "path", "if-no-files-found", "build", "timeout", "concurrency", "commit-sha", "templates", "fail-on-changes", "allow-rollback", "target-ref"}},
		{"apply", []string{"api-url", "allow-insecure-http", "path", "if-no-files-found", "build", "wait", "timeout", "poll-interval", "concurrency", "commit-sha", "templates", "allow-rollback", "target-ref"}},
	}
	for _, tt := range tests {
		t.Run(tt.cmd, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, names(settings.ForCLI(tt.cmd))); diff != "" {
				t.Errorf("ForCLI(%q) (-want +got):\n%s", tt.cmd, diff)
			}
		})
	}
}

// Every setting of the table is well formed: a default its own parser
// accepts, a usage line, and the fields its kind reads.
func TestTableIsWellFormed(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, s := range settings.All {
		if seen[s.Name] {
			t.Errorf("%s: listed twice", s.Name)
		}
		seen[s.Name] = true
		if s.Usage == "" || strings.Contains(s.Usage, "\n") {
			t.Errorf("%s: Usage %q is not one line", s.Name, s.Usage)
		}
		if _, err := parseOne(s, nil); err != nil {
			t.Errorf("%s: the default does not parse: %v", s.Name, err)
		}
		if got, ok := settings.Lookup(s.Name); !ok || got.Name != s.Name {
			t.Errorf("Lookup(%q) = %v, %v", s.Name, got.Name, ok)
		}
		switch {
		case s.Kind == settings.Choice && len(s.Choices) == 0:
			t.Errorf("%s: a choice with no Choices", s.Name)
		case s.Kind == settings.Int && s.Min > s.Max:
			t.Errorf("%s: Min %d above Max %d", s.Name, s.Min, s.Max)
		}
	}
	if _, ok := settings.Lookup("no-such-setting"); ok {
		t.Error("Lookup found a setting that is not in the table")
	}
}

// FuzzParse checks that no raw value of any kind panics, that an error
// names the setting and stays on one line, and that a duration read is
// never negative.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"true", "yes", "90", "9300000000", "9300000000s", "-5m", "1h30m", "0.0", "8", "a\n# b\n", "plan", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		for _, s := range settings.All {
			v, err := parseOne(s, &raw)
			if err != nil {
				if msg := err.Error(); !strings.HasPrefix(msg, "input "+s.Name+": ") || strings.ContainsAny(msg, "\r\n") {
					t.Errorf("%s: error %q does not name the input on one line", s.Name, msg)
				}
				continue
			}
			if s.Kind == settings.Duration && v.Duration(s.Name) < 0 {
				t.Errorf("%s: %q read as %s", s.Name, raw, v.Duration(s.Name))
			}
		}
	})
}
