package run

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
)

// sizeOf is the size a spec asks for, "" for none.
func sizeOf(t *spec.Template) string {
	s, _ := t.BuildSpec["size"].(string)
	return s
}

// defaultsAnswer is what the server fills into specs, per size.
type defaultsAnswer struct {
	bySize  map[string]map[string]any // nil when the server could not say
	missing bool                      // the server has no validate endpoint
	failed  diag.List
}

// serverDefaults asks the validate endpoint, once per distinct size among
// the files, what the server fills into a minimal spec of that size: the
// fields it adds are its defaults. Filled into a file's spec, they give what
// the server serves once the file's spec is built, without a request per
// template.
func (e *env) serverDefaults(ctx context.Context, l *loaded) defaultsAnswer {
	minimal := map[string]map[string]any{} // size -> minimal spec
	for _, t := range l.Templates {
		size := sizeOf(t)
		if l.Bad[t.File] || minimal[size] != nil {
			continue
		}
		from, _ := t.BuildSpec["from"].(string)
		if from == "" {
			from = "scratch"
		}
		minimal[size] = map[string]any{"from": from}
		if size != "" {
			minimal[size]["size"] = size
		}
	}
	sizes := slices.Sorted(maps.Keys(minimal))
	answers := make([]map[string]any, len(sizes))
	errs := make([]error, len(sizes))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(e.cfg.Concurrency)
	for i, size := range sizes {
		g.Go(func() error {
			res, err := e.api.Validate(gctx, minimal[size])
			switch {
			case err != nil:
				errs[i] = err
			case !res.Valid:
				errs[i] = fmt.Errorf("the server rejects a spec of only from %q%s: %s", minimal[size]["from"], sizeText(size), fieldErrors(res.Errors))
			case res.BuildSpec == nil:
				errs[i] = fmt.Errorf("the validate endpoint returned no normalized spec for a spec of only from %q%s", minimal[size]["from"], sizeText(size))
			default:
				answers[i] = res.BuildSpec
			}
			return nil
		})
	}
	_ = g.Wait()
	out := defaultsAnswer{bySize: map[string]map[string]any{}}
	for i, size := range sizes {
		switch err := errs[i]; {
		case miosa.IsMissingEndpoint(err):
			return defaultsAnswer{missing: true}
		case err != nil:
			if ctx.Err() == nil {
				out.failed = append(out.failed, problem(RuleAPI, fmt.Sprintf("the server's defaults for size %q: %v", size, err)))
			}
			continue
		}
		d := maps.Clone(answers[i])
		for k := range minimal[size] {
			delete(d, k)
		}
		out.bySize[size] = d
	}
	if len(out.failed) > 0 {
		out.bySize = nil
	}
	return out
}

func sizeText(size string) string {
	if size == "" {
		return ""
	}
	return fmt.Sprintf(" and size %q", size)
}

// fieldErrors says the server's problems with a spec on one line.
func fieldErrors(errs []miosa.FieldError) string {
	var parts []string
	for _, e := range errs {
		parts = append(parts, strings.TrimSpace(e.Field+" "+e.Message))
	}
	if len(parts) == 0 {
		return "no reason given"
	}
	return strings.Join(parts, "; ")
}

// filled is the file's spec with the server's defaults for its size filled
// in; nil when the defaults are unknown.
func (o *observation) filled(t *spec.Template) map[string]any {
	if o == nil || o.defaults == nil {
		return nil
	}
	d, ok := o.defaults[sizeOf(t)]
	if !ok {
		return nil
	}
	return spec.Fill(t.BuildSpec, d)
}

// needValidation are the templates whose specs the server's validate
// endpoint should see before anything is decided: the ones a run may write
// (no template yet, no build, build: always), and the ones whose served spec
// differs from the file's filled with the server's defaults, so that a field
// the server rewrites is compared in the server's own form. A spec served
// as the file's filled form was judged when it was built.
func needValidation(l *loaded, o *observation, cfg Config) []*spec.Template {
	var out []*spec.Template
	for _, t := range l.Templates {
		r, ok := o.remoteOf(t.Name)
		switch {
		case !ok:
			out = append(out, t)
		case r.ReadError != "" || r.Listed != "" || cfg.BuildMode == plan.BuildNever:
		case !r.HasServing, cfg.BuildMode == plan.BuildAlways:
			out = append(out, t)
		default:
			if filled := o.filled(t); filled == nil || r.Serving.Spec == nil || !spec.Same(filled, r.Serving.Spec) {
				out = append(out, t)
			}
		}
	}
	return out
}

// likelyWrites are the templates the decision will write to, as far as
// the observation tells before it: those with no template, no build, a
// failed one, another spec served, or build: always. The commit order and
// the identity of display-name matches are asked for these alone.
func likelyWrites(l *loaded, o *observation, v validation, cfg Config) []*spec.Template {
	var out []*spec.Template
	for _, t := range l.Templates {
		if l.Bad[t.File] {
			continue
		}
		r, ok := o.remoteOf(t.Name)
		switch {
		case !ok:
			out = append(out, t)
		case r.ReadError != "" || r.Listed != "" || cfg.BuildMode == plan.BuildNever:
		case !r.HasServing, r.Serving.State == plan.StateFailed, cfg.BuildMode == plan.BuildAlways:
			out = append(out, t)
		default:
			if _, same := plan.Matched(desired(l, o, t, v), r.Serving); !same {
				out = append(out, t)
			}
		}
	}
	return out
}

// confirmIdentities makes sure that a row matched by display name alone is
// the file's template before anything is written to it: list rows carry no
// slug, so a teammate's template named "api" (slug api-playground) would
// match api.yaml. The template is asked for by slug, once per such write:
// the same row is confirmed; another template is observed in its place; a
// 404 leaves the file unmatched, to be created.
func (e *env) confirmIdentities(ctx context.Context, o *observation, writes []*spec.Template) {
	var names []string
	for _, t := range writes {
		if o.byNameOnly[t.Name] {
			names = append(names, t.Name)
		}
	}
	type answer struct {
		gone   bool
		remote *plan.Remote
		err    error
	}
	answers := make([]answer, len(names))
	g := new(errgroup.Group)
	g.SetLimit(e.cfg.Concurrency)
	for i, name := range names {
		g.Go(func() error {
			tpl, err := e.api.GetTemplate(ctx, name)
			switch {
			case miosa.IsNotFound(err):
				answers[i].gone = true
			case err != nil:
				answers[i].err = err // unconfirmed: nothing is written to it
			case tpl.ID == o.remote[o.byName[name]].ID:
				// Confirmed.
			default:
				r, err := e.observeOne(ctx, name, tpl.ID)
				if err == nil {
					answers[i].remote = &r
				}
			}
			return nil
		})
	}
	_ = g.Wait()
	for i, name := range names {
		a := answers[i]
		row := o.remote[o.byName[name]]
		switch {
		case a.err != nil:
			// The row stays matched, unreadable: the plan decides nothing
			// for it, and the run fails on it, rather than write to a
			// template that may be someone else's.
			o.remote[o.byName[name]].ReadError = fmt.Sprintf("confirm the template named %q by its slug: %v", row.Name, a.err)
			o.remote[o.byName[name]].Builds = nil
			o.diags = append(o.diags, problem(RuleAPI, fmt.Sprintf("%s: confirm the template named %q by its slug: %v", name, row.Name, a.err)))
		case a.gone:
			e.log.Info(fmt.Sprintf("%s: the template named %q has another slug: it is not this file's, which is created", name, row.Name))
			delete(o.byName, name)
		case a.remote != nil:
			e.log.Info(fmt.Sprintf("%s: the template named %q has another slug; the file's is %s", name, row.Name, a.remote.ID))
			i := slices.IndexFunc(o.remote, func(r plan.Remote) bool { return r.ID == a.remote.ID })
			if i < 0 {
				o.remote, i = append(o.remote, plan.Remote{}), len(o.remote)
			}
			o.remote[i] = *a.remote
			o.byName[name] = i
		}
		delete(o.byNameOnly, name)
	}
}
