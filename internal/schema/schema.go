package schema

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
	"github.com/miosa-dev/sandbox-templates-action/internal/textsafe"
)

//go:embed build-spec.schema.json
var embedded []byte

// resourceURL names the document being compiled; nothing is fetched from it.
const resourceURL = "mem:///build-spec.schema.json"

// Embedded returns the embedded build_spec schema document.
func Embedded() []byte {
	return slices.Clone(embedded)
}

// compiled is the embedded schema, compiled on first use.
var compiled = sync.OnceValue(func() *Schema {
	s, err := Compile(embedded)
	if err != nil {
		panic("schema: embedded schema does not compile: " + err.Error())
	}
	return s
})

// Default returns the embedded schema, compiled once.
func Default() *Schema {
	return compiled()
}

// Schema is a compiled build_spec schema.
type Schema struct {
	sch *jsonschema.Schema
	at  map[string]*jsonschema.Schema // every subschema by location, for key suggestions
}

// Locator maps a JSON Pointer inside build_spec to a YAML line and column.
// *spec.Template satisfies it.
type Locator interface {
	Locate(pointer string) (line, col int)
}

// KeyLocator is a Locator that can also find the key of a value; unknown
// keys are reported at the key when the Locator offers this.
type KeyLocator interface {
	Locator
	LocateKey(pointer string) (line, col int)
}

// noRemote refuses every $ref outside the document: compiling never reads a
// file or opens a connection.
type noRemote struct{}

func (noRemote) Load(url string) (any, error) {
	return nil, fmt.Errorf("schema refers to %s: only references inside the document are allowed", url)
}

// Compile compiles a schema document (the embedded one or the server's).
// Schemas without $schema are read as draft 2020-12.
func Compile(doc []byte) (*Schema, error) {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return nil, fmt.Errorf("parse schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(noRemote{})
	if err := c.AddResource(resourceURL, v); err != nil {
		return nil, fmt.Errorf("add schema: %w", err)
	}
	sch, err := c.Compile(resourceURL)
	if err != nil {
		return nil, fmt.Errorf("compile schema: %w", err)
	}
	s := &Schema{sch: sch, at: map[string]*jsonschema.Schema{}}
	s.index(sch)
	return s, nil
}

// index records sch and every schema below it by location.
func (s *Schema) index(sch *jsonschema.Schema) {
	if sch == nil || s.at[sch.Location] != nil {
		return
	}
	s.at[sch.Location] = sch
	for _, c := range []*jsonschema.Schema{sch.Ref, sch.Not, sch.If, sch.Then, sch.Else, sch.PropertyNames,
		sch.UnevaluatedProperties, sch.Items2020, sch.Contains, sch.UnevaluatedItems, sch.ContentSchema} {
		s.index(c)
	}
	for _, l := range [][]*jsonschema.Schema{sch.AllOf, sch.AnyOf, sch.OneOf, sch.PrefixItems} {
		for _, c := range l {
			s.index(c)
		}
	}
	for _, c := range sch.Properties {
		s.index(c)
	}
	for _, c := range sch.DependentSchemas {
		s.index(c)
	}
	for _, a := range []any{sch.AdditionalProperties, sch.Items, sch.AdditionalItems} {
		switch a := a.(type) {
		case *jsonschema.Schema:
			s.index(a)
		case []*jsonschema.Schema:
			for _, c := range a {
				s.index(c)
			}
		}
	}
}

// printer renders the library's messages for kinds without a message here.
var printer = message.NewPrinter(language.English)

// Check validates spec (a JSON-compatible value) and returns one diagnostic
// per problem, positioned through loc. file is the repo-relative path.
func (s *Schema) Check(file string, loc Locator, spec any) diag.List {
	err := s.sch.Validate(spec)
	if err == nil {
		return nil
	}
	c := checker{s: s, file: file, loc: loc, spec: spec}
	var verr *jsonschema.ValidationError
	if !errors.As(err, &verr) {
		c.add("", "build_spec", "schema", "cannot validate: "+err.Error())
		return c.diags
	}
	for _, leaf := range leaves(verr) {
		c.report(leaf)
	}
	c.diags.Sort()
	return c.diags
}

// leaves returns the errors to report: the leaf causes, with anyOf/oneOf
// reduced to the alternative that came closest, except a failed choice
// between required keys, which is kept whole.
func leaves(e *jsonschema.ValidationError) []*jsonschema.ValidationError {
	switch e.ErrorKind.(type) {
	case *kind.AnyOf, *kind.OneOf:
		if len(e.Causes) == 0 || allRequired(e) {
			return []*jsonschema.ValidationError{e}
		}
		var best []*jsonschema.ValidationError
		for _, c := range e.Causes {
			if l := leaves(c); best == nil || len(l) < len(best) {
				best = l
			}
		}
		return best
	}
	if len(e.Causes) == 0 {
		return []*jsonschema.ValidationError{e}
	}
	var out []*jsonschema.ValidationError
	for _, c := range e.Causes {
		out = append(out, leaves(c)...)
	}
	return out
}

// allRequired reports whether every leaf below e is a Required error at e's
// instance location.
func allRequired(e *jsonschema.ValidationError) bool {
	for _, c := range e.Causes {
		if len(c.Causes) > 0 {
			if !allRequired(c) {
				return false
			}
			continue
		}
		if _, ok := c.ErrorKind.(*kind.Required); !ok || !slices.Equal(c.InstanceLocation, e.InstanceLocation) {
			return false
		}
	}
	return true
}

// hints explain well-known keys when they are missing.
var hints = map[string]string{
	"from": "an OCI image such as node:22-bookworm",
	"run":  "the shell command to run",
}

// checker turns validation errors into diagnostics for one spec.
type checker struct {
	s     *Schema
	file  string
	loc   Locator
	spec  any
	diags diag.List
}

func (c *checker) add(pointer, field, rule, msg string) {
	line, col := c.loc.Locate(pointer)
	c.addAt(line, col, field, rule, msg)
}

func (c *checker) addAt(line, col int, field, rule, msg string) {
	c.diags = append(c.diags, diag.Diagnostic{Path: c.file, Line: line, Col: col, Field: field,
		Message: msg, Rule: rule, Severity: diag.Error})
}

// report adds the diagnostic for one leaf error.
func (c *checker) report(e *jsonschema.ValidationError) {
	ptr := pointer(e.InstanceLocation)
	field, value := c.walk(e.InstanceLocation)
	switch k := e.ErrorKind.(type) {
	case *kind.AnyOf, *kind.OneOf:
		var missing []string
		var walk func(*jsonschema.ValidationError)
		walk = func(e *jsonschema.ValidationError) {
			if r, ok := e.ErrorKind.(*kind.Required); ok {
				missing = append(missing, r.Missing...)
			}
			for _, c := range e.Causes {
				walk(c)
			}
		}
		walk(e)
		if len(missing) == 0 {
			c.add(ptr, field, "schema", "does not match any of the allowed forms")
			return
		}
		c.add(ptr+"/"+escape(missing[0]), field, "schema", "missing "+alternatives(missing))
	case *kind.Required:
		c.add(ptr+"/"+escape(k.Missing[0]), field, "schema", "missing "+listMissing(k.Missing))
	case *kind.AdditionalProperties:
		c.unknown(e, ptr, field, k.Properties)
	case *kind.Type:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = article(w)
		}
		msg := "must be " + strings.Join(want, " or ") + ", found " + describe(value)
		if slices.Contains(k.Want, "string") && isScalar(value) {
			msg += "; quote it to make it a string"
		}
		msg += typeHint(k.Want, value, c.s.at[e.SchemaURL], field)
		c.add(ptr, field, "schema", msg)
	case *kind.Enum:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = display(w)
		}
		c.add(ptr, field, "schema", display(value)+" is not one of "+strings.Join(want, ", "))
	case *kind.Const:
		c.add(ptr, field, "schema", display(value)+" must be "+display(k.Want))
	case *kind.Minimum:
		c.add(ptr, field, "schema", ratString(k.Got)+" is less than the minimum "+ratString(k.Want))
	case *kind.Maximum:
		c.add(ptr, field, "schema", ratString(k.Got)+" is greater than the maximum "+ratString(k.Want))
	case *kind.ExclusiveMinimum:
		c.add(ptr, field, "schema", ratString(k.Got)+" must be greater than "+ratString(k.Want))
	case *kind.ExclusiveMaximum:
		c.add(ptr, field, "schema", ratString(k.Got)+" must be less than "+ratString(k.Want))
	case *kind.MinLength:
		if k.Want == 1 {
			c.add(ptr, field, "schema", "must not be empty")
		} else {
			c.add(ptr, field, "schema", fmt.Sprintf("%s is shorter than %d characters", display(value), k.Want))
		}
	case *kind.MaxLength:
		c.add(ptr, field, "schema", fmt.Sprintf("is longer than %d characters", k.Want))
	case *kind.MinItems:
		c.add(ptr, field, "schema", fmt.Sprintf("must have at least %d items, found %d", k.Want, k.Got))
	case *kind.MaxItems:
		c.add(ptr, field, "schema", fmt.Sprintf("must have at most %d items, found %d", k.Want, k.Got))
	case *kind.Pattern:
		c.add(ptr, field, "schema", fmt.Sprintf("%s does not match the pattern %s", display(value), strconv.Quote(k.Want)))
	default:
		c.add(ptr, field, "schema", textsafe.Flatten(e.ErrorKind.LocalizedString(printer)))
	}
}

// unknown reports keys rejected by additionalProperties, with a suggestion
// from the properties the schema does know at that place.
func (c *checker) unknown(e *jsonschema.ValidationError, ptr, field string, props []string) {
	var known []string
	if sch := c.s.at[e.SchemaURL]; sch != nil {
		for p := range sch.Properties {
			known = append(known, p)
		}
	}
	slices.Sort(known)
	for _, p := range props {
		msg := "unknown key " + diag.Quote(p)
		switch s := diag.Suggest(p, known); {
		case s != "":
			msg += "; did you mean " + strconv.Quote(s) + "?"
		case len(known) > 0:
			msg += "; expected one of " + diag.JoinQuoted(known)
		}
		kp := ptr + "/" + escape(p)
		line, col := c.loc.Locate(kp)
		if kl, ok := c.loc.(KeyLocator); ok {
			line, col = kl.LocateKey(kp)
		}
		c.addAt(line, col, field, "unknown-key", msg)
	}
}

// walk follows an instance location through the spec, returning the field
// path ("build_spec.steps[0].run") and the value found there.
func (c *checker) walk(loc []string) (string, any) {
	field, v := "build_spec", c.spec
	for _, tok := range loc {
		switch cur := v.(type) {
		case []any:
			if i, err := strconv.Atoi(tok); err == nil && i >= 0 && i < len(cur) {
				field, v = diag.FieldIndex(field, i), cur[i]
				continue
			}
		case map[string]any:
			field, v = diag.FieldKey(field, tok), cur[tok]
			continue
		}
		field, v = diag.FieldKey(field, tok), nil
	}
	return field, v
}

// pointer renders an instance location as a JSON Pointer.
func pointer(loc []string) string {
	var b strings.Builder
	for _, tok := range loc {
		b.WriteByte('/')
		b.WriteString(escape(tok))
	}
	return b.String()
}

// escape escapes one JSON Pointer token.
func escape(tok string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(tok)
}

// alternatives renders `"from" (hint) or "runtime"`.
func alternatives(keys []string) string {
	q := make([]string, 0, len(keys))
	for _, k := range keys {
		if !slices.Contains(q, withHint(k)) {
			q = append(q, withHint(k))
		}
	}
	return strings.Join(q, " or ")
}

// listMissing renders `"run" (hint)` or `"a", "b"`.
func listMissing(keys []string) string {
	q := make([]string, len(keys))
	for i, k := range keys {
		q[i] = withHint(k)
	}
	return strings.Join(q, ", ")
}

// withHint quotes a key and adds its explanation when one is known.
func withHint(key string) string {
	if h := hints[key]; h != "" {
		return diag.Quote(key) + " (" + h + ")"
	}
	return diag.Quote(key)
}

// article gives a JSON type its YAML name with an article.
func article(t string) string {
	switch t {
	case "object":
		return "a mapping"
	case "array":
		return "a list"
	case "integer":
		return "an integer"
	case "null":
		return "null"
	}
	return "a " + t
}

// isScalar reports whether v is a number or boolean (something quoting
// would turn into a string).
func isScalar(v any) bool {
	switch v.(type) {
	case bool, int, int64, float64:
		return true
	}
	return false
}

// describe names a value for a message: `a string "x"`, `an integer 2`.
func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return "a string " + diag.Quote(v)
	case bool:
		return "a boolean " + strconv.FormatBool(v)
	case int, int64:
		return fmt.Sprintf("an integer %d", v)
	case float64:
		return "a number " + strconv.FormatFloat(v, 'g', -1, 64)
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("a %T", v)
}

// display renders a value as the user would write it in a message.
func display(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return diag.Quote(v)
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return textsafe.Flatten(fmt.Sprint(v))
}

// ratString renders a schema bound or value.
func ratString(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return strconv.FormatFloat(f, 'g', -1, 64)
}
