package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
)

// NamePattern is the pattern of a template name in the file schema: the
// slug rule of package spec (lowercase letters, digits and "-", not starting
// or ending with "-"), written so that ECMAScript and RE2 read it alike.
const NamePattern = "^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"

// maxNameLen is spec.MaxNameLen; a test keeps them equal.
const maxNameLen = 63

// File returns the JSON Schema (draft 2020-12) of a whole template file:
// name, description, metadata and build_spec, the last being the embedded
// build_spec schema, under $defs. Its rules for the other keys are those of
// package spec, except the ones JSON Schema cannot state (a name taken from
// the file name, unique names, YAML anchors, file size). Editors such as
// yaml-language-server check files against it as they are typed.
func File() []byte {
	return slices.Clone(fileDoc())
}

var fileDoc = sync.OnceValue(func() []byte {
	doc, err := fileSchema(embedded)
	if err != nil {
		panic("schema: cannot build the file schema: " + err.Error())
	}
	return doc
})

// property is one subschema of the file schema, its keys in the order written.
type property struct {
	Ref                  string `json:"$ref,omitempty"`
	Description          string `json:"description,omitempty"`
	Type                 any    `json:"type,omitempty"`
	MinLength            int    `json:"minLength,omitempty"`
	MaxLength            int    `json:"maxLength,omitempty"`
	Pattern              string `json:"pattern,omitempty"`
	AdditionalProperties any    `json:"additionalProperties,omitempty"`
}

// fileSchema builds the file schema around buildSpec, the build_spec schema
// document.
func fileSchema(buildSpec []byte) ([]byte, error) {
	def, err := withoutKey(buildSpec, "$schema")
	if err != nil {
		return nil, err
	}
	doc := struct {
		Schema               string   `json:"$schema"`
		Title                string   `json:"title"`
		Description          string   `json:"description"`
		Type                 string   `json:"type"`
		Required             []string `json:"required"`
		AdditionalProperties bool     `json:"additionalProperties"`
		Properties           struct {
			Name        property `json:"name"`
			Description property `json:"description"`
			Metadata    property `json:"metadata"`
			BuildSpec   property `json:"build_spec"`
		} `json:"properties"`
		Defs struct {
			BuildSpec json.RawMessage `json:"build_spec"`
		} `json:"$defs"`
	}{
		Schema:               "https://json-schema.org/draft/2020-12/schema",
		Title:                "Miosa sandbox template file",
		Description:          "One file of sandbox-templates/: a template's name, description, metadata and build_spec. Printed by `sandbox-templates schema --file`.",
		Type:                 "object",
		Required:             []string{"build_spec"},
		AdditionalProperties: false,
	}
	doc.Properties.Name = property{
		Description: "Template name: lowercase letters, digits and \"-\", 1 to 63 characters, not starting or ending with \"-\"; unique across files. Optional: defaults to the file name without extension.",
		Type:        "string", MinLength: 1, MaxLength: maxNameLen, Pattern: NamePattern,
	}
	doc.Properties.Description = property{
		Description: "What the template is for.",
		Type:        []string{"string", "null"},
	}
	doc.Properties.Metadata = property{
		Description:          "String map sent on create as the template's metadata.",
		Type:                 []string{"object", "null"},
		AdditionalProperties: property{Type: []string{"string", "null"}},
	}
	doc.Properties.BuildSpec = property{Ref: "#/$defs/build_spec"}
	doc.Defs.BuildSpec = def
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// withoutKey returns the JSON object doc without its top-level member key,
// the other members in their order.
func withoutKey(doc []byte, key string) (json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object")
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		if tok == key {
			continue
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(tok)
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
