package apply

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
	"github.com/miosa-dev/sandbox-templates-action/internal/schema"
	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
)

// schema is the schema the files are checked against: the server's when
// it can be had, else the embedded one.
func (r *run) schema(ctx context.Context) *schema.Schema {
	r.schemaName = "embedded schema"
	if r.api == nil {
		return schema.Default()
	}
	return r.serverSchema(ctx)
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
			if r.noValidate.Load() {
				return nil
			}
			v, err := r.api.Validate(gctx, t.BuildSpec)
			if missingEndpoint(err) {
				if !r.noValidate.Swap(true) {
					r.warn(fmt.Sprintf("the server has no validate endpoint (%v): specs were checked against the %s only; "+
						"create and build validate them as they are written, so a spec the server rejects fails at its write, not before the first one", err, r.schemaName))
				}
				return nil
			}
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
			results[i].diags = specDiags(t, v.Errors)
			return nil
		})
	}
	_ = g.Wait() // the goroutines report through results and warnings, never an error
	for i, t := range tpls {
		r.res.Diagnostics = append(r.res.Diagnostics, results[i].diags...)
		if results[i].normalized != "" {
			r.digests[t.Name] = append(r.digests[t.Name], results[i].normalized)
			r.validated[t.Name] = true
		}
	}
	if r.noValidate.Load() {
		return 0
	}
	return sent
}

// specDiags turns the server's problems with a build spec into positioned
// diagnostics.
func specDiags(t *spec.Template, errs []miosa.FieldError) diag.List {
	var out diag.List
	for _, fe := range errs {
		ptr := fieldPointer(fe.Field)
		line, col := t.Locate(ptr)
		msg := fe.Message
		if msg == "" {
			msg = "rejected by the server"
		}
		if fe.Code != "" {
			msg += " (" + fe.Code + ")"
		}
		out = append(out, diag.Diagnostic{
			Path: t.File, Line: line, Col: col, Field: fieldName(ptr),
			Message: msg, Rule: "server", Severity: diag.Error,
		})
	}
	if len(out) == 0 {
		out = append(out, diag.Diagnostic{
			Path: t.File, Line: t.Line, Col: t.Col, Field: "build_spec",
			Message: "the server rejected this build spec without saying why", Rule: "server", Severity: diag.Error,
		})
	}
	return out
}

// missingEndpoint reports an answer that says the endpoint does not exist
// on this server (404 without a template's error code, 405 or 501).
func missingEndpoint(err error) bool {
	var e *miosa.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Status {
	case http.StatusNotFound:
		return e.Code != miosa.CodeTemplateNotFound
	case http.StatusMethodNotAllowed, http.StatusNotImplemented:
		return true
	}
	return false
}

// serverSchema fetches and compiles the server's build-spec schema, falling
// back to the embedded one with a warning.
// The warning waits until the server has answered a read (sayDeferred): a
// bad key or an unreachable server fails the run with its own error, and a
// schema warning before it would only be noise.
func (r *run) serverSchema(ctx context.Context) *schema.Schema {
	doc, err := r.api.BuildSpecSchema(ctx)
	if err != nil {
		switch {
		case ctx.Err() != nil:
		case missingEndpoint(err):
			r.schemaWarning = fmt.Sprintf("the server has no build-spec schema endpoint (%v): the files were checked against the embedded schema", err)
		default:
			r.schemaWarning = fmt.Sprintf("the server's build-spec schema could not be read (%v): the files were checked against the embedded schema", err)
		}
		return schema.Default()
	}
	s, err := schema.Compile(doc)
	if err != nil {
		r.schemaWarning = fmt.Sprintf("the server's build-spec schema does not compile (%v): the files were checked against the embedded schema", err)
		return schema.Default()
	}
	r.schemaName = "server's schema"
	return s
}

// sayDeferred says the warnings that wait for a first answer from the server.
func (r *run) sayDeferred() {
	if r.schemaWarning != "" {
		r.warn(r.schemaWarning)
		r.schemaWarning = ""
	}
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
