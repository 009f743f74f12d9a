package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
	"github.com/miosa-dev/sandbox-templates-action/internal/textsafe"
)

// topKeys are the keys a template file may have, in documentation order.
var topKeys = []string{"name", "description", "metadata", "build_spec"}

// SpecKeys are the fields of a build_spec, as the embedded schema names them
// (a test keeps the two equal): a top-level key among them is a field that
// lost its indentation under build_spec.
var SpecKeys = []string{"from", "size", "vcpu", "memoryMib", "diskMib", "steps", "env", "workdir", "user",
	"startCmd", "readyCmd", "previewPort", "artifactPaths", "runtime", "version", "packages"}

// parser collects the diagnostics of one file.
type parser struct {
	file  string // as displayed
	diags diag.List
}

func (p *parser) add(line, col int, field, rule, msg string) {
	p.diags = append(p.diags, fileDiag(p.file, line, col, field, rule, msg))
}

func (p *parser) addAt(n *yaml.Node, field, rule, msg string) {
	p.add(n.Line, n.Column, field, rule, msg)
}

// Parse reads one template file's bytes. file is the repo-relative path used
// in diagnostics and as Template.File. The template is nil when the file has
// no readable build_spec.
func Parse(file string, data []byte) (*Template, diag.List) {
	p := &parser{file: displayPath(file)}
	if line, col, msg := scanEncoding(data); msg != "" {
		p.add(line, col, "", "encoding", msg)
		return nil, p.diags
	}
	doc, ok := p.decode(data)
	if !ok {
		return nil, p.diags
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind == yaml.ScalarNode && doc.Content[0].ShortTag() == "!!null" {
		p.add(max(doc.Line, 1), max(doc.Column, 1), "", "empty", "the YAML document is empty; a template file needs at least build_spec")
		return nil, p.diags
	}
	root := doc.Content[0]
	if !p.checkTree(root) {
		return nil, p.diags
	}
	if root.Kind != yaml.MappingNode {
		p.addAt(root, "", "type", "a template file must be a mapping with the keys "+diag.JoinQuoted(topKeys)+"; found "+describe(root))
		return nil, p.diags
	}
	t := &Template{File: file, Line: 1, Col: 1}
	var specKey, specVal *yaml.Node
	var unindented []string // build_spec fields found at the top level
	named := false
	for _, kv := range p.pairs(root, "") {
		k, v := kv[0], kv[1]
		switch k.Value {
		case "name":
			named = true
			p.name(t, k, v)
		case "description":
			if s, ok := p.str(v, "description"); ok {
				t.Description = s
			}
			t.DescLine, t.DescCol = v.Line, v.Column
		case "metadata":
			t.Metadata = p.metadata(v)
		case "build_spec":
			specKey, specVal = k, v
		default:
			if !slices.Contains(SpecKeys, k.Value) {
				p.unknownKey(k, "", "the template file", topKeys)
				break
			}
			unindented = append(unindented, strconv.Quote(k.Value))
			p.addAt(k, "", "unknown-key", "unknown key "+strconv.Quote(k.Value)+" in the template file; it is a build_spec field: indent it under build_spec")
		}
	}
	// What build_spec lacks, when its fields sit at the top level.
	unindentedFields, them := "the build_spec field "+strings.Join(unindented, ", ")+" is at the top level", "it"
	if len(unindented) > 1 {
		unindentedFields, them = "the build_spec fields "+strings.Join(unindented, ", ")+" are at the top level", "them"
	}
	if !named {
		t.Name = strings.TrimSuffix(path.Base(file), path.Ext(file))
		if why := nameProblem(t.Name); why != "" {
			p.add(1, 1, "", "name", fmt.Sprintf("the file name gives the template name %s, which %s; rename the file or set \"name:\"", diag.Quote(t.Name), why))
		}
	}
	switch {
	case specKey == nil && len(unindented) > 0:
		p.addAt(root, "", "required", `missing "build_spec"; `+unindentedFields+`: add a "build_spec:" line and indent `+them+` under build_spec`)
	case specKey == nil:
		p.addAt(root, "", "required", `missing "build_spec" (what to build: at least "from", an OCI image such as node:22-bookworm)`)
	case specVal.Kind == yaml.ScalarNode && specVal.ShortTag() == "!!null" && len(unindented) > 0:
		p.addAt(specKey, "build_spec", "type", "is empty; "+unindentedFields+": indent "+them+" under build_spec")
	case specVal.Kind == yaml.ScalarNode && specVal.ShortTag() == "!!null":
		p.addAt(specKey, "build_spec", "type", `is empty; it needs "from" (an OCI image such as node:22-bookworm) or "runtime"`)
	case specVal.Kind != yaml.MappingNode:
		p.addAt(specVal, "build_spec", "type", "must be a mapping, found "+describe(specVal))
	default:
		before := len(p.diags)
		v := p.value(specVal, "build_spec")
		if len(p.diags) == before {
			t.BuildSpec = v.(map[string]any)
			t.specKey, t.specVal = specKey, specVal
		}
	}
	if t.specVal == nil {
		return nil, p.diags
	}
	return t, p.diags
}

// name sets t.Name from a `name:` entry.
func (p *parser) name(t *Template, k, v *yaml.Node) {
	if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null" {
		p.addAt(k, "name", "name", "is empty; set a name or remove the key to use the file name")
		return
	}
	s, ok := p.str(v, "name")
	if !ok {
		return
	}
	t.Name, t.Line, t.Col = s, v.Line, v.Column
	if why := nameProblem(s); why != "" {
		p.addAt(v, "name", "name", diag.Quote(s)+" "+why)
	}
}

// nameProblem says why s is not a valid template name, or "".
func nameProblem(s string) string {
	const rule = "is not a valid name: use lowercase letters, digits and \"-\", 1 to 63 characters, not starting or ending with \"-\""
	if s == "" || utf8.RuneCountInString(s) > MaxNameLen || s[0] == '-' || s[len(s)-1] == '-' {
		return rule
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return rule
		}
	}
	return ""
}

// str reads a string scalar, reporting anything else.
func (p *parser) str(v *yaml.Node, field string) (string, bool) {
	switch {
	case v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null":
		return "", true
	case v.Kind == yaml.ScalarNode && (v.ShortTag() == "!!str" || v.ShortTag() == "!!timestamp"):
		return v.Value, true
	}
	msg := "must be a string, found " + describe(v)
	if v.Kind == yaml.ScalarNode {
		msg += "; quote it to use it as text"
	}
	p.addAt(v, field, "type", msg)
	return "", false
}

// metadata reads the `metadata:` string map.
func (p *parser) metadata(v *yaml.Node) map[string]string {
	if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null" {
		return nil
	}
	if v.Kind != yaml.MappingNode {
		p.addAt(v, "metadata", "type", "must be a mapping of strings, found "+describe(v))
		return nil
	}
	m := map[string]string{}
	for _, kv := range p.pairs(v, "metadata") {
		if s, ok := p.str(kv[1], diag.FieldKey("metadata", kv[0].Value)); ok {
			m[kv[0].Value] = s
		}
	}
	return m
}

// unknownKey reports a key that is not one of valid.
func (p *parser) unknownKey(k *yaml.Node, field, where string, valid []string) {
	msg := "unknown key " + diag.Quote(k.Value) + " in " + where
	if s := diag.Suggest(k.Value, valid); s != "" {
		msg += "; did you mean " + strconv.Quote(s) + "?"
	} else {
		msg += "; expected one of " + diag.JoinQuoted(valid)
	}
	p.addAt(k, field, "unknown-key", msg)
}

// pairs returns the key/value pairs of a mapping whose keys are plain
// strings, reporting other keys and repeated keys.
func (p *parser) pairs(m *yaml.Node, field string) [][2]*yaml.Node {
	out := make([][2]*yaml.Node, 0, len(m.Content)/2)
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		switch {
		case k.Kind != yaml.ScalarNode:
			p.addAt(k, field, "key", "a key must be a string, found "+describe(k))
			continue
		case k.ShortTag() == "!!merge":
			p.addAt(k, field, "key", "merge keys (<<) are not supported; write the keys out")
			continue
		case k.ShortTag() != "!!str":
			p.addAt(k, field, "key", "a key must be a string, found "+describe(k)+"; quote it to use it as a key")
			continue
		}
		if prev, dup := seen[k.Value]; dup {
			p.addAt(k, field, "duplicate-key", fmt.Sprintf("key %s is already defined at line %d", diag.Quote(k.Value), prev.Line))
			continue
		}
		seen[k.Value] = k
		out = append(out, [2]*yaml.Node{k, v})
	}
	return out
}

// value converts a checked node to a JSON-compatible value.
func (p *parser) value(n *yaml.Node, field string) any {
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for _, kv := range p.pairs(n, field) {
			m[kv[0].Value] = p.value(kv[1], diag.FieldKey(field, kv[0].Value))
		}
		return m
	case yaml.SequenceNode:
		l := make([]any, len(n.Content))
		for i, c := range n.Content {
			l[i] = p.value(c, diag.FieldIndex(field, i))
		}
		return l
	case yaml.ScalarNode:
		return p.scalar(n, field)
	}
	p.addAt(n, field, "yaml", "unsupported YAML node")
	return nil
}

// scalar converts a scalar to string, bool, nil, int64 or float64.
func (p *parser) scalar(n *yaml.Node, field string) any {
	switch tag := n.ShortTag(); tag {
	case "!!str", "!!timestamp":
		return n.Value
	case "!!null":
		return nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err == nil {
			return b
		}
	case "!!int":
		var i int64
		if err := n.Decode(&i); err == nil {
			return i
		}
		var u uint64
		if err := n.Decode(&u); err == nil {
			return float64(u)
		}
	case "!!float":
		var f float64
		if err := n.Decode(&f); err == nil {
			if math.IsNaN(f) || math.IsInf(f, 0) {
				p.addAt(n, field, "yaml", diag.Quote(n.Value)+" is not a finite number; quote it to use it as text")
				return nil
			}
			return f
		}
	default:
		p.addAt(n, field, "yaml", "tag "+diag.Quote(tag)+" is not supported; use plain YAML values")
		return nil
	}
	p.addAt(n, field, "yaml", "cannot read "+diag.Quote(n.Value)+" as "+n.ShortTag())
	return nil
}

// describe names what a node is, for messages: `a list`, `an integer 2`.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	literal := n.Value
	if strings.ContainsFunc(literal, func(r rune) bool { return r <= ' ' || r > '~' || r == '"' }) {
		literal = diag.Quote(literal)
	}
	switch n.ShortTag() {
	case "!!str", "!!timestamp":
		return "a string " + diag.Quote(n.Value)
	case "!!int":
		return "an integer " + literal
	case "!!float":
		return "a number " + literal
	case "!!bool":
		return "a boolean " + literal
	case "!!null":
		return "null"
	}
	return "a value tagged " + diag.Quote(n.ShortTag())
}

// checkTree rejects aliases and nesting deeper than MaxDepth, without
// following any alias. It reports whether the tree is acceptable.
func (p *parser) checkTree(root *yaml.Node) bool {
	var first *yaml.Node
	aliases := 0
	var deep *yaml.Node
	var walk func(n *yaml.Node, depth int)
	walk = func(n *yaml.Node, depth int) {
		if n.Kind == yaml.AliasNode {
			if aliases == 0 {
				first = n
			}
			aliases++
			return
		}
		if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
			depth++
			if depth > MaxDepth {
				if deep == nil {
					deep = n
				}
				return
			}
		}
		for _, c := range n.Content {
			walk(c, depth)
		}
	}
	walk(root, 0)
	if first != nil {
		msg := fmt.Sprintf("alias *%s is not allowed: template files may not use anchors and aliases; write the value out", first.Value)
		if aliases > 1 {
			msg += fmt.Sprintf(" (%d aliases in this file)", aliases)
		}
		p.addAt(first, "", "alias", msg)
	}
	if deep != nil {
		p.addAt(deep, "", "depth", fmt.Sprintf("nesting is deeper than %d levels", MaxDepth))
	}
	return first == nil && deep == nil
}

// yamlErr matches the position in yaml.v3's error messages.
var yamlErr = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// decode parses the single YAML document of a file. It reports syntax
// errors, empty files and files with more than one document.
func (p *parser) decode(data []byte) (doc *yaml.Node, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			p.add(1, 1, "", "yaml", "the YAML parser failed on this file")
			doc, ok = nil, false
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var first yaml.Node
	if err := dec.Decode(&first); err != nil {
		if errors.Is(err, io.EOF) {
			msg := "file is empty"
			if len(bytes.TrimSpace(data)) > 0 {
				msg = "file holds only comments"
			}
			p.add(1, 1, "", "empty", msg+"; a template file needs at least build_spec")
			return nil, false
		}
		p.yamlError(err, data)
		return nil, false
	}
	// A trailing "---" starts an empty document (editors and generators
	// leave one): accepted, with anything after it that is only comments
	// or blank lines. A document with content is a second template.
	for {
		var next yaml.Node
		switch err := dec.Decode(&next); {
		case errors.Is(err, io.EOF):
			return &first, true
		case err != nil:
			p.add(secondDocLine(data), 1, "", "multi-document", "file holds more than one YAML document; put each template in its own file")
			return nil, false
		case !emptyDocument(&next):
			p.add(next.Line, next.Column, "", "multi-document", "file holds more than one YAML document; put each template in its own file")
			return nil, false
		}
	}
}

// emptyDocument reports a document with nothing in it: what a "---" with
// only comments or blank lines after it decodes to. An explicit null (~)
// is content.
func emptyDocument(doc *yaml.Node) bool {
	if len(doc.Content) == 0 {
		return true
	}
	n := doc.Content[0]
	return len(doc.Content) == 1 && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" && n.Value == "" && n.Style == 0
}

// yamlError turns a yaml.v3 error into a positioned diagnostic.
func (p *parser) yamlError(err error, data []byte) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if strings.Contains(msg, "exceeded max depth") {
		line, col := depthPosition(data, MaxDepth)
		p.add(line, col, "", "depth", fmt.Sprintf("nesting is deeper than %d levels", MaxDepth))
		return
	}
	line := 1
	if m := yamlErr.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	col := 1
	if l := lineText(data, line); strings.HasPrefix(l, "\t") || strings.Contains(msg, "cannot start any token") && strings.HasPrefix(strings.TrimLeft(l, " "), "\t") {
		msg += " (YAML cannot be indented with tabs)"
	}
	p.add(line, col, "", "yaml", textsafe.Flatten(msg))
}

// lineText returns line n (1-based) of data.
func lineText(data []byte, n int) string {
	for i := 1; i < n; i++ {
		j := bytes.IndexByte(data, '\n')
		if j < 0 {
			return ""
		}
		data = data[j+1:]
	}
	if j := bytes.IndexByte(data, '\n'); j >= 0 {
		data = data[:j]
	}
	return string(data)
}

// secondDocLine finds the `---` that starts a second document, for files
// whose second document does not parse.
func secondDocLine(data []byte) int {
	content := false
	for i, l := range strings.Split(string(data), "\n") {
		t := strings.TrimRight(l, "\r")
		if t == "---" || strings.HasPrefix(t, "--- ") || t == "..." {
			if content {
				return i + 1
			}
			continue
		}
		if s := strings.TrimSpace(t); s != "" && !strings.HasPrefix(s, "#") && !strings.HasPrefix(s, "%") {
			content = true
		}
	}
	return 1
}

// scanEncoding finds the first NUL byte, control character or invalid UTF-8
// sequence and returns its 1-based line and column (in characters).
func scanEncoding(data []byte) (line, col int, msg string) {
	if bytes.HasPrefix(data, []byte{0xff, 0xfe}) || bytes.HasPrefix(data, []byte{0xfe, 0xff}) {
		return 1, 1, "file is UTF-16; save it as UTF-8"
	}
	line, col = 1, 1
	for i := 0; i < len(data); {
		b := data[i]
		if b < utf8.RuneSelf {
			switch {
			case b == 0:
				return line, col, "NUL byte: template files must be UTF-8 text"
			case b == '\n':
				line, col = line+1, 1
				i++
				continue
			case b < 0x20 && b != '\t' && b != '\r' || b == 0x7f:
				return line, col, fmt.Sprintf("control character %U is not allowed", b)
			}
			i++
			col++
			continue
		}
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n == 1 {
			return line, col, fmt.Sprintf("invalid UTF-8 byte 0x%02x: template files must be UTF-8 text", b)
		}
		if r >= 0x80 && r <= 0x9f && r != 0x85 {
			return line, col, fmt.Sprintf("control character %U is not allowed", r)
		}
		i += n
		col++
	}
	return 0, 0, ""
}

// depthPosition estimates where nesting first exceeds limit: it counts flow
// brackets outside quotes and comments, and compact "- " prefixes. It is
// only used to position the parser's own depth error.
func depthPosition(data []byte, limit int) (line, col int) {
	line, col = 1, 1
	depth := 0
	var quote byte
	lineStart := true
	dashes := 0
	comment := false
	for _, b := range data {
		switch {
		case b == '\n':
			line, col = line+1, 1
			lineStart, dashes, comment = true, 0, false
			if quote == '\'' || quote == '"' {
				lineStart = false
			}
			continue
		case comment:
		case quote != 0:
			if b == quote {
				quote = 0
			}
		case b == '\'' || b == '"':
			quote = b
			lineStart = false
		case b == '#':
			comment = true
		case b == '[' || b == '{':
			depth++
			lineStart = false
		case b == ']' || b == '}':
			depth = max(depth-1, 0)
			lineStart = false
		case b == '-' && lineStart:
			dashes++
		case b == ' ' || b == '\t':
		default:
			lineStart = false
		}
		if depth+dashes > limit {
			return line, col
		}
		col++
	}
	return 1, 1
}
