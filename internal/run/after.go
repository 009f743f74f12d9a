package run

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"slices"
	"sync"

	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
)

// carried is what a run hands to the run that follows it in the same step
// (Config.After): the files it read and checked, and the validate
// endpoint's answers, so that the next run reads no file and asks no
// question twice.
type carried struct {
	// files and names are how the files were found and filtered; checked
	// is nil when the run stopped before, or wrote previews.
	files      spec.Options
	names      []string
	checked    *Checked
	schemaName string
	apiURL     string
	answers    *answers // nil offline
}

// Checked are the files the run read and checked (its templates filter
// applied); nil when it stopped before it read them.
func (r *Result) Checked() *Checked {
	if r.carried == nil {
		return nil
	}
	return r.carried.checked
}

// priorFiles are the files of the run this one follows, when it found
// them as this run does.
func (c Config) priorFiles() *carried {
	if c.After == nil || c.After.carried == nil {
		return nil
	}
	p := c.After.carried
	if p.checked == nil || p.files.Root != c.Root || !slices.Equal(p.files.Patterns, c.Patterns) ||
		p.files.IfNoFiles != c.IfNoFilesFound || !slices.Equal(p.names, c.Templates) {
		return nil
	}
	return p
}

// priorAnswers are the validate answers of the run this one follows, when
// it asked the same server.
func (c Config) priorAnswers() *answers {
	if c.After == nil || c.After.carried == nil || c.After.carried.apiURL != c.APIURL {
		return nil
	}
	return c.After.carried.answers
}

// clone is a copy of c whose templates can be renamed (asPreviews) without
// renaming the original's.
func (c *Checked) clone() *Checked {
	out := *c
	out.Files, out.Names, out.Diagnostics, out.Notices = slices.Clone(c.Files), slices.Clone(c.Names), slices.Clone(c.Diagnostics), slices.Clone(c.Notices)
	out.Templates = make([]*spec.Template, len(c.Templates))
	for i, t := range c.Templates {
		cp := *t
		out.Templates[i] = &cp
	}
	return &out
}

// answers are the validate endpoint's answers, by the spec asked about.
type answers struct {
	mu     sync.Mutex
	bySpec map[string]*miosa.ValidateResult
}

func (a *answers) get(key string) (*miosa.ValidateResult, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	r, ok := a.bySpec[key]
	return r, ok
}

func (a *answers) put(key string, r *miosa.ValidateResult) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.bySpec[key] = r
}

// remembering is the run's API: it records every answer of the validate
// endpoint, and takes the answers of the run it follows (prior) instead of
// asking again. A run asks as before about what it asked itself.
type remembering struct {
	remoteAPI
	prior, seen *answers
}

func (m remembering) Validate(ctx context.Context, buildSpec map[string]any) (*miosa.ValidateResult, error) {
	raw, err := json.Marshal(buildSpec)
	if err != nil {
		return m.remoteAPI.Validate(ctx, buildSpec)
	}
	sum := sha256.Sum256(raw)
	key := string(sum[:])
	if m.prior != nil {
		if r, ok := m.prior.get(key); ok {
			return r, nil
		}
	}
	r, err := m.remoteAPI.Validate(ctx, buildSpec)
	if err == nil {
		m.seen.put(key, r)
	}
	return r, err
}
