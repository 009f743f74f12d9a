package spec

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Documented server defaults that Normalize fills in.
const (
	DefaultWorkdir = "/workspace"
	DefaultUser    = "root"
)

// Normalize returns a copy of buildSpec with the documented defaults filled
// in (workdir "/workspace", user "root") and null values and empty maps and
// lists dropped from maps, at every level. It never mutates its input.
func Normalize(buildSpec map[string]any) map[string]any {
	out, _ := normalize(buildSpec).(map[string]any)
	if out == nil {
		out = map[string]any{}
	}
	if _, ok := out["workdir"]; !ok {
		out["workdir"] = DefaultWorkdir
	}
	if _, ok := out["user"]; !ok {
		out["user"] = DefaultUser
	}
	if size, ok := out["size"].(string); ok {
		for k, v := range SizeDefaults[size] {
			if _, set := out[k]; !set {
				out[k] = v
			}
		}
	}
	return out
}

// Prune returns a copy of buildSpec with null values and empty maps and
// lists dropped, and no defaults filled in: the spec as its file says it.
func Prune(buildSpec map[string]any) map[string]any {
	out, _ := normalize(buildSpec).(map[string]any)
	return out
}

// SizeDefaults are the resources the server fills in for a `size`, as far as
// the API page shows them (only "small" is documented). A size missing here
// is left as written: the server's normalized form, or DefaultsOnly, decides.
var SizeDefaults = map[string]map[string]any{
	"small": {"vcpu": int64(2), "memoryMib": int64(4096), "diskMib": int64(10240)},
}

// DefaultsOnly compares a build spec as a file writes it with a served
// (server-normalized) one. ok reports whether every top-level key the file
// writes has the served value; extra lists, sorted, the served keys the
// file does not write: where the specs differ only by what the server
// fills in (or by a field the file no longer sets).
func DefaultsOnly(written, served map[string]any) (extra []string, ok bool) {
	if served == nil {
		return nil, false
	}
	w, _ := normalize(written).(map[string]any)
	s, _ := normalize(served).(map[string]any)
	for k, v := range w {
		sv, ok := s[k]
		if !ok || canonicalString(sv) != canonicalString(v) {
			return nil, false
		}
	}
	for k := range s {
		if _, ok := w[k]; !ok {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	return extra, true
}

func canonicalString(v any) string {
	var b strings.Builder
	canonical(&b, normalize(v))
	return b.String()
}

// normalize deep-copies v, dropping null and empty values from maps. It
// returns nil for a value that should be dropped.
func normalize(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			if n := normalize(e); n != nil {
				m[k] = n
			}
		}
		if len(m) == 0 {
			return nil
		}
		return m
	case []any:
		if len(v) == 0 {
			return nil
		}
		l := make([]any, len(v))
		for i, e := range v {
			l[i] = normalize(e)
		}
		return l
	case map[string]string:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = e
		}
		return normalize(m)
	case []string:
		l := make([]any, len(v))
		for i, e := range v {
			l[i] = e
		}
		return normalize(l)
	}
	return v
}

// Digest is the hex sha256 of the canonical JSON of Normalize(t.BuildSpec).
func (t *Template) Digest() string {
	return Digest(t.BuildSpec)
}

// Digest is the hex sha256 of the canonical JSON (sorted keys, no spaces) of
// Normalize(buildSpec). Equal specs written differently (key order, 3 vs
// 3.0, defaults spelled out or not) have the same digest.
func Digest(buildSpec map[string]any) string {
	var b strings.Builder
	canonical(&b, Normalize(buildSpec))
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// canonical writes v as JSON with sorted keys and no spaces. Numbers are
// written in their shortest form, so int64(3), float64(3) and
// json.Number("3.0") agree; values JSON cannot hold are written as null.
func canonical(b *strings.Builder, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case string:
		q, _ := json.Marshal(v)
		b.Write(q)
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			canonical(b, k)
			b.WriteByte(':')
			canonical(b, v[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			canonical(b, e)
		}
		b.WriteByte(']')
	case int:
		b.WriteString(strconv.Itoa(v))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case float64:
		number(b, v)
	case json.Number:
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			b.WriteString("null")
			return
		}
		number(b, f)
	default:
		j, err := json.Marshal(v)
		if err != nil {
			b.WriteString("null")
			return
		}
		b.Write(j)
	}
}

// number writes a float: integral values without a fraction, others in the
// shortest round-tripping form.
func number(b *strings.Builder, f float64) {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		b.WriteString("null")
	case f == math.Trunc(f) && math.Abs(f) < 1e15:
		b.WriteString(strconv.FormatInt(int64(f), 10))
	default:
		b.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
	}
}

// Same reports whether two build specs mean the same: equal once null
// values and empty maps and lists are dropped (absence), at every level,
// with no defaults filled in. It compares a file's spec filled with the
// server's defaults, or the server's normalized form of it, with a served
// spec.
func Same(a, b map[string]any) bool {
	return canonicalString(a) == canonicalString(b)
}

// Fill returns a copy of buildSpec with each top-level key of defaults
// that buildSpec does not set: the file's spec as a server with those
// defaults would normalize it, where a key the file sets wins.
func Fill(buildSpec, defaults map[string]any) map[string]any {
	out := make(map[string]any, len(buildSpec)+len(defaults))
	for k, v := range defaults {
		out[k] = v
	}
	for k, v := range buildSpec {
		out[k] = v
	}
	return out
}
