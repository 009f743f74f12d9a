package preview

import (
	"fmt"
	"slices"
	"strings"
)

// Template is one template of the checkout: its name and its file,
// repository-relative.
type Template struct{ Name, File string }

// Planned is a template that gets a preview: its own name and file, and the
// preview's name and description.
type Planned struct {
	Template    string
	File        string
	Name        string
	Description string
}

// Selection is which templates of a pull request get previews.
type Selection struct {
	// Previews are built, sorted by template name; none when Skipped.
	Previews []Planned
	// Changed are the names of the templates whose files the pull request
	// changes, sorted.
	Changed []string
	// Skipped says why no preview is built although templates changed
	// (more than max of them); "" otherwise.
	Skipped string
}

// Select picks the templates whose files are among changed (the files that
// differ between the pull request's merge base and its head) as previews
// of pull request pr of repo. With more than max of them, none is: the
// cost of one pull request stays bounded, and Skipped says so, naming
// maxInput (the input that sets max). Two templates whose previews would
// share a name (names that differ only in runs of "-") skip them all too.
func Select(templates []Template, changed []string, pr int, repo string, max int, maxInput string) Selection {
	in := map[string]bool{}
	for _, f := range changed {
		in[f] = true
	}
	var s Selection
	byName := map[string]string{}
	for _, t := range templates {
		if !in[t.File] {
			continue
		}
		s.Changed = append(s.Changed, t.Name)
		p := Planned{Template: t.Name, File: t.File, Name: Name(t.Name, pr, repo), Description: Description(t.Name, pr, repo)}
		if other, dup := byName[p.Name]; dup && s.Skipped == "" {
			s.Skipped = fmt.Sprintf("templates %s and %s would share the preview name %s: rename one of them", other, t.Name, p.Name)
		}
		byName[p.Name] = t.Name
		s.Previews = append(s.Previews, p)
	}
	slices.Sort(s.Changed)
	slices.SortFunc(s.Previews, func(a, b Planned) int { return strings.Compare(a.Template, b.Template) })
	if len(s.Previews) > max && s.Skipped == "" {
		s.Skipped = fmt.Sprintf("this pull request changes %d templates, more than %s (%d): no preview was built; "+
			"raise %s, or split the pull request", len(s.Previews), maxInput, max, maxInput)
	}
	if s.Skipped != "" {
		s.Previews = nil
	}
	return s
}
