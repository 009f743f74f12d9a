package miosa

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file reads JSON the tolerant way: values are decoded into `any` with
// json.Number, and each field is looked up under every name the API page
// lists and converted from whatever type it arrived in. Unknown fields are
// ignored; a field of an unexpected type reads as its zero value.

// parseJSON decodes one JSON value.
func parseJSON(body []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after JSON value")
	}
	return v, nil
}

// envelope reports whether v is an envelope, an object with an object or
// array under "data" and none of the keys a bare value would have, and
// returns what is under "data".
func envelope(v any, bareKeys ...string) (any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	for _, k := range bareKeys {
		if _, ok := m[k]; ok {
			return nil, false
		}
	}
	switch d := m["data"].(type) {
	case map[string]any, []any:
		return d, true
	}
	return nil, false
}

// unwrapData returns what is under "data" when v is an envelope, else v.
func unwrapData(v any, bareKeys ...string) any {
	if d, ok := envelope(v, bareKeys...); ok {
		return d
	}
	return v
}

// obj is a decoded JSON object with tolerant accessors.
type obj map[string]any

// asObj returns v as an object, or nil.
func asObj(v any) obj {
	m, _ := v.(map[string]any)
	return m
}

// first returns the value under the first key present and not null.
func (o obj) first(keys ...string) any {
	for _, k := range keys {
		if v, ok := o[k]; ok && v != nil {
			return v
		}
	}
	return nil
}

// str reads a string; numbers and booleans read as their JSON text.
func (o obj) str(keys ...string) string {
	return toStr(o.first(keys...))
}

func toStr(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

// integer reads an integer from a number or a numeric string; fractions are
// truncated, anything else reads as 0.
func (o obj) integer(keys ...string) int64 {
	n, _ := toInt(o.first(keys...))
	return n
}

func toInt(v any) (int64, bool) {
	var s string
	switch v := v.(type) {
	case json.Number:
		s = v.String()
	case string:
		s = strings.TrimSpace(v)
	default:
		return 0, false
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f > math.MaxInt64 || f < math.MinInt64 {
		return 0, false
	}
	return int64(f), true
}

// toFloat reads a number or a numeric string.
func toFloat(v any) (float64, bool) {
	var s string
	switch v := v.(type) {
	case json.Number:
		s = v.String()
	case string:
		s = strings.TrimSpace(v)
	default:
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// boolean reads true, false, "true", "false", 1 or 0.
func (o obj) boolean(keys ...string) bool {
	b, _ := toBool(o.first(keys...))
	return b
}

func toBool(v any) (value, ok bool) {
	switch v := v.(type) {
	case bool:
		return v, true
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		return b, err == nil
	case json.Number:
		n, err := v.Int64()
		return n != 0, err == nil
	}
	return false, false
}

// timeLayouts are the timestamp forms accepted, RFC 3339 first; Elixir's
// naive datetimes carry no zone and are read as UTC.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
}

// timestamp reads a timestamp string or Unix seconds (milliseconds when large);
// anything else reads as nil.
func (o obj) timestamp(keys ...string) *time.Time {
	switch v := o.first(keys...).(type) {
	case string:
		s := strings.TrimSpace(v)
		for _, layout := range timeLayouts {
			if t, err := time.Parse(layout, s); err == nil {
				t = t.UTC()
				return &t
			}
		}
	case json.Number:
		n, ok := toInt(v)
		if !ok || n <= 0 {
			return nil
		}
		var t time.Time
		if n > 1e12 {
			t = time.UnixMilli(n).UTC()
		} else {
			t = time.Unix(n, 0).UTC()
		}
		return &t
	}
	return nil
}

// object reads a JSON object as a plain map whose numbers are int64 (when
// integral) or float64, the JSON-compatible form the rest of the project uses.
func (o obj) object(keys ...string) map[string]any {
	m, ok := o.first(keys...).(map[string]any)
	if !ok {
		return nil
	}
	out, _ := plain(m).(map[string]any)
	return out
}

// plain converts json.Number values inside v to int64 or float64. It builds
// new maps and slices, so v is left untouched.
func plain(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = plain(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = plain(e)
		}
		return out
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return n
		}
		if f, ok := toFloat(v); ok {
			return f
		}
		return v.String()
	}
	return v
}

// strList reads a list of strings; a single string reads as a list of one,
// and list members that are not strings or numbers are skipped.
func (o obj) strList(keys ...string) []string {
	return toStrList(o.first(keys...))
}

func toStrList(v any) []string {
	switch v := v.(type) {
	case string:
		if v == "" {
			return nil
		}
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			if s := toStr(e); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// fieldErrors reads the "errors" forms of the API page: a list of
// {code, field, message} objects, a list of plain strings, or a map from
// field to a list of messages (or one message). Map entries come out sorted
// by field.
func fieldErrors(v any) []FieldError {
	var out []FieldError
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			if s := toStr(e); s != "" {
				out = append(out, FieldError{Message: s})
				continue
			}
			if o := asObj(e); o != nil {
				fe := FieldError{
					Code:    o.str("code", "type"),
					Field:   o.str("field", "path", "pointer", "attribute", "key"),
					Message: o.str("message", "msg", "detail", "error"),
				}
				if fe.Field == "" {
					fe.Field = locPath(o.first("loc"))
				}
				if fe != (FieldError{}) {
					out = append(out, fe)
				}
			}
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			for _, m := range toStrList(v[k]) {
				out = append(out, FieldError{Field: k, Message: m})
			}
			if o := asObj(v[k]); o != nil {
				out = append(out, FieldError{Field: k, Code: o.str("code"), Message: o.str("message", "msg")})
			}
		}
	case string:
		if v != "" {
			out = append(out, FieldError{Message: v})
		}
	}
	return out
}

// locPath joins a FastAPI-style "loc" list into a dotted field path.
func locPath(v any) string {
	parts, ok := v.([]any)
	if !ok {
		return ""
	}
	var ss []string
	for _, p := range parts {
		if s := toStr(p); s != "" {
			ss = append(ss, s)
		}
	}
	return strings.Join(ss, ".")
}

// errorBody is what an error response says, before cleaning.
type errorBody struct {
	code       string
	message    string
	requestID  string
	retryable  *bool // error.retryable when the body has it
	retryAfter string
	fields     []FieldError
	notJSON    bool // the body is not JSON at all
	scalar     bool // the body is a bare JSON string, number or literal
}

// fromAPI reports whether the body is one of the API's error forms, rather
// than a page from something else at that URL.
func (eb errorBody) fromAPI() bool {
	return !eb.notJSON && !eb.scalar && (eb.code != "" || eb.message != "" || len(eb.fields) > 0)
}

// maxSnippet bounds, in runes, the text of a non-JSON error body quoted in
// an error.
const maxSnippet = 200

// parseErrorBody reads every error body form of the API page:
// {"error": {code, message, request_id, retryable, retry_after}, "errors": ...},
// {"error": "msg"}, {"message": "..."}, {"detail": "..."} and
// {"errors": ["..."]}. A body that is not JSON yields its first characters as
// the message unless it looks like HTML.
func parseErrorBody(body []byte) errorBody {
	var eb errorBody
	v, err := parseJSON(body)
	if err != nil {
		eb.notJSON = true
		text := bytes.TrimSpace(body)
		if len(text) > 0 && text[0] != '<' {
			eb.message = oneLine(string(text), maxSnippet)
		}
		return eb
	}
	if list, ok := v.([]any); ok {
		eb.fields = fieldErrors(list)
		return eb
	}
	o := asObj(v)
	if o == nil {
		eb.message = toStr(v)
		eb.scalar = true
		return eb
	}
	switch e := o["error"].(type) {
	case map[string]any:
		eo := obj(e)
		eb.code = eo.str("code", "type")
		eb.message = eo.str("message", "detail", "description")
		eb.requestID = eo.str("request_id")
		eb.retryAfter = eo.str("retry_after")
		if b, ok := toBool(eo.first("retryable")); ok {
			eb.retryable = &b
		}
		eb.fields = fieldErrors(eo.first("errors", "fields"))
	case string:
		eb.message = e
	}
	eb.code = cmp.Or(eb.code, o.str("code", "error_code"))
	eb.message = cmp.Or(eb.message, o.str("message", "error_message"), toStr(o["detail"]))
	eb.requestID = cmp.Or(eb.requestID, o.str("request_id"))
	eb.retryAfter = cmp.Or(eb.retryAfter, o.str("retry_after"))
	if eb.retryable == nil {
		if b, ok := toBool(o.first("retryable")); ok {
			eb.retryable = &b
		}
	}
	eb.fields = append(eb.fields, fieldErrors(o.first("errors"))...)
	if d, ok := o["detail"].([]any); ok {
		eb.fields = append(eb.fields, fieldErrors(d)...)
	}
	return eb
}
