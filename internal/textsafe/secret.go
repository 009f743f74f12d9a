package textsafe

import (
	"regexp"
	"slices"
	"strings"
)

// Masked stands in for a credential in text that is shown.
const Masked = "***"

// MinSecret is the shortest value Secrets returns: masking a shorter one
// everywhere it occurs (as the runner's add-mask does) would blank out
// unrelated text of a log.
const MinSecret = 4

// credential is one form of credential in free text: the regular
// expression's first group is the secret.
type credential struct {
	// needle is lowercase text that every match holds, looked for before
	// the slower regular expression runs.
	needle string
	re     *regexp.Regexp
	// digit, when set, also wants a digit in the secret: for prefixes that
	// ordinary words can start with (npm_lifecycle, sk-learn).
	digit bool
	// minLen is the shortest secret of this form; 0 means MinSecret.
	minLen int
}

// credentials are the forms Secrets finds. Their secrets hold printable
// ASCII only, and none of the characters that Cell writes differently
// ("\\", "&", ";", "<", ">"), so a secret cannot be put together from
// escaped text. Token prefixes must start the text or follow a character
// that is not a letter or digit.
var credentials = []credential{
	// URL user information: scheme://user:password@host, up to the last "@"
	// before the host.
	{needle: "://", re: regexp.MustCompile(`(?i:[a-z][a-z0-9+.-]*)://([A-Za-z0-9._~!$()*+,=:%@{}-]+)@`)},
	// .npmrc and similar: _authToken=..., _auth=..., _password=...
	{needle: "_auth", re: regexp.MustCompile(`(?i:_auth(?:Token)?)\s*=\s*["']?([A-Za-z0-9._~+/=:$!*%@{}-]+)`)},
	{needle: "_password", re: regexp.MustCompile(`(?i:_password)\s*=\s*["']?([A-Za-z0-9._~+/=:$!*%@{}-]+)`)},
	// Authorization: Bearer <token>.
	{needle: "bearer", re: regexp.MustCompile(`\b(?i:bearer)\s+([A-Za-z0-9._~+/=-]+)`), minLen: 8, digit: true},
	// GitHub tokens: ghp_, gho_, ghs_, ghu_, ghr_ and fine-grained github_pat_.
	{needle: "gh", re: regexp.MustCompile(`(?:^|[^A-Za-z0-9])(gh[pousr]_[A-Za-z0-9_]{8,})`)},
	{needle: "github_pat_", re: regexp.MustCompile(`(?:^|[^A-Za-z0-9])(github_pat_[A-Za-z0-9_]{8,})`)},
	// GitLab personal access tokens.
	{needle: "glpat-", re: regexp.MustCompile(`(?:^|[^A-Za-z0-9])(glpat-[A-Za-z0-9_-]{8,})`)},
	// npm access tokens.
	{needle: "npm_", re: regexp.MustCompile(`(?:^|[^A-Za-z0-9])(npm_[A-Za-z0-9]{8,})`), digit: true},
	// Miosa API keys.
	{needle: "msk_", re: regexp.MustCompile(`(?:^|[^A-Za-z0-9])(msk_[A-Za-z0-9_-]{8,})`)},
	// Slack tokens.
	{needle: "xox", re: regexp.MustCompile(`(?:^|[^A-Za-z0-9])(xox[abp]-[A-Za-z0-9-]{8,})`)},
	// AWS access key ids.
	{needle: "ia", re: regexp.MustCompile(`(?:^|[^A-Za-z0-9])((?:AKIA|ASIA)[0-9A-Z]{16})`)},
	// OpenAI-style secret keys (sk-..., sk-proj-...).
	{needle: "sk-", re: regexp.MustCompile(`(?:^|[^A-Za-z0-9])(sk-[A-Za-z0-9_-]{16,})`), digit: true},
}

// variable matches a reference to a variable rather than a value:
// ${NPM_TOKEN}, $NPM_TOKEN.
var variable = regexp.MustCompile(`^\$\{?[A-Za-z_][A-Za-z0-9_]*\}?$`)

// Secrets returns the values in s that look like credentials, each once, in
// the order they first occur: the user information of a URL
// (https://user:pass@host gives "user:pass" and "pass";
// https://token@host gives "token"), the value of an
// _authToken=, _auth= or _password= setting, a bearer token, and tokens with
// a known prefix (ghp_, gho_, ghs_, ghu_, ghr_, github_pat_, glpat-, npm_,
// msk_, xoxa-, xoxb-, xoxp-, AKIA, ASIA, sk-). References to variables
// (${TOKEN}), Masked and values shorter than MinSecret are left out.
func Secrets(s string) []string {
	var out []string
	add := func(v string) {
		if len(v) >= MinSecret && strings.Trim(v, "*") != "" && !variable.MatchString(v) && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	lower := strings.ToLower(s)
	for _, c := range credentials {
		if !strings.Contains(lower, c.needle) {
			continue
		}
		for _, m := range c.re.FindAllStringSubmatch(s, -1) {
			v := m[1]
			switch {
			case len(v) < c.minLen || c.digit && !strings.ContainsAny(v, "0123456789"):
			case strings.Contains(m[0], "://"):
				addUserinfo(add, v)
			default:
				add(v)
			}
		}
	}
	return out
}

// addUserinfo adds the secrets of a URL's user information: with a
// password, the password and the whole; else the user name.
func addUserinfo(add func(string), v string) {
	user, pass, ok := strings.Cut(v, ":")
	switch {
	case !ok || pass == "":
		add(user)
	case !variable.MatchString(pass):
		add(v)
		add(pass)
	}
}

// LooksSecret reports whether s holds a value that looks like a credential
// (see Secrets).
func LooksSecret(s string) bool { return len(Secrets(s)) > 0 }

// MaskSecrets returns s with every occurrence of every value Secrets finds
// written as Masked, until none is left (each pass shortens s, so this
// ends).
func MaskSecrets(s string) string {
	for {
		found := Secrets(s)
		if len(found) == 0 {
			return s
		}
		// Longest first, so that a value inside another goes with it.
		slices.SortFunc(found, func(a, b string) int { return len(b) - len(a) })
		for _, v := range found {
			s = strings.ReplaceAll(s, v, Masked)
		}
	}
}
