package run

import (
	"context"
	"fmt"
	"slices"
	"strings"

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
	// Notices are what the reader should know that is not a problem: the
	// files the patterns nearly matched (one notice), and, with
	// if-no-files-found ignore, that nothing matched.
	Notices []string
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
	if n := spec.OverlookedNotice(spec.FindOverlooked(opts)); n != "" {
		r.Notices = append(r.Notices, n)
	}
	if len(r.Files) == 0 && opts.IfNoFiles == spec.NoFilesIgnore && len(problems) == 0 {
		patterns := opts.Patterns
		if len(patterns) == 0 {
			patterns = spec.DefaultPatterns
		}
		r.Notices = append(r.Notices, "no template files match path ("+strings.Join(patterns, ", ")+"); nothing to check (if-no-files-found: ignore)")
	}
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
	// problems: file -> its errors in Diagnostics, counted once, so that
	// deciding a template (every create does) costs the same at any N.
	problems map[string]int
}

// load is the Load stage: the files, checked against the schema (see
// env.schema). Its notices go to the run's log. A run that follows another
// (Config.After) takes that run's files as it read and checked them, and
// says nothing it said. It returns nil, nil when interrupted.
func (e *env) load(ctx context.Context) (*loaded, error) {
	cfg := &e.cfg
	var c *Checked
	var schemaName, schemaWarning string
	if prior := cfg.priorFiles(); prior != nil {
		c, schemaName = prior.checked.clone(), prior.schemaName
	} else {
		var sch *schema.Schema
		sch, schemaName, schemaWarning = e.schema(ctx)
		if ctx.Err() != nil {
			return nil, nil
		}
		var err error
		c, err = CheckFiles(e.files(), cfg.Templates, sch)
		if err != nil {
			return nil, fmt.Errorf("load templates: %w", err)
		}
		for _, n := range c.Notices {
			e.log.Notice(n)
		}
	}
	if cfg.Preview != nil {
		c.asPreviews(cfg.Preview)
	}
	l := &loaded{Checked: c, byName: make(map[string]*spec.Template, len(c.Templates)),
		schemaName: schemaName, schemaWarning: schemaWarning}
	for _, t := range c.Templates {
		l.byName[t.Name] = t
	}
	l.problems = map[string]int{}
	for _, d := range c.Diagnostics {
		if d.Severity != diag.Warning {
			l.problems[d.Path]++
		}
	}
	return l, nil
}

// files is how the run finds its files.
func (e *env) files() spec.Options {
	return spec.Options{Root: e.cfg.Root, Patterns: e.cfg.Patterns, IfNoFiles: e.cfg.IfNoFilesFound}
}

// carry is what a run that follows this one reuses: the files as read and
// checked (not a preview run's, renamed), and the validate answers.
func (e *env) carry(l *loaded) *carried {
	c := &carried{files: e.files(), names: e.cfg.Templates, apiURL: e.cfg.APIURL, answers: e.seen}
	if l != nil && e.cfg.Preview == nil {
		c.checked, c.schemaName = l.Checked, l.schemaName
	}
	return c
}

// problemIn says, for a template whose file has errors, how many; "" when
// it has none.
func (l *loaded) problemIn(t *spec.Template, extra diag.List) string {
	n := l.problems[t.File]
	for _, d := range extra {
		if d.Severity != diag.Warning && d.Path == t.File {
			n++
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%d problem(s) in %s", n, t.File)
}
