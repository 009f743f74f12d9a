package settings

import (
	"fmt"
	"strings"
)

// ActionInputs renders action.yml's inputs block (from "inputs:" to the
// line before "outputs:").
func ActionInputs() string {
	var b strings.Builder
	b.WriteString("inputs:\n")
	for _, s := range All {
		fmt.Fprintf(&b, "  %s:\n", s.Name)
		desc := s.Description
		if desc == "" {
			desc = s.Usage
		}
		b.WriteString("    description: >-\n")
		for _, l := range wrap(desc, 70) {
			b.WriteString("      " + l + "\n")
		}
		b.WriteString("    required: false\n")
		switch {
		case strings.Contains(s.Default, "\n"):
			b.WriteString("    default: |\n")
			for _, l := range strings.Split(s.Default, "\n") {
				b.WriteString("      " + l + "\n")
			}
		case s.Default == "" || s.Kind == Bool || s.Kind == Int:
			fmt.Fprintf(&b, "    default: %q\n", s.Default)
		default:
			fmt.Fprintf(&b, "    default: %s\n", s.Default)
		}
	}
	return b.String()
}

// ReadmeInputs renders the README's Inputs table.
func ReadmeInputs() string {
	var b strings.Builder
	b.WriteString("| input | default | meaning |\n|---|---|---|\n")
	for _, s := range All {
		def := s.DefaultDoc
		if def == "" {
			def = "`" + s.Default + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", s.Name, def, s.Usage)
	}
	return b.String()
}

// wrap breaks text into lines of at most width characters at spaces.
func wrap(text string, width int) []string {
	var out []string
	line := ""
	for _, w := range strings.Fields(text) {
		switch {
		case line == "":
			line = w
		case len(line)+1+len(w) > width:
			out = append(out, line)
			line = w
		default:
			line += " " + w
		}
	}
	if line != "" {
		out = append(out, line)
	}
	return out
}

// Splice replaces the part of doc that starts at the line beginning with
// start and ends before the line beginning with end (or, with end empty, at
// the first blank line) with part.
func Splice(doc, start, end, part string) (string, error) {
	i := strings.Index(doc, "\n"+start)
	if i < 0 {
		return "", fmt.Errorf("no line starting with %q", start)
	}
	i++
	var j int
	if end == "" {
		k := strings.Index(doc[i:], "\n\n")
		if k < 0 {
			return "", fmt.Errorf("no blank line after %q", start)
		}
		j = i + k + 1
	} else {
		k := strings.Index(doc[i:], "\n"+end)
		if k < 0 {
			return "", fmt.Errorf("no line starting with %q after %q", end, start)
		}
		j = i + k + 1
	}
	return doc[:i] + part + doc[j:], nil
}
