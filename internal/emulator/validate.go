package emulator

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/miosa-dev/sandbox-templates-action/internal/schema"
)

// fieldError is one problem in a build spec, as the validate endpoint and
// INVALID_BUILDSPEC errors list it.
type fieldError struct {
	Code    string `json:"code"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// nullKeys are the typed keys the server renders as null when a spec does
// not set them (the API page's normalized example).
var nullKeys = []string{"startCmd", "readyCmd", "previewPort"}

// served is the schema the emulator serves and validates with: the
// project's embedded schema, with the nullKeys also allowing null, so that
// a normalized spec the server returns validates against the schema it
// serves and can be sent back as it is. Every other answer of the embedded
// schema (and every message about a non-null value) is unchanged.
var served = sync.OnceValues(func() ([]byte, *schema.Schema) {
	doc := schema.Embedded()
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		panic("emulator: embedded schema is not JSON: " + err.Error())
	}
	if props, ok := m["properties"].(map[string]any); ok {
		for _, k := range nullKeys {
			p, ok := props[k].(map[string]any)
			if !ok {
				continue
			}
			wrapped := map[string]any{"anyOf": []any{p, map[string]any{"type": "null"}}}
			if d, ok := p["description"]; ok {
				wrapped["description"] = d
				delete(p, "description")
			}
			props[k] = wrapped
		}
	}
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		panic("emulator: encode schema: " + err.Error())
	}
	compiled, err := schema.Compile(out)
	if err != nil {
		panic("emulator: served schema does not compile: " + err.Error())
	}
	return append(out, '\n'), compiled
})

// schemaDocument is the document served by GET /sandbox-templates/build-spec.
func schemaDocument() []byte {
	doc, _ := served()
	return doc
}

// Codes of build-spec problems, in Miosa's form.
const (
	codeRequired   = "REQUIRED"
	codeUnknownKey = "UNKNOWN_KEY"
	codeInvalid    = "INVALID"
)

// pointerLog is a schema.Locator that gives every located problem its own
// line and remembers the JSON pointer located for it, so that a diagnostic
// can be traced back to the exact place (for a missing key: the key).
type pointerLog struct{ pointers []string }

func (p *pointerLog) Locate(pointer string) (line, col int) {
	p.pointers = append(p.pointers, pointer)
	return len(p.pointers), 0
}

// checkSpec validates a build spec (a decoded JSON value) against the
// served schema and returns its problems the way Miosa's server lists
// them: {code: "REQUIRED", field: "from", message: "is required"}. Fields
// are relative to build_spec ("steps[0].run"); a problem with the spec as a
// whole has field "build_spec". Codes: REQUIRED, UNKNOWN_KEY, INVALID.
func checkSpec(spec any) []fieldError {
	var errs []fieldError
	loc := &pointerLog{}
	_, sch := served()
	for _, d := range sch.Check("", loc, spec) {
		field := strings.TrimPrefix(strings.TrimPrefix(d.Field, "build_spec"), ".")
		if d.Line > 0 && d.Line <= len(loc.pointers) {
			field = fieldPath(spec, loc.pointers[d.Line-1])
		}
		if field == "" {
			field = "build_spec"
		}
		fe := fieldError{Code: codeInvalid, Field: field, Message: d.Message}
		switch {
		case d.Rule == "unknown-key":
			fe.Code = codeUnknownKey
		case strings.HasPrefix(d.Message, "missing "):
			fe.Code, fe.Message = codeRequired, "is required"
		}
		errs = append(errs, fe)
	}
	// Each problem got its own line, so the schema package's order and
	// de-duplication no longer apply: sort and compact here.
	slices.SortFunc(errs, func(x, y fieldError) int {
		return cmp.Or(strings.Compare(x.Field, y.Field), strings.Compare(x.Code, y.Code), strings.Compare(x.Message, y.Message))
	})
	return slices.Compact(errs)
}

// fieldPath turns a JSON pointer into spec into a field path such as
// "steps[0].run": list indexes in brackets, keys joined by dots.
func fieldPath(spec any, pointer string) string {
	if pointer == "" {
		return ""
	}
	var b strings.Builder
	v := spec
	for _, tok := range strings.Split(strings.TrimPrefix(pointer, "/"), "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch cur := v.(type) {
		case []any:
			if i, err := strconv.Atoi(tok); err == nil && i >= 0 {
				fmt.Fprintf(&b, "[%d]", i)
				v = nil
				if i < len(cur) {
					v = cur[i]
				}
				continue
			}
			v = nil
		case map[string]any:
			v = cur[tok]
		default:
			v = nil
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

// sizeTable holds the resources the server fills in for a size
// ({vcpu, memoryMib, diskMib}). The API page shows small (2 vCPU, 4096 MiB,
// 10240 MiB disk); the other sizes are the emulator's own, so that a client
// meets defaults it does not know.
var sizeTable = map[string][3]int{
	"xs":     {1, 2048, 5120},
	"small":  {2, 4096, 10240},
	"medium": {4, 8192, 20480},
	"large":  {8, 16384, 40960},
	"xl":     {16, 32768, 81920},
}

// defaultSize is the size the server gives a spec that names neither a
// size nor any resource.
const defaultSize = "small"

// resourceKeys are the spec keys a size fills in, in sizeTable's order.
var resourceKeys = [3]string{"vcpu", "memoryMib", "diskMib"}

// sizeResources returns a size's resources: Options.Sizes first, then sizeTable.
func sizeResources(o Options, size string) ([3]int, bool) {
	if r, ok := o.Sizes[size]; ok {
		return r, true
	}
	r, ok := sizeTable[size]
	return r, ok
}

// normalize returns a copy of a valid spec with the server's defaults
// filled in, in the form of the API page's normalized example: steps [],
// env {}, workdir "/workspace", user "root" and artifactPaths [] when
// absent; the default size (small) when the spec names no size and no
// resource; a size's vcpu, memoryMib and diskMib when the spec does not
// set them; and, for the typed vocabulary (a spec with "from"), startCmd,
// readyCmd and previewPort null when absent. A spec of the SDK vocabulary
// (runtime, version, packages) gets every default except the nulls, which
// the embedded schema would refuse. Values the spec sets, empty or null,
// are kept. With o.CanonicalImages, "from" is fully qualified.
func normalize(spec map[string]any, o Options) map[string]any {
	out := maps.Clone(spec)
	if out == nil {
		out = map[string]any{}
	}
	fill := func(k string, v any) {
		if _, set := out[k]; !set {
			out[k] = v
		}
	}
	fill("steps", []any{})
	fill("env", map[string]any{})
	fill("workdir", "/workspace")
	fill("user", "root")
	fill("artifactPaths", []any{})
	if _, typed := out["from"]; typed {
		for _, k := range nullKeys {
			fill(k, nil)
		}
	}
	if !anySet(out, "size", "vcpu", "memoryMib", "diskMib") {
		out["size"] = defaultSize
	}
	if size, ok := out["size"].(string); ok {
		if r, ok := sizeResources(o, size); ok {
			for i, k := range resourceKeys {
				fill(k, r[i])
			}
		}
	}
	if from, ok := out["from"].(string); ok && o.CanonicalImages {
		out["from"] = canonicalImage(from)
	}
	return out
}

// anySet reports whether m has any of the keys (null counts as set).
func anySet(m map[string]any, keys ...string) bool {
	for _, k := range keys {
		if _, ok := m[k]; ok {
			return true
		}
	}
	return false
}

// canonicalImage returns an OCI image reference fully qualified the way
// Docker normalizes it: a registry ("docker.io" unless the first path
// component looks like a host: it holds "." or ":" or is "localhost"),
// "library/" for an official Docker Hub image, and ":latest" when there is
// neither a tag nor a digest. "node:22" becomes "docker.io/library/node:22",
// "user/img:1" "docker.io/user/img:1"; "ghcr.io/x/y:1" is unchanged.
func canonicalImage(ref string) string {
	name, digest, hasDigest := strings.Cut(ref, "@")
	if name == "" {
		return ref
	}
	domain, rest := "docker.io", name
	if first, after, ok := strings.Cut(name, "/"); ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		domain, rest = first, after
	}
	if domain == "index.docker.io" {
		domain = "docker.io"
	}
	if domain == "docker.io" && !strings.Contains(rest, "/") {
		rest = "library/" + rest
	}
	if !hasDigest && !strings.Contains(rest[strings.LastIndex(rest, "/")+1:], ":") {
		rest += ":latest"
	}
	out := domain + "/" + rest
	if hasDigest {
		out += "@" + digest
	}
	return out
}

// decodeJSON decodes one JSON value, turning numbers into int64 when they
// are integers and float64 otherwise.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data after JSON value")
	}
	return numbers(v), nil
}

func numbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i
		}
		f, _ := strconv.ParseFloat(string(x), 64)
		return f
	}
	return v
}

// canonical returns the canonical JSON of a request body (sorted keys, no
// spaces), or the raw bytes when it is not JSON.
func canonical(body []byte) string {
	if len(bytes.TrimSpace(body)) == 0 {
		return ""
	}
	v, err := decodeJSON(body)
	if err != nil {
		return string(body)
	}
	out, err := json.Marshal(v)
	if err != nil {
		return string(body)
	}
	return string(out)
}
