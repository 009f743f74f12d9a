package spec

import (
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
)

// Limits and defaults of the loader.
const (
	DefaultMaxFileSize int64 = 1 << 20 // bytes per file
	DefaultMaxFiles          = 10000   // matched files per run
	MaxDepth                 = 64      // nesting levels of YAML collections in a file
	MaxNameLen               = 63      // characters in a template name
)

// DefaultPatterns are the globs used when Options.Patterns is empty.
var DefaultPatterns = []string{"sandbox-templates/*.yaml", "sandbox-templates/*.yml"}

// Options says where Load looks for template files.
type Options struct {
	Root        string   // repository root; all paths are reported relative to it
	Patterns    []string // globs relative to Root, forward slashes; default DefaultPatterns
	MaxFileSize int64    // default DefaultMaxFileSize
	MaxFiles    int      // default DefaultMaxFiles
	// IfNoFiles says what patterns that match no file are: NoFilesError
	// (also for ""), NoFilesWarn or NoFilesIgnore.
	IfNoFiles string
}

// What Load reports when the patterns match no file (the if-no-files-found
// input): an error, so that a misspelt path never passes; a warning; or
// nothing (the caller says so in a notice).
const (
	NoFilesError  = "error"
	NoFilesWarn   = "warn"
	NoFilesIgnore = "ignore"
)

// Template is one template file as read from the repository.
type Template struct {
	Name        string // from `name:` or the file name without extension
	File        string // repo-relative, forward slashes
	Line, Col   int    // position of the `name:` value, or 1,1 when defaulted
	Description string // from `description:`
	DescLine    int    // position of the `description:` value; 0 when absent
	DescCol     int
	Metadata    map[string]string // from `metadata:`
	BuildSpec   map[string]any    // JSON-compatible values only
	// Blob is git's object id of the file's bytes (the hex sha1 of "blob
	// <size>\x00" and the bytes): what a commit's tree holds for the file
	// when it holds these bytes.
	Blob string

	specKey, specVal *yaml.Node // the `build_spec` key and value, for Locate
}

// Locate maps a JSON Pointer inside build_spec ("" is build_spec itself,
// "/steps/0/run" a nested value) to a YAML line and column: the value when it
// exists, else the key of the nearest existing parent.
func (t *Template) Locate(pointer string) (line, col int) {
	n, key := t.walk(pointer)
	if n == nil {
		return key.Line, key.Column
	}
	return n.Line, n.Column
}

// LocateKey is like Locate but gives the position of the key that holds the
// value (for a list item, the item itself). Unknown keys are reported there.
func (t *Template) LocateKey(pointer string) (line, col int) {
	_, key := t.walk(pointer)
	return key.Line, key.Column
}

// walk follows pointer from build_spec. It returns the node found (nil when
// the pointer leaves the document) and the key node of the deepest existing
// value.
func (t *Template) walk(pointer string) (node, key *yaml.Node) {
	if t.specVal == nil || t.specKey == nil {
		return nil, &yaml.Node{Line: t.Line, Column: t.Col}
	}
	n, key := t.specVal, t.specKey
	if pointer == "" {
		return n, key
	}
	if !strings.HasPrefix(pointer, "/") {
		return nil, key
	}
	for _, tok := range strings.Split(pointer[1:], "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		next, nextKey := child(n, tok)
		if next == nil {
			return nil, key
		}
		n, key = next, nextKey
	}
	return n, key
}

// child finds the value and key node for one pointer token.
func child(n *yaml.Node, tok string) (value, key *yaml.Node) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == tok {
				return n.Content[i+1], n.Content[i]
			}
		}
	case yaml.SequenceNode:
		i, err := strconv.Atoi(tok)
		if err == nil && i >= 0 && i < len(n.Content) && strconv.Itoa(i) == tok {
			return n.Content[i], n.Content[i]
		}
	}
	return nil, nil
}

// Filter keeps the templates named in names (all of them when names is
// empty). A name that matches no template is a diagnostic.
func Filter(ts []*Template, names []string) ([]*Template, diag.List) {
	want := map[string]bool{}
	var order []string
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n != "" && !want[n] {
			want[n] = true
			order = append(order, n)
		}
	}
	if len(want) == 0 {
		return ts, nil
	}
	var out []*Template
	have := map[string]bool{}
	var known []string
	for _, t := range ts {
		if !have[t.Name] {
			known = append(known, t.Name)
		}
		have[t.Name] = true
		if want[t.Name] {
			out = append(out, t)
		}
	}
	var diags diag.List
	for _, n := range order {
		if have[n] {
			continue
		}
		msg := "no template named " + diag.Quote(n) + " in this repository"
		if s := diag.Suggest(n, known); s != "" {
			msg += "; did you mean " + strconv.Quote(s) + "?"
		}
		diags = append(diags, diag.Diagnostic{Path: "templates", Message: msg, Rule: "unknown-template", Severity: diag.Error})
	}
	return out, diags
}
