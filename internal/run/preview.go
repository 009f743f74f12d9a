package run

import (
	"fmt"
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

// foreignPreviews refuses, in a run that writes previews, every item
// whose template exists in the account under the preview's name without
// being this repository's preview of it (preview.Owns on the row's name
// and description): a template made by hand, or by another tool, that
// happens to carry the name. Such a template is never built over, and its
// description change is dropped; the refusal is an error on the file, and
// no output gives that template's id as the preview's. A run that writes
// no previews keeps its items as they are.
func foreignPreviews(cfg Config, items []plan.Item, rows []plan.Remote) []plan.Item {
	if cfg.Preview == nil {
		return items
	}
	byID := map[string]plan.Remote{}
	for _, r := range rows {
		byID[r.ID] = r
	}
	out := items[:0:0]
	for _, it := range items {
		r, ok := byID[it.TemplateID]
		if !ok || it.TemplateID == "" || it.Action == plan.Invalid {
			out = append(out, it)
			continue
		}
		if _, owned := preview.Owns(r.Name, r.Description, cfg.Repository); owned && !r.BuiltIn {
			out = append(out, it)
			continue
		}
		if it.Action == plan.Describe {
			continue
		}
		it.Action, it.Base, it.Always, it.Serving, it.ServingState = plan.Refused, "", false, "", ""
		it.Reason = fmt.Sprintf("a template named %s (%s) exists in the account and is not this repository's preview "+
			"(its description is not the preview's mark): the preview was not written; rename or delete that template", it.Name, it.TemplateID)
		it.TemplateID, it.Evidence = "", foreignEvidence // not the preview's: no output gives its id as one
		out = append(out, it)
	}
	return out
}

// foreignEvidence is the Evidence of an item foreignPreviews refused.
const foreignEvidence = "the account's template of the preview's name, without its mark"

// RulePreview is the rule of a preview's write refused because a template
// of its name is not this repository's preview.
const RulePreview = "preview"

// foreignRule is RulePreview for an item foreignPreviews refused, else "".
func foreignRule(it plan.Item) string {
	if it.Action == plan.Refused && it.Evidence == foreignEvidence {
		return RulePreview
	}
	return ""
}
