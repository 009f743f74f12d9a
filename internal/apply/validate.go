package apply

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
	"github.com/miosa-dev/sandbox-templates-action/internal/schema"
	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
)

// checkSchema checks every template against the schema (the server's when
// it can be had, else the embedded one) and records each template's local
// digest.
func (r *run) checkSchema(ctx context.Context) {
	sch := schema.Default()
	if r.api != nil {
		sch = r.serverSchema(ctx)
	}
	r.digests = make(map[string][]string, len(r.tpls))
	for _, t := range r.tpls {
		r.res.Diagnostics = append(r.res.Diagnostics, sch.Check(t.File, t, t.BuildSpec)...)
		r.digests[t.Name] = []string{t.Digest()}
	}
}

// validateOnline asks the server's validate endpoint about each of tpls
// that passed the schema check: its problems become positioned diagnostics,
// and the spec it returns normalized identifies the spec as a second digest.
// It returns how many specs it sent.
func (r *run) validateOnline(ctx context.Context, tpls []*spec.Template) int {
	bad := map[string]bool{}
	for _, d := range r.res.Diagnostics {
		bad[d.Path] = true
	}
	type outcome struct {
		diags      diag.List
		normalized string
	}
	results := make([]outcome, len(tpls))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.cfg.Concurrency)
	sent := 0
	for i, t := range tpls {
		if bad[t.File] {
			continue
		}
		sent++
		g.Go(func() error {
			v, err := r.api.Validate(gctx, t.BuildSpec)
			if err != nil {
				// Without the server's verdict and normalized spec the plan
				// could misjudge a change: stop before any write.
				if gctx.Err() == nil {
					r.problem(fmt.Sprintf("%s: validate build spec: %v", t.File, err))
				}
				return nil
			}
			if v.Valid {
				if len(v.BuildSpec) > 0 {
					results[i].normalized = spec.Digest(v.BuildSpec)
				}
				return nil
			}
			for _, fe := range v.Errors {
				ptr := fieldPointer(fe.Field)
				line, col := t.Locate(ptr)
				msg := fe.Message
				if msg == "" {
					msg = "rejected by the server"
				}
				if fe.Code != "" {
					msg += " (" + fe.Code + ")"
				}
				results[i].diags = append(results[i].diags, diag.Diagnostic{
					Path: t.File, Line: line, Col: col, Field: fieldName(ptr),
					Message: msg, Rule: "server", Severity: diag.Error,
				})
			}
			if len(v.Errors) == 0 {
				results[i].diags = append(results[i].diags, diag.Diagnostic{
					Path: t.File, Line: t.Line, Col: t.Col, Field: "build_spec",
					Message: "the server rejected this build spec without saying why", Rule: "server", Severity: diag.Error,
				})
			}
			return nil
		})
	}
	_ = g.Wait() // the goroutines report through results and warnings, never an error
	for i, t := range tpls {
		r.res.Diagnostics = append(r.res.Diagnostics, results[i].diags...)
		if results[i].normalized != "" {
			r.digests[t.Name] = append(r.digests[t.Name], results[i].normalized)
		}
	}
	return sent
}

// serverSchema fetches and compiles the server's build-spec schema, falling
// back to the embedded one with a warning.
func (r *run) serverSchema(ctx context.Context) *schema.Schema {
	doc, err := r.api.BuildSpecSchema(ctx)
	if err != nil {
		if ctx.Err() == nil {
			r.warn(fmt.Sprintf("server build-spec schema unavailable, using the embedded one: %v", err))
		}
		return schema.Default()
	}
	s, err := schema.Compile(doc)
	if err != nil {
		r.warn(fmt.Sprintf("server build-spec schema does not compile, using the embedded one: %v", err))
		return schema.Default()
	}
	return s
}

// fieldPointer turns the server's field name for a problem into a JSON
// Pointer inside build_spec. It accepts "/steps/0/run", "steps.0.run",
// "build_spec.steps[0].run" and "steps[0].run".
func fieldPointer(field string) string {
	field = strings.TrimSpace(field)
	if strings.HasPrefix(field, "/") {
		field = strings.TrimPrefix(field, "/build_spec")
		return field
	}
	field = strings.TrimPrefix(field, "build_spec")
	field = strings.TrimPrefix(field, ".")
	if field == "" {
		return ""
	}
	field = strings.NewReplacer("[", ".", "]", "").Replace(field)
	var b strings.Builder
	for _, part := range strings.Split(field, ".") {
		if part == "" {
			continue
		}
		b.WriteByte('/')
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(part))
	}
	return b.String()
}

// fieldName renders a JSON Pointer inside build_spec as a field path such as
// build_spec.steps[0].run.
func fieldName(ptr string) string {
	var b strings.Builder
	b.WriteString("build_spec")
	if ptr == "" {
		return b.String()
	}
	for _, part := range strings.Split(ptr[1:], "/") {
		part = strings.NewReplacer("~1", "/", "~0", "~").Replace(part)
		if _, err := strconv.Atoi(part); err == nil {
			b.WriteString("[" + part + "]")
			continue
		}
		b.WriteString("." + part)
	}
	return b.String()
}
