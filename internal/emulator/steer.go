package emulator

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// TemplateSeed is a template made by hand, outside the tool under test (by
// another client of the API, or Miosa's console): the body of POST
// /__emulator/templates and the argument of Server.SeedTemplate.
type TemplateSeed struct {
	// Name is the template's name (required).
	Name string `json:"name"`
	// Slug is the template's slug; empty means the name's. It may differ
	// from the name's slug: name "api" with slug "api-playground".
	Slug string `json:"slug,omitempty"`
	// Description is the template's description.
	Description string `json:"description,omitempty"`
	// BuildSpec is the template's spec (required), validated and
	// normalized as create does.
	BuildSpec map[string]any `json:"build_spec"`
	// Metadata is client metadata stored on the template (rendered only
	// with Options.ClientMetadata).
	Metadata map[string]any `json:"metadata,omitempty"`
}

// BuildSeed is a build made by hand on an existing template, outside the
// tool under test (drift): the body of POST /__emulator/templates/{id}/builds
// and the argument of Server.SeedBuild.
type BuildSeed struct {
	// BuildSpec is the build's spec, validated and normalized as
	// create_build does; nil means the template's. As with create_build, it
	// becomes the template's build_spec.
	BuildSpec map[string]any `json:"build_spec,omitempty"`
	// State is where the build is now: queued, building, certifying,
	// snapshotting, ready (the default, also for ""), failed or cancelled.
	// A ready or failed build acts on its template at once, as a finished
	// build does. A build that is not terminal goes on from that state and
	// ends Duration after now: ready, or failed with ErrorCode.
	State string `json:"state,omitempty"`
	// ErrorCode is the error_code of a failed (or failing) build; state
	// failed without one means BUILD_STEP_FAILED. Not allowed with state
	// ready or cancelled.
	ErrorCode string `json:"error_code,omitempty"`
	// ErrorMessage overrides the error message generated for ErrorCode (as
	// Outcome.ErrorMessage does).
	ErrorMessage string `json:"error_message,omitempty"`
	// Duration is how long a build that is not terminal takes in all,
	// counted from now; zero means Options.BuildDuration.
	Duration Duration `json:"duration,omitempty"`
}

// SteeringError is why a steering call was refused; Status is the HTTP
// status its endpoint answers.
type SteeringError struct {
	Status  int
	Code    string // BAD_REQUEST, INVALID_BUILDSPEC, TEMPLATE_NOT_FOUND, TEMPLATE_EXISTS or FORBIDDEN
	Message string
	errs    []fieldError
}

// Error renders the code, the message and any build_spec problems.
func (e *SteeringError) Error() string {
	msg := e.Code + ": " + e.Message
	for _, fe := range e.errs {
		msg += "; " + fe.Field + ": " + fe.Message
	}
	return msg
}

func steeringError(status int, code, format string, args ...any) *SteeringError {
	return &SteeringError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// seedPaths lists, for each state a seeded build may be in, the states it
// passes through after queued to get there.
var seedPaths = map[string][]string{
	stateQueued:       nil,
	stateBuilding:     {stateBuilding},
	stateCertifying:   {stateBuilding, stateCertifying},
	stateSnapshotting: {stateBuilding, stateCertifying, stateSnapshotting},
	stateReady:        {stateBuilding, stateCertifying, stateSnapshotting, stateReady},
	stateFailed:       {stateBuilding, stateFailed},
	stateCancelled:    {stateCancelled},
}

// SeedTemplate makes a template by hand, with a ready build of its spec
// (source_type "auto", as if it had been created through the API), and
// returns it as stored. Nothing is counted (Counters track the tool under
// test) and no Idempotency-Key is involved. It is refused when the spec is
// invalid (INVALID_BUILDSPEC) or a template of the tenant has the same name
// or slug (TEMPLATE_EXISTS).
func (s *Server) SeedTemplate(seed TemplateSeed) (TemplateState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Clock()
	s.st.advance(now)
	slug := slugify(cmp.Or(seed.Slug, seed.Name))
	switch {
	case seed.Name == "":
		return TemplateState{}, steeringError(http.StatusBadRequest, "BAD_REQUEST", "name is required")
	case slug == "":
		return TemplateState{}, steeringError(http.StatusBadRequest, "BAD_REQUEST", "slug %q must contain a letter or a digit", cmp.Or(seed.Slug, seed.Name))
	case seed.BuildSpec == nil:
		return TemplateState{}, steeringError(http.StatusBadRequest, "BAD_REQUEST", "build_spec is required")
	}
	spec, err := s.seedSpec(seed.BuildSpec)
	if err != nil {
		return TemplateState{}, err
	}
	if t := s.st.findOwned(slug); t != nil {
		return TemplateState{}, steeringError(http.StatusConflict, "TEMPLATE_EXISTS",
			"template %s (name %q, slug %q) has that name or slug", t.ID, t.Name, t.Slug)
	}
	s.st.nextTmpl++
	t := &template{
		ID: uuidFor(s.st.seed, "template", s.st.nextTmpl), Name: seed.Name, Slug: slug, Description: seed.Description,
		Category: "custom", Status: statusDraft, Metadata: cloneMap(seed.Metadata), InsertedAt: now, UpdatedAt: now,
	}
	t.applySpec(spec)
	s.st.templates = append(s.st.templates, t)
	s.seedBuild(t, spec, "auto", BuildSeed{State: stateReady}, now)
	return templateState(t), nil
}

// SeedBuild makes a build by hand on an existing template (by id or slug),
// in the given state and with the given spec (see BuildSeed), and returns
// it as stored. Like SeedTemplate it counts nothing; the build has no
// log_url and no Outcome or EMULATOR_* marker applies to it. It is refused
// for an unknown template (TEMPLATE_NOT_FOUND), a built-in (FORBIDDEN), an
// invalid spec (INVALID_BUILDSPEC), state or duration (BAD_REQUEST).
func (s *Server) SeedBuild(template string, seed BuildSeed) (BuildState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Clock()
	s.st.advance(now)
	seed.State = cmp.Or(seed.State, stateReady)
	if _, ok := seedPaths[seed.State]; !ok {
		return BuildState{}, steeringError(http.StatusBadRequest, "BAD_REQUEST", "state %q: want one of %s", seed.State, strings.Join(seedStates(), ", "))
	}
	if seed.Duration < 0 {
		return BuildState{}, steeringError(http.StatusBadRequest, "BAD_REQUEST", "duration %s: must not be negative", time.Duration(seed.Duration))
	}
	if seed.ErrorCode != "" && (seed.State == stateReady || seed.State == stateCancelled) {
		return BuildState{}, steeringError(http.StatusBadRequest, "BAD_REQUEST", "error_code %q with state %q: only a failed or unfinished build can fail", seed.ErrorCode, seed.State)
	}
	t, err := s.ownedTemplate(template)
	if err != nil {
		return BuildState{}, err
	}
	spec := t.BuildSpec
	if seed.BuildSpec != nil {
		if spec, err = s.seedSpec(seed.BuildSpec); err != nil {
			return BuildState{}, err
		}
		t.applySpec(spec)
		t.UpdatedAt = now
	}
	return buildState(s.seedBuild(t, spec, "api", seed, now)), nil
}

// DeleteTemplate deletes a template (by id or slug) and its builds by hand,
// whatever state they are in: the template is gone from list, get and
// list_builds (404 TEMPLATE_NOT_FOUND), its builds from get_build, as after
// a DELETE through the API, but nothing is counted and no build in
// progress prevents it. Remembered Idempotency-Keys are kept, so a create
// repeated with the same key within the window replays its first answer.
func (s *Server) DeleteTemplate(template string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.advance(s.opts.Clock())
	t, err := s.ownedTemplate(template)
	if err != nil {
		return err
	}
	s.st.remove(t)
	return nil
}

// ownedTemplate finds a tenant template by id or slug for steering.
func (s *Server) ownedTemplate(idOrSlug string) (*template, error) {
	t := s.st.findTemplate(idOrSlug)
	switch {
	case t == nil:
		return nil, steeringError(http.StatusNotFound, "TEMPLATE_NOT_FOUND", "no template %q", idOrSlug)
	case t.BuiltIn:
		return nil, steeringError(http.StatusForbidden, "FORBIDDEN", "%q is a built-in template", idOrSlug)
	}
	return t, nil
}

// seedSpec validates and normalizes a spec given to a steering call. The
// round trip through JSON copies it and gives its numbers the types of a
// decoded request body.
func (s *Server) seedSpec(raw map[string]any) (map[string]any, error) {
	data, err := json.Marshal(raw)
	if err != nil {
		return nil, steeringError(http.StatusBadRequest, "BAD_REQUEST", "build_spec is not JSON: %v", err)
	}
	v, err := decodeJSON(data)
	if err != nil {
		return nil, steeringError(http.StatusBadRequest, "BAD_REQUEST", "build_spec: %v", err)
	}
	if errs := checkSpec(v); len(errs) > 0 {
		e := steeringError(http.StatusUnprocessableEntity, "INVALID_BUILDSPEC", "build_spec is invalid")
		e.errs = errs
		return nil, e
	}
	return normalize(v.(map[string]any), s.opts), nil
}

// seedBuild adds a build of t, queued now, and moves it to seed.State.
func (s *Server) seedBuild(t *template, spec map[string]any, source string, seed BuildSeed, now time.Time) *build {
	s.st.nextBuild++
	b := &build{
		ID: uuidFor(s.st.seed, "build", s.st.nextBuild), TemplateID: t.ID, TemplateName: t.Name, SourceType: source,
		State: stateQueued, Metadata: map[string]any{}, Events: []event{{stateQueued, now}},
		BuildSpec: spec, InsertedAt: now, UpdatedAt: now, seq: s.st.nextBuild,
		duration: cmp.Or(time.Duration(seed.Duration), s.opts.BuildDuration),
		failCode: seed.ErrorCode, failMsg: seed.ErrorMessage,
	}
	if seed.State == stateFailed && b.failCode == "" {
		b.failCode = codeStepFailed
	}
	describeFailure(b, 0)
	s.st.builds = append(s.st.builds, b)
	path := seedPaths[seed.State]
	if b.immediate && seed.State == stateFailed {
		path = []string{stateFailed}
	}
	for _, state := range path {
		s.st.apply(transition{b, state, now})
	}
	return b
}

// seedStates lists the states a seeded build may be in, sorted.
func seedStates() []string {
	states := make([]string, 0, len(seedPaths))
	for st := range seedPaths {
		states = append(states, st)
	}
	slices.Sort(states)
	return states
}

// serveSteer serves the steering endpoints under /__emulator/templates;
// rest is the escaped path after "templates". It reports whether the path
// and method name one.
func (s *Server) serveSteer(w http.ResponseWriter, r *http.Request, rest string) bool {
	segs := strings.Split(strings.TrimPrefix(rest, "/"), "/")
	id := ""
	if rest != "" {
		var err error
		if id, err = url.PathUnescape(segs[0]); err != nil || id == "" {
			return false
		}
	}
	switch {
	case rest == "" && r.Method == http.MethodPost:
		var seed TemplateSeed
		if !decodeSteering(w, r, &seed) {
			return true
		}
		t, err := s.SeedTemplate(seed)
		writeSteering(w, http.StatusCreated, t, err)
	case len(segs) == 1 && rest != "" && r.Method == http.MethodDelete:
		if err := s.DeleteTemplate(id); err != nil {
			writeSteering(w, 0, nil, err)
			return true
		}
		w.WriteHeader(http.StatusNoContent)
	case len(segs) == 2 && segs[1] == "builds" && r.Method == http.MethodPost:
		var seed BuildSeed
		if !decodeSteering(w, r, &seed) {
			return true
		}
		b, err := s.SeedBuild(id, seed)
		writeSteering(w, http.StatusCreated, b, err)
	default:
		return false
	}
	return true
}

// decodeSteering decodes a steering body strictly; on a problem it answers
// 400 BAD_REQUEST and returns false.
func decodeSteering(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequestBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeSteering(w, 0, nil, steeringError(http.StatusBadRequest, "BAD_REQUEST", "body: %v", err))
		return false
	}
	return true
}

// writeSteering answers v with status, or err as {"error": {code,
// message}, "errors"?: [{code, field, message}]}.
func writeSteering(w http.ResponseWriter, status int, v any, err error) {
	if err == nil {
		writeJSON(w, status, v)
		return
	}
	var e *SteeringError
	if !errors.As(err, &e) {
		e = steeringError(http.StatusInternalServerError, "INTERNAL_ERROR", "%v", err)
	}
	body := map[string]any{"error": map[string]any{"code": e.Code, "message": e.Message}}
	if len(e.errs) > 0 {
		body["errors"] = e.errs
	}
	writeJSON(w, e.Status, body)
}
