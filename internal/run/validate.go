package run

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
	"github.com/miosa-dev/sandbox-templates-action/internal/schema"
	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
)

// schema is the schema the files are checked against: the server's when
// it can be had, else the embedded one. It returns the schema, its name for
// the log, and a warning that waits for the server's first answer.
func (e *env) schema(ctx context.Context) (sch *schema.Schema, name, warning string) {
	if e.api == nil {
		return schema.Default(), "embedded schema", ""
	}
	doc, err := e.api.BuildSpecSchema(ctx)
	if err != nil {
		switch {
		case ctx.Err() != nil:
		case miosa.IsMissingEndpoint(err):
			warning = fmt.Sprintf("the server has no build-spec schema endpoint (%v): the files were checked against the embedded schema", err)
		default:
			warning = fmt.Sprintf("the server's build-spec schema could not be read (%v): the files were checked against the embedded schema", err)
		}
		return schema.Default(), "embedded schema", warning
	}
	s, err := schema.Compile(doc)
	if err != nil {
		return schema.Default(), "embedded schema", fmt.Sprintf("the server's build-spec schema does not compile (%v): the files were checked against the embedded schema", err)
	}
	return s, "server's schema", ""
}

// validation is what the validate endpoint said of the specs sent.
type validation struct {
	verdicts map[string]verdict // template name -> verdict
	sent     int
	// missing is set when the server has no validate endpoint.
	missing bool
	// failed are run-level problems: a spec whose verdict could not be had.
	failed diag.List
}

// validate asks the server's validate endpoint about each of tpls whose
// file passed the schema check: its problems become positioned diagnostics,
// and the spec it returns normalized identifies the spec as a second digest.
// Each worker returns its verdict; a missing endpoint stops the others.
func (e *env) validate(ctx context.Context, l *loaded, tpls []*spec.Template) validation {
	v := validation{verdicts: map[string]verdict{}}
	type answer struct {
		verdict
		sent, missing bool
		failed        string
	}
	answers := make([]answer, len(tpls))
	var missing atomic.Bool
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(e.cfg.Concurrency)
	for i, t := range tpls {
		if l.Bad[t.File] {
			continue
		}
		g.Go(func() error {
			if missing.Load() {
				return nil
			}
			res, err := e.api.Validate(gctx, t.BuildSpec)
			switch {
			case miosa.IsMissingEndpoint(err):
				if !missing.Swap(true) {
					answers[i].missing = true
					answers[i].failed = err.Error()
				}
			case err != nil:
				// Without the server's verdict and normalized spec the plan
				// could misjudge a change: stop before any write.
				if gctx.Err() == nil {
					answers[i].failed = fmt.Sprintf("%s: validate build spec: %v", t.File, err)
				}
			case res.Valid:
				answers[i].sent = true
				if len(res.BuildSpec) > 0 {
					answers[i].normalized = spec.Digest(res.BuildSpec)
					answers[i].spec = res.BuildSpec
				}
			default:
				answers[i].sent = true
				answers[i].diags = specDiags(t, res.Errors)
			}
			return nil
		})
	}
	_ = g.Wait() // the workers answer through answers, never an error
	for i, t := range tpls {
		a := answers[i]
		switch {
		case a.missing:
			v.missing = true
			e.log.Warn(fmt.Sprintf("the server has no validate endpoint (%s): specs were checked against the %s only; "+
				"create and build validate them as they are written, so a spec the server rejects fails at its write, not before the first one", a.failed, l.schemaName))
		case a.failed != "":
			v.failed = append(v.failed, problem(RuleAPI, a.failed))
		case a.sent:
			v.sent++
			v.verdicts[t.Name] = a.verdict
		}
	}
	if v.missing {
		v.sent = 0
		v.failed = nil
	}
	return v
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
