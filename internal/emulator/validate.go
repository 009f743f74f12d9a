package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"

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

// noPosition is a schema.Locator for specs that did not come from a file.
type noPosition struct{}

func (noPosition) Locate(string) (line, col int) { return 0, 0 }

// checkSpec validates a build spec (a decoded JSON value) against the
// embedded schema and returns its problems; fields look like
// "build_spec.steps[0].run" and codes are the schema package's rules
// ("schema", "unknown-key").
func checkSpec(spec any) []fieldError {
	var errs []fieldError
	for _, d := range schema.Default().Check("", noPosition{}, spec) {
		errs = append(errs, fieldError{Code: d.Rule, Field: d.Field, Message: d.Message})
	}
	return errs
}

// normalize returns a copy of a valid spec with null values and empty maps
// and lists dropped and the defaults (workdir "/workspace", user "root")
// filled in.
func normalize(spec map[string]any) map[string]any {
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
