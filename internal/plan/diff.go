package plan

import (
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
	"github.com/miosa-dev/sandbox-templates-action/internal/textsafe"
)

// Change is one field that a create or build changes: its path in the
// template file, the served value and the wanted one (nil when absent).
// Under build_spec.env the served value is never shown: From is Hidden.
type Change struct {
	Path string `json:"path"`
	From any    `json:"from"`
	To   any    `json:"to"`
}

// Masked stands in for the value of an env key whose name looks secret, and
// for a credential in any value (textsafe.MaskSecrets).
const Masked = textsafe.Masked

// Hidden stands in for a value the server serves under build_spec.env:
// whatever it is, it is not shown, so a diff says only that the entry
// changed or was removed.
const Hidden = "(served value not shown)"

// envPath is the path of the env map, under which served values are hidden.
const envPath = "build_spec.env"

// maxValue bounds a value shown in a change, in bytes of its JSON.
const maxValue = 120

// secretName matches env keys whose values must not be shown.
var secretName = regexp.MustCompile(`(?i)(TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|KEY|CREDENTIAL|AUTH|PRIVATE|SESSION|COOKIE|SIGNATURE|CERT)`)

// Diff lists the fields that differ between a served build spec and the
// wanted one, both normalized (for a create, with no served spec, the
// file's fields as written), in path order: build_spec.from,
// build_spec.steps[2].run, build_spec.env.CI. Served values under
// build_spec.env are Hidden; the file's values of env keys whose names look
// secret are Masked; credentials in any value (textsafe.Secrets) are
// masked; long values are cut.
func Diff(served, wanted map[string]any) []Change {
	var out []Change
	var from, to any
	switch {
	case served == nil && wanted != nil:
		// A create: the file's fields, without the defaults it leaves out.
		to = spec.Prune(wanted)
	case wanted != nil:
		from, to = spec.Normalize(served), spec.Normalize(wanted)
	}
	diffValue(&out, "build_spec", from, to, false)
	return out
}

// diffValue appends the changes from a (served) to b (wanted) at path;
// secret says that path is under an env key whose name looks secret.
func diffValue(out *[]Change, path string, a, b any, secret bool) {
	am, aIsMap := a.(map[string]any)
	bm, bIsMap := b.(map[string]any)
	if aIsMap && bIsMap || (a == nil && bIsMap) || (b == nil && aIsMap) {
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		slices.Sort(sorted)
		for _, k := range sorted {
			diffValue(out, path+"."+k, am[k], bm[k], secret || (path == envPath && secretName.MatchString(k)))
		}
		return
	}
	al, aIsList := a.([]any)
	bl, bIsList := b.([]any)
	if aIsList && bIsList || (a == nil && bIsList) || (b == nil && aIsList) {
		for i := range max(len(al), len(bl)) {
			var x, y any
			if i < len(al) {
				x = al[i]
			}
			if i < len(bl) {
				y = bl[i]
			}
			diffValue(out, path+"["+strconv.Itoa(i)+"]", x, y, secret)
		}
		return
	}
	if canonical(a) == canonical(b) {
		return
	}
	from := shown(a, secret)
	if a != nil && underEnv(path) {
		from = Hidden
	}
	if m, ok := b.(map[string]any); ok && path == envPath {
		b = maskEnv(m) // the file's env against a served env that is no map
	}
	*out = append(*out, Change{Path: textsafe.MaskSecrets(path), From: from, To: shown(b, secret)})
}

// maskEnv is a copy of an env map with the values of keys whose names look
// secret Masked.
func maskEnv(env map[string]any) map[string]any {
	out := make(map[string]any, len(env))
	for k, v := range env {
		if secretName.MatchString(k) && v != nil {
			v = Masked
		}
		out[k] = v
	}
	return out
}

// underEnv reports whether path is build_spec.env or within it.
func underEnv(path string) bool {
	rest, ok := strings.CutPrefix(path, envPath)
	return ok && (rest == "" || rest[0] == '.' || rest[0] == '[')
}

func canonical(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// shown is a value as a change shows it: Masked when secret, its
// credentials masked, cut when long. A value that is not a string and is
// long or holds a credential becomes its JSON text, so changed.
func shown(v any, secret bool) any {
	switch {
	case v == nil:
		return nil
	case secret:
		return Masked
	}
	s, ok := v.(string)
	if !ok {
		s = canonical(v)
		if len(s) <= maxValue && !textsafe.LooksSecret(s) {
			return v
		}
	}
	return cut(textsafe.MaskSecrets(s))
}

// cut shortens s to maxValue bytes and an ellipsis when it is longer.
func cut(s string) string {
	if len(s) <= maxValue {
		return s
	}
	i := maxValue
	for i > 0 && !utf8Start(s[i]) {
		i--
	}
	return s[:i] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// Render is a change as one line: path: from → to, with added and removed
// values said so. A served env entry is only said to have changed or been
// removed.
func (c Change) Render() string {
	switch {
	case c.From == nil:
		return c.Path + ": added " + value(c.To)
	case c.From == Hidden && c.To == nil:
		return c.Path + ": removed"
	case c.From == Hidden:
		return c.Path + ": changed to " + value(c.To)
	case c.To == nil:
		return c.Path + ": removed (was " + value(c.From) + ")"
	}
	return c.Path + ": " + value(c.From) + " → " + value(c.To)
}

// Value is the change's wanted value as a diff shows it.
func (c Change) Value() string { return value(c.To) }

// value is v as JSON, or Masked and Hidden as they are.
func value(v any) string {
	if s, ok := v.(string); ok && (s == Masked || s == Hidden) {
		return s
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return strings.TrimSpace(b.String())
}

// Secrets returns the values in build specs that a diff masks, for a log
// that must mask them too (the Actions runner's add-mask, issued before
// anything is printed): the values of env keys whose names look secret,
// and every credential in any string (textsafe.Secrets). A value of several
// lines is returned line by line. Values shorter than textsafe.MinSecret
// are left out: masking them everywhere would blank out unrelated text.
func Secrets(specs ...map[string]any) []string {
	var out []string
	add := func(s string) {
		for _, line := range strings.Split(s, "\n") {
			line = strings.TrimSpace(line)
			if len(line) >= textsafe.MinSecret && !slices.Contains(out, line) {
				out = append(out, line)
			}
		}
	}
	for _, sp := range specs {
		if env, ok := sp["env"].(map[string]any); ok {
			for k, v := range env {
				if secretName.MatchString(k) && v != nil {
					add(text(v))
				}
			}
		}
		walkStrings(sp, func(s string) {
			for _, secret := range textsafe.Secrets(s) {
				add(secret)
			}
		})
	}
	slices.Sort(out)
	return out
}

// text is a value as a string: itself, or its JSON.
func text(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return canonical(v)
}

// walkStrings calls f with every string in v: map keys, values and list
// elements, at any depth.
func walkStrings(v any, f func(string)) {
	switch v := v.(type) {
	case string:
		f(v)
	case map[string]any:
		for k, x := range v {
			f(k)
			walkStrings(x, f)
		}
	case []any:
		for _, x := range v {
			walkStrings(x, f)
		}
	}
}
