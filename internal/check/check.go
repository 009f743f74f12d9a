// Package check is the one validation path: it reads the template files,
// keeps the ones a templates filter names and checks each build_spec
// against a schema. The validate command, the action's validate mode and the
// first phase of plan and apply all run it; apply adds the server's own
// verdicts after it.
package check

import (
	"slices"

	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
	"github.com/miosa-dev/sandbox-templates-action/internal/schema"
	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
)

// Rules of diagnostics about a pattern or the set of files, not about one
// file.
var patternRules = []string{"pattern", "too-many-files", "no-files"}

// Result is what the files hold and what is wrong with them.
type Result struct {
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

// Files loads the templates under opts, keeps those named in names (all when
// empty) and checks each build_spec against sch (the embedded schema when
// nil). The error is for a root that cannot be read at all.
func Files(opts spec.Options, names []string, sch *schema.Schema) (*Result, error) {
	if sch == nil {
		sch = schema.Default()
	}
	ts, problems, err := spec.Load(opts)
	if err != nil {
		return nil, err
	}
	r := &Result{Bad: map[string]bool{}}
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
