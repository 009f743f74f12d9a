package emulator

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/miosa-dev/sandbox-templates-action/internal/schema"
)

// fieldError is one problem in a build spec, as the validate endpoint and
// INVALID_BUILDSPEC errors list it.
type fieldError struct {
	Code    string `json:"code"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// schemaDocument is the document served by GET /sandbox-templates/build-spec:
// the project's embedded schema, so the emulator and offline validation agree.
func schemaDocument() []byte {
	return schema.Embedded()
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
// embedded schema and returns its problems the way Miosa's server lists
// them: {code: "REQUIRED", field: "from", message: "is required"}. Fields
// are relative to build_spec ("steps[0].run"); a problem with the spec as a
// whole has field "build_spec". Codes: REQUIRED, UNKNOWN_KEY, INVALID.
func checkSpec(spec any) []fieldError {
	var errs []fieldError
	loc := &pointerLog{}
	for _, d := range schema.Default().Check("", loc, spec) {
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

// sizeResources are the resources the server fills in for a size. The API
// page shows small (2 vCPU, 4096 MiB, 10240 MiB disk); the other sizes are
// the emulator's own, so that a client meets defaults it does not know.
var sizeTable = map[string][3]int{
	"xs":     {1, 2048, 5120},
	"small":  {2, 4096, 10240},
	"medium": {4, 8192, 20480},
	"large":  {8, 16384, 40960},
	"xl":     {16, 32768, 81920},
}

// normalize returns a copy of a valid spec with null values and empty maps
// and lists dropped and the defaults filled in, as the server does:
// workdir "/workspace", user "root", and for a size its vcpu, memoryMib and
// diskMib when the spec does not set them.
func normalize(spec map[string]any, sizes map[string][3]int) map[string]any {
	if sizes == nil {
		sizes = sizeTable
	}
	out, _ := prune(spec).(map[string]any)
	if out == nil {
		out = map[string]any{}
	}
	if _, ok := out["workdir"]; !ok {
		out["workdir"] = "/workspace"
	}
	if _, ok := out["user"]; !ok {
		out["user"] = "root"
	}
	if size, ok := out["size"].(string); ok {
		if r, ok := sizes[size]; ok {
			for i, k := range []string{"vcpu", "memoryMib", "diskMib"} {
				if _, set := out[k]; !set {
					out[k] = r[i]
				}
			}
		}
	}
	return out
}

func prune(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if p := prune(e); p != nil {
				out[k] = p
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		if len(x) == 0 {
			return nil
		}
		out := make([]any, 0, len(x))
		for _, e := range x {
			if p := prune(e); p != nil {
				e = p
			}
			out = append(out, e)
		}
		return out
	default:
		return v
	}
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
