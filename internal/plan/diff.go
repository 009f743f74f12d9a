package plan

import (
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
)

// Change is one field that a create or build changes: its path in the
// template file, the served value and the wanted one (nil when absent).
type Change struct {
	Path string `json:"path"`
	From any    `json:"from"`
	To   any    `json:"to"`
}

// Masked stands in for the value of an env key whose name looks secret.
const Masked = "***"

// maxValue bounds a value shown in a change, in bytes of its JSON.
const maxValue = 120

// secretName matches env keys whose values must not be shown.
var secretName = regexp.MustCompile(`(?i)(TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|KEY|CREDENTIAL|AUTH|PRIVATE|SESSION|COOKIE|SIGNATURE|CERT)`)

// Diff lists the fields that differ between a served build spec and the
// wanted one, both normalized (for a create, with no served spec, the
// file's fields as written), in path order: build_spec.from,
// build_spec.steps[2].run, build_spec.env.CI. Values of env keys whose names
// look secret are masked; long values are cut.
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
			diffValue(out, path+"."+k, am[k], bm[k], secret || (path == "build_spec.env" && secretName.MatchString(k)))
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
	*out = append(*out, Change{Path: path, From: shown(a, secret), To: shown(b, secret)})
}

func canonical(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// shown is a value as a change shows it: masked when secret, cut when long.
func shown(v any, secret bool) any {
	switch {
	case v == nil:
		return nil
	case secret:
		return Masked
	}
	if s, ok := v.(string); ok && len(s) > maxValue {
		return cut(s)
	}
	if _, ok := v.(string); !ok {
		if j := canonical(v); len(j) > maxValue {
			return cut(j)
		}
	}
	return v
}

func cut(s string) string {
	i := maxValue
	for i > 0 && !utf8Start(s[i]) {
		i--
	}
	return s[:i] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// Render is a change as one line: path: from → to, with added and removed
// values said so.
func (c Change) Render() string {
	switch {
	case c.From == nil:
		return c.Path + ": added " + value(c.To)
	case c.To == nil:
		return c.Path + ": removed (was " + value(c.From) + ")"
	}
	return c.Path + ": " + value(c.From) + " → " + value(c.To)
}

// Value is the change's wanted value as a diff shows it.
func (c Change) Value() string { return value(c.To) }

func value(v any) string {
	if s, ok := v.(string); ok && s == Masked {
		return s
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return strings.TrimSpace(b.String())
}
