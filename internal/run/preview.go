package run

import (
	"slices"
	"strings"

	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
	"github.com/miosa-dev/sandbox-templates-action/internal/preview"
	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
)

// PreviewIdentity is the name and description under which a run writes a
// template instead of its own: a pull request's preview of it.
type PreviewIdentity struct{ Name, Description string }

// asPreviews gives each template of c that previews names its preview
// identity, so that every later stage (the match with the server's rows,
// the plan, the keys, the writes, the wait) sees the preview: the one
// pipeline builds previews as it builds templates. Templates previews does
// not name are left out. Names keeps the templates' own names too, so that
// the plan never lists the templates they preview as unmanaged.
func (c *Checked) asPreviews(previews map[string]PreviewIdentity) {
	c.Templates = slices.DeleteFunc(c.Templates, func(t *spec.Template) bool { _, ok := previews[t.Name]; return !ok })
	for _, t := range c.Templates {
		p := previews[t.Name]
		t.Name, t.Description = p.Name, p.Description
		c.Names = append(c.Names, p.Name)
	}
	slices.SortFunc(c.Templates, func(a, b *spec.Template) int { return strings.Compare(a.Name, b.Name) })
}

// ownPreviews are the names of the rows that are this repository's
// previews of its pull requests (their names and marks say so): the
// repository's own, never listed as unmanaged.
func ownPreviews(rows []plan.Remote, repository string) []string {
	var out []string
	if repository == "" {
		return nil
	}
	for _, r := range rows {
		if _, ok := preview.Owns(r.Name, r.Description, repository); ok && !r.BuiltIn {
			out = append(out, r.Name)
		}
	}
	return out
}
