package emulator

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Every handler runs with s.mu held and writes into a recorder.

// list serves the catalog, in insertion order (built-ins first), in the
// form Variant.List names: by default one page at a time (see pages.go).
func (s *Server) list(w *recorder, c *call) {
	aliases := c.r.URL.Query().Get("include_aliases") == "true"
	// A row is a template, or with aliases as rows one alias of it.
	type entry struct {
		t     *template
		alias string
	}
	var entries []entry
	defaultID := ""
	for _, t := range s.st.templates {
		if t.Default && defaultID == "" {
			defaultID = t.ID
		}
		entries = append(entries, entry{t: t})
		if aliases && c.variant.Aliases == "rows" {
			for _, a := range t.Aliases {
				entries = append(entries, entry{t: t, alias: a})
			}
		}
	}
	row := func(i int) any {
		e := entries[i]
		row := listRow(e.t, s.opts.ClientMetadata)
		switch {
		case e.alias != "":
			row["id"], row["name"], row["alias_of"] = e.alias, e.alias, e.t.ID
		case aliases && c.variant.Aliases != "rows":
			row["aliases"] = append([]string{}, e.t.Aliases...)
		}
		return row
	}
	s.writeList(w, c, c.variant.List, len(entries), row, func(rows []any) any {
		switch c.variant.List {
		case listDefault:
			return map[string]any{"default_template_id": defaultID, "data": rows}
		case listTemplates:
			return map[string]any{"templates": rows}
		}
		return map[string]any{"data": rows}
	})
}

func (s *Server) get(w *recorder, c *call) {
	t := s.st.findTemplate(c.rt.id)
	if t == nil {
		s.writeError(w, c, http.StatusNotFound, "TEMPLATE_NOT_FOUND", "template not found", nil)
		return
	}
	if c.variant.Get == "data" {
		writeJSON(w, http.StatusOK, map[string]any{"data": templateView(t, s.opts.ClientMetadata)})
		return
	}
	writeJSON(w, http.StatusOK, templateView(t, s.opts.ClientMetadata))
}

// bodyObject decodes a request body that must be a JSON object; an empty
// body is an empty object.
func bodyObject(body []byte) (map[string]any, bool) {
	if len(bytes.TrimSpace(body)) == 0 {
		return map[string]any{}, true
	}
	v, err := decodeJSON(body)
	if err != nil {
		return nil, false
	}
	m, ok := v.(map[string]any)
	return m, ok
}

func (s *Server) badBody(w *recorder, c *call) {
	s.writeError(w, c, http.StatusBadRequest, "BAD_REQUEST", "request body must be a JSON object", nil)
}

// specFrom validates body["build_spec"]; on a problem it writes the 422 and
// returns nil.
func (s *Server) specFrom(w *recorder, c *call, body map[string]any, required bool) (map[string]any, bool) {
	raw, present := body["build_spec"]
	if !present || raw == nil {
		if !required {
			return nil, true
		}
		s.writeError(w, c, http.StatusUnprocessableEntity, "INVALID_BUILDSPEC", "build_spec is invalid",
			[]fieldError{{codeRequired, "build_spec", "is required"}})
		return nil, false
	}
	if errs := checkSpec(raw); len(errs) > 0 {
		s.writeError(w, c, http.StatusUnprocessableEntity, "INVALID_BUILDSPEC", "build_spec is invalid", errs)
		return nil, false
	}
	return normalize(raw.(map[string]any), s.opts), true
}

func (s *Server) validationFailed(w *recorder, c *call, field, msg string) {
	s.writeError(w, c, http.StatusUnprocessableEntity, "VALIDATION_FAILED", "validation failed",
		map[string][]string{field: {msg}})
}

func (s *Server) create(w *recorder, c *call, now time.Time) {
	body, ok := bodyObject(c.body)
	if !ok {
		s.badBody(w, c)
		return
	}
	name, _ := body["name"].(string)
	if name == "" {
		s.validationFailed(w, c, "name", "can't be blank")
		return
	}
	slug := slugify(name)
	if v, ok := body["slug"].(string); ok && v != "" {
		slug = slugify(v)
	}
	if slug == "" {
		s.validationFailed(w, c, "slug", "must contain a letter or a digit")
		return
	}
	desc, descSet := body["description"].(string)
	if v, ok := body["description"]; ok && v != nil && !descSet {
		s.validationFailed(w, c, "description", "must be a string")
		return
	}
	md, mdSet := body["metadata"].(map[string]any)
	if v, ok := body["metadata"]; ok && v != nil && !mdSet {
		s.validationFailed(w, c, "metadata", "must be a map")
		return
	}
	spec, ok := s.specFrom(w, c, body, true)
	if !ok {
		return
	}

	t := s.st.findOwned(slug)
	switch {
	case t == nil:
		s.st.nextTmpl++
		id := uuidFor(s.st.seed, "template", s.st.nextTmpl)
		if c.plan.hostile {
			id = hostileID(c.plan.hostileID, id)
		}
		t = &template{
			ID: id, Name: name, Slug: slug, Description: desc, Category: "custom",
			Status: statusDraft, Metadata: cloneMap(md), InsertedAt: now, UpdatedAt: now,
		}
		t.applySpec(spec)
		s.st.templates = append(s.st.templates, t)
		s.counters.TemplatesCreated++
	case t.Status == statusDraft || t.Status == statusFailed:
		t.applySpec(spec)
		if descSet {
			t.Description = desc
		}
		if mdSet {
			t.Metadata = cloneMap(md)
		}
		t.Status = statusDraft
		t.UpdatedAt = now
		s.counters.TemplatesUpserted++
	case s.opts.LegacyCollision:
		s.validationFailed(w, c, "tenant_id", "has already been taken")
		return
	default:
		s.validationFailed(w, c, "slug", "a template with this name already exists")
		return
	}
	s.counters.Writes++
	// The answer shows the template as inserted, before its build is queued
	// (current_build_id unchanged, even when that build fails at once).
	view := templateView(t, s.opts.ClientMetadata)
	if s.opts.AutoBuild {
		s.newBuild(c, t, t.BuildSpec, nil, "auto", now)
	}
	writeJSON(w, http.StatusCreated, map[string]any{"data": view})
}

// newBuild queues a build of t with spec and client metadata.
func (s *Server) newBuild(c *call, t *template, spec, md map[string]any, source string, now time.Time) *build {
	s.st.nextBuild++
	id := uuidFor(s.st.seed, "build", s.st.nextBuild)
	if c.plan.hostile {
		id = hostileID(c.plan.hostileID, id)
	}
	b := &build{
		ID: id, TemplateID: t.ID, TemplateName: t.Name, SourceType: source, State: stateQueued,
		Metadata: cloneMap(md), Events: []event{{stateQueued, now}},
		BuildSpec: spec, InsertedAt: now, UpdatedAt: now, seq: s.st.nextBuild,
	}
	if s.opts.LogURLs {
		scheme := "http"
		if c.r.TLS != nil {
			scheme = "https"
		}
		b.LogURL = scheme + "://" + c.r.Host + inspectPrefix + "logs/" + url.PathEscape(id)
	}
	s.st.buildsByName[t.Name]++
	planBuild(b, t, s.opts, s.st.buildsByName[t.Name])
	s.st.builds = append(s.st.builds, b)
	if b.immediate {
		s.st.apply(transition{b, stateFailed, now})
	}
	s.counters.BuildsCreated++
	s.counters.BuildsByTemplate[t.Name]++
	if source == "auto" {
		s.counters.AutoBuilds++
	}
	return b
}

// missingRoute answers an endpoint that this deployment lacks, as an
// unknown path is answered.
func (s *Server) missingRoute(w *recorder, c *call) {
	s.writeError(w, c, http.StatusNotFound, "NOT_FOUND", "no route found for "+c.r.Method+" "+c.r.URL.Path, nil)
}

func (s *Server) schema(w *recorder, c *call) {
	if s.opts.NoSchema {
		s.missingRoute(w, c)
		return
	}
	doc := schemaDocument()
	w.header.Set("Content-Type", "application/json; charset=utf-8")
	if c.variant.Schema == "data" {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"data":`))
		_, _ = w.Write(doc)
		_, _ = w.Write([]byte(`}`))
		return
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(doc)
}

func (s *Server) validate(w *recorder, c *call) {
	if s.opts.NoValidate {
		s.missingRoute(w, c)
		return
	}
	body, ok := bodyObject(c.body)
	if !ok {
		s.badBody(w, c)
		return
	}
	raw, present := body["build_spec"]
	var errs []fieldError
	if !present || raw == nil {
		errs = []fieldError{{codeRequired, "build_spec", "is required"}}
	} else {
		errs = checkSpec(raw)
	}
	var result map[string]any
	switch {
	case len(errs) == 0:
		result = map[string]any{"valid": true, "build_spec": normalize(raw.(map[string]any), s.opts)}
	case c.variant.Validate == "422":
		s.writeError(w, c, http.StatusUnprocessableEntity, "INVALID_BUILDSPEC", "build_spec is invalid", errs)
		return
	case c.variant.Validate == "strings":
		result = map[string]any{"valid": false, "errors": errorStrings("build_spec is invalid", errs)}
	default:
		result = map[string]any{"valid": false, "errors": errs}
	}
	if c.variant.ValidateData {
		writeJSON(w, http.StatusOK, map[string]any{"data": result})
		return
	}
	writeJSON(w, http.StatusOK, result)
}

// ownTemplate finds the template addressed by the path for a build
// endpoint; built-ins are readable but cannot be built.
func (s *Server) ownTemplate(w *recorder, c *call, write bool) *template {
	t := s.st.findTemplate(c.rt.id)
	if t == nil {
		s.writeError(w, c, http.StatusNotFound, "TEMPLATE_NOT_FOUND", "template not found", nil)
		return nil
	}
	if write && t.BuiltIn {
		s.writeError(w, c, http.StatusForbidden, "FORBIDDEN", "built-in templates cannot be changed", nil)
		return nil
	}
	return t
}

// listBuilds serves a template's builds, newest first, in the form
// Variant.ListBuilds names: by default one page at a time.
func (s *Server) listBuilds(w *recorder, c *call) {
	t := s.ownTemplate(w, c, false)
	if t == nil {
		return
	}
	var shown []*build
	now := s.opts.Clock()
	for _, b := range s.st.buildsOf(t.ID) {
		if b.SourceType == "auto" && now.Before(b.InsertedAt.Add(s.opts.AutoBuildLag)) {
			continue
		}
		shown = append(shown, b)
	}
	row := func(i int) any {
		return buildView(shown[i], c.variant.States, c.plan.unknownState, s.opts.ClientMetadata)
	}
	s.writeList(w, c, c.variant.ListBuilds, len(shown), row, func(rows []any) any {
		return map[string]any{"data": rows}
	})
}

func (s *Server) createBuild(w *recorder, c *call, now time.Time) {
	t := s.ownTemplate(w, c, true)
	if t == nil {
		return
	}
	body, ok := bodyObject(c.body)
	if !ok {
		s.badBody(w, c)
		return
	}
	md, mdSet := body["metadata"].(map[string]any)
	if v, ok := body["metadata"]; ok && v != nil && !mdSet {
		s.validationFailed(w, c, "metadata", "must be a map")
		return
	}
	spec, ok := s.specFrom(w, c, body, false)
	if !ok {
		return
	}
	if spec != nil {
		// The template's build_spec follows the newest build's spec as soon
		// as that build is queued (the real server's timing is unknown).
		t.applySpec(spec)
		t.UpdatedAt = now
	} else {
		spec = t.BuildSpec
	}
	s.counters.Writes++
	b := s.newBuild(c, t, spec, md, "api", now)
	writeJSON(w, http.StatusCreated, map[string]any{"data": buildView(b, c.variant.States, c.plan.unknownState, s.opts.ClientMetadata)})
}

func (s *Server) getBuild(w *recorder, c *call) {
	b := s.st.findBuild(c.rt.id)
	if b == nil {
		s.writeError(w, c, http.StatusNotFound, "BUILD_NOT_FOUND", "build not found", nil)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": buildView(b, c.variant.States, c.plan.unknownState, s.opts.ClientMetadata)})
}

// deleteTemplate deletes a template and its builds, or answers 409
// TEMPLATE_IN_USE while one of its builds is not terminal (queued or in
// progress, even one that Options.AutoBuildLag still hides). The emulator
// runs no sandboxes, so their count is always 0.
func (s *Server) deleteTemplate(w *recorder, c *call) {
	t := s.ownTemplate(w, c, true)
	if t == nil {
		return
	}
	if n := s.st.activeBuilds(t.ID); n > 0 {
		const sandboxes = 0
		s.writeErrorExtra(w, c, http.StatusConflict, "TEMPLATE_IN_USE",
			fmt.Sprintf("template is in use: %s and %s depend on it", plural(sandboxes, "sandbox", "sandboxes"), plural(n, "build", "builds")),
			nil, map[string]any{"details": map[string]any{"sandboxes": sandboxes, "builds": n}})
		return
	}
	s.st.remove(t)
	s.counters.TemplatesDeleted++
	s.counters.Writes++
	w.WriteHeader(http.StatusNoContent)
}

// plural renders "1 build", "2 builds".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
