package diag

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Severity says whether a diagnostic fails the run.
type Severity string

// Severities.
const (
	Error   Severity = "error"
	Warning Severity = "warning"
)

// Diagnostic is one thing a person must act on: a problem in a user's file,
// or, with no Path, a problem of the run (an API failure, a timeout), whose
// Rule names its kind. Path is relative to the repository root and uses
// forward slashes. Line and Col are 1-based; 0 means unknown (a problem
// with the file as a whole).
type Diagnostic struct {
	Path     string   `json:"path"`
	Line     int      `json:"line"`
	Col      int      `json:"col"`
	Field    string   `json:"field,omitempty"`
	Message  string   `json:"message"`
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
}

// String renders the diagnostic as `path:line:col: field: message [rule]`,
// and one about the run, which has no path, as `error: message [rule]`.
func (d Diagnostic) String() string {
	var b strings.Builder
	b.WriteString(d.Path)
	if d.Path == "" {
		b.WriteString(string(cmp.Or(d.Severity, Error)))
	}
	if d.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", d.Line, max(d.Col, 1))
	}
	b.WriteString(": ")
	if d.Field != "" {
		b.WriteString(d.Field)
		b.WriteString(": ")
	}
	b.WriteString(d.Message)
	if d.Rule != "" {
		fmt.Fprintf(&b, " [%s]", d.Rule)
	}
	return b.String()
}

// Compare orders diagnostics by path, line, column, field, rule and message.
func Compare(a, b Diagnostic) int {
	return cmp.Or(
		cmp.Compare(a.Path, b.Path),
		cmp.Compare(a.Line, b.Line),
		cmp.Compare(a.Col, b.Col),
		cmp.Compare(a.Field, b.Field),
		cmp.Compare(a.Rule, b.Rule),
		cmp.Compare(a.Message, b.Message),
	)
}

// List is a collection of diagnostics.
type List []Diagnostic

// Sort orders the list in place and drops exact duplicates.
func (l *List) Sort() {
	slices.SortFunc(*l, Compare)
	*l = slices.Compact(*l)
}

// HasErrors reports whether any diagnostic is an error: of severity Error,
// or of none.
func (l List) HasErrors() bool {
	return slices.ContainsFunc(l, func(d Diagnostic) bool { return d.Severity != Warning })
}

// Errors counts the diagnostics that are errors (severity Error, or none).
func (l List) Errors() int {
	n := 0
	for _, d := range l {
		if d.Severity != Warning {
			n++
		}
	}
	return n
}

// Text renders one diagnostic per line.
func (l List) Text() string {
	var b strings.Builder
	for _, d := range l {
		b.WriteString(d.String())
		b.WriteByte('\n')
	}
	return b.String()
}
