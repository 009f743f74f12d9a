package run

import (
	"fmt"
	"slices"

	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
	"github.com/miosa-dev/sandbox-templates-action/internal/schema"
	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
)

// Rules of diagnostics about a pattern or the set of files, not about one
// file.
var patternRules = []string{"pattern", "too-many-files", "no-files"}

// Checked is what the template files hold and what is wrong with them: the
// Load stage's value, and the validate command's whole answer.
type Checked struct {
	// Files are the files looked at, sorted.
	Files []string
	// Names are the names of every template read, before the filter.
	Names []string
	// Templates are the ones the filter keeps, sorted by name.
	Templates []*spec.Template
	// Diagnostics are every problem found, sorted: in any matched file,
	// selected or not, and the filter's unknown names.
	Diagnostics diag.List
	// Bad are the files with at least one error.
	Bad map[string]bool
}

// CheckFiles is the one validation path of every mode: it loads the
// templates under opts, keeps those named in names (all when empty) and
// checks each build_spec against sch (the embedded schema when nil). The
// error is for a root that cannot be read at all.
func CheckFiles(opts spec.Options, names []string, sch *schema.Schema) (*Checked, error) {
	if sch == nil {
		sch = schema.Default()
	}
	ts, problems, err := spec.Load(opts)
	if err != nil {
		return nil, err
	}
	r := &Checked{Bad: map[string]bool{}}
	files := map[string]bool{}
	for _, t := range ts {
		files[t.File] = true
		r.Names = append(r.Names, t.Name)
	}
	for _, d := range problems {
		if !slices.Contains(patternRules, d.Rule) {
			files[d.Path] = true
		}
	}
	selected, unknown := spec.Filter(ts, names)
	problems = append(problems, unknown...)
	for _, t := range selected {
		problems = append(problems, sch.Check(t.File, t, t.BuildSpec)...)
	}
	problems.Sort()
	for _, d := range problems {
		if d.Severity != diag.Warning && files[d.Path] {
			r.Bad[d.Path] = true
		}
	}
	for f := range files {
		r.Files = append(r.Files, f)
	}
	slices.Sort(r.Files)
	r.Templates, r.Diagnostics = selected, problems
	return r, nil
}

// loaded is the Load stage's value: the checked files, indexed.
type loaded struct {
	*Checked
	byName map[string]*spec.Template
	// schemaName says which schema checked the files.
	schemaName string
	// schemaWarning waits for the server's first answer to a read: a bad
	// key or an unreachable server fails the run with its own error, and a
	// schema warning before it would only be noise.
	schemaWarning string
}

// load is the Load stage: the files, checked against sch.
func load(cfg *Config, sch *schema.Schema, schemaName, schemaWarning string) (*loaded, error) {
	c, err := CheckFiles(spec.Options{Root: cfg.Root, Patterns: cfg.Patterns}, cfg.Templates, sch)
	if err != nil {
		return nil, fmt.Errorf("load templates: %w", err)
	}
	l := &loaded{Checked: c, byName: make(map[string]*spec.Template, len(c.Templates)),
		schemaName: schemaName, schemaWarning: schemaWarning}
	for _, t := range c.Templates {
		l.byName[t.Name] = t
	}
	return l, nil
}

// problemIn says, for a template whose file has errors, how many; "" when
// it has none.
func (l *loaded) problemIn(t *spec.Template, extra diag.List) string {
	n := 0
	for _, list := range []diag.List{l.Diagnostics, extra} {
		for _, d := range list {
			if d.Severity != diag.Warning && d.Path == t.File {
				n++
			}
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%d problem(s) in %s", n, t.File)
}
