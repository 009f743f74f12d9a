package miosa

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Template is one sandbox template as GET /sandbox-templates/{id} and
// POST /sandbox-templates return it.
type Template struct {
	ID             string
	Name           string
	Slug           string
	Description    string
	Status         string // draft, ready, failed or archived; built-ins say active
	ImageID        string // empty until a build is ready
	CurrentBuildID string
	Category       string
	BuiltIn        bool
	Default        bool
	Public         bool
	CPUCount       int64 // cpu_count (default_cpu in list rows)
	MemoryMB       int64 // memory_mb (default_memory_mb)
	DiskMB         int64 // disk_mb (default_disk_mb)
	Workdir        string
	PreviewPort    int64
	Runtimes       []string
	ArtifactPaths  []string
	BuildSpec      map[string]any // normalized by the server
	Metadata       map[string]any
	InsertedAt     *time.Time
	UpdatedAt      *time.Time

	Replayed  bool   // the server replayed an earlier response to the same Idempotency-Key
	RequestID string // X-Request-ID of the response
}

// ListRow is one entry of GET /sandbox-templates: a reduced template. Rows
// that the server sends for aliases are folded into the row they alias.
type ListRow struct {
	ID          string
	Name        string
	Slug        string // list rows usually lack it
	Description string
	Status      string
	ImageID     string
	Categories  []string
	BuiltIn     bool
	Default     bool // default: true, or the envelope's default_template_id
	Public      bool
	CPUCount    int64 // default_cpu or cpu_count
	MemoryMB    int64 // default_memory_mb or memory_mb
	DiskMB      int64 // default_disk_mb or disk_mb
	Aliases     []string
}

// Build states after normalization.
const (
	StateQueued       = "queued"
	StateBuilding     = "building"
	StateCertifying   = "certifying"
	StateSnapshotting = "snapshotting"
	StateReady        = "ready"
	StateFailed       = "failed"
	StateCancelled    = "cancelled"
)

// Build is one build of a template.
type Build struct {
	ID           string
	TemplateID   string
	SourceType   string
	State        string // normalized, see NormalizeState
	ImageID      string
	LogURL       string
	ErrorCode    string // e.g. BUILD_STEP_FAILED when State is failed
	ErrorMessage string
	Metadata     map[string]any
	BuildSpec    map[string]any
	StartedAt    *time.Time
	FinishedAt   *time.Time
	DurationMS   int64
	InsertedAt   *time.Time
	UpdatedAt    *time.Time

	Replayed  bool   // the server replayed an earlier response to the same Idempotency-Key
	RequestID string // X-Request-ID of the response
}

// Terminal reports whether the build has stopped: ready, failed or
// cancelled. Unknown states count as in progress.
func (b Build) Terminal() bool { return TerminalState(b.State) }

// TerminalState reports whether a normalized build state is final: ready,
// failed or cancelled.
func TerminalState(state string) bool {
	switch state {
	case StateReady, StateFailed, StateCancelled:
		return true
	}
	return false
}

// NormalizeState maps the older state names onto the current ones: pending
// and running become building, success and complete become ready, error
// becomes failed, canceled becomes cancelled. Known states are lower-cased;
// unknown states are returned unchanged.
func NormalizeState(s string) string {
	switch l := strings.ToLower(strings.TrimSpace(s)); l {
	case "pending", "running":
		return StateBuilding
	case "success", "complete":
		return StateReady
	case "error":
		return StateFailed
	case "canceled":
		return StateCancelled
	case StateQueued, StateBuilding, StateCertifying, StateSnapshotting, StateReady, StateFailed, StateCancelled:
		return l
	}
	return s
}

// FieldError is one problem the server found in a request, such as one
// invalid build_spec field.
type FieldError struct {
	Code    string
	Field   string // as the server names it, e.g. "build_spec.steps[0].run" or "slug"; may be empty
	Message string
}

// String renders `field: message`, falling back to the code.
func (f FieldError) String() string {
	msg := f.Message
	if msg == "" {
		msg = f.Code
	}
	if f.Field == "" {
		return msg
	}
	return f.Field + ": " + msg
}

// ValidateResult is the server's verdict on a build spec. An invalid spec is
// a result with Valid false, never a Go error.
type ValidateResult struct {
	Valid     bool
	BuildSpec map[string]any // the normalized spec, when valid
	Errors    []FieldError
	RequestID string
}

// CreateTemplate is the body of POST /sandbox-templates.
type CreateTemplate struct {
	Name        string            `json:"name"`
	Slug        string            `json:"slug,omitempty"`
	Description string            `json:"description,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	BuildSpec   map[string]any    `json:"build_spec"`
}

// CreateBuild is the body of POST /sandbox-templates/{id}/builds; both fields
// may be empty.
type CreateBuild struct {
	BuildSpec map[string]any    `json:"build_spec,omitempty"`
	Metadata  map[string]string `json:"metadata,omitempty"`
}

// errShape reports a success body of the wrong shape.
func errShape(want string) error { return fmt.Errorf("%w: expected %s", ErrMalformedResponse, want) }

// decodeTemplate reads a bare or {"data": ...} template.
func decodeTemplate(body []byte) (*Template, error) {
	v, err := parseJSON(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedResponse, err)
	}
	o := asObj(unwrapData(v, "id", "name", "slug"))
	if o == nil || o.str("id") == "" {
		return nil, errShape("a template object with an id")
	}
	t := templateFrom(o)
	return &t, nil
}

func templateFrom(o obj) Template {
	t := Template{
		ID:             o.str("id"),
		Name:           o.str("name"),
		Slug:           o.str("slug"),
		Description:    o.str("description"),
		Status:         o.str("status", "state"),
		ImageID:        o.str("image_id"),
		CurrentBuildID: o.str("current_build_id"),
		Category:       o.str("category"),
		BuiltIn:        o.boolean("built_in"),
		Default:        o.boolean("default"),
		Public:         o.boolean("public"),
		CPUCount:       o.integer("cpu_count", "default_cpu"),
		MemoryMB:       o.integer("memory_mb", "default_memory_mb"),
		DiskMB:         o.integer("disk_mb", "default_disk_mb"),
		Workdir:        o.str("workdir"),
		PreviewPort:    o.integer("preview_port"),
		Runtimes:       o.strList("runtimes"),
		ArtifactPaths:  o.strList("artifact_paths"),
		BuildSpec:      o.object("build_spec"),
		Metadata:       o.object("metadata"),
		InsertedAt:     o.timestamp("inserted_at", "created_at"),
		UpdatedAt:      o.timestamp("updated_at"),
	}
	if t.Category == "" {
		if cs := o.strList("categories"); len(cs) > 0 {
			t.Category = cs[0]
		}
	}
	return t
}

// decodeList reads one page of a template list: a bare array,
// {"data": [...]}, {"templates": [...]} or {"default_template_id": "...",
// "data": [...]}, with or without what it says about its pages.
func decodeList(body []byte) ([]ListRow, error) {
	var rows []row
	pb, err := readPage(bytes.NewReader(body), templateRowKeys, 0, func(o obj) error {
		rows = append(rows, rowFrom(o))
		return nil
	})
	if err != nil {
		return nil, malformed(err)
	}
	return foldAliases(rows, pb.defaultID), nil
}

// row is a list entry before aliases are folded.
type row struct {
	ListRow
	aliasOf string // alias_of / alias_for: id, name or slug of the aliased template
	isAlias bool
}

// rowFrom reads one list entry.
func rowFrom(o obj) row {
	r := row{ListRow: listRowFrom(o), aliasOf: o.str("alias_of", "alias_for", "aliased_id", "target_id")}
	r.isAlias = r.aliasOf != "" || o.boolean("alias", "is_alias")
	return r
}

// foldAliases turns list entries into rows, one per template, the one
// whose id is defaultID marked Default. Aliases come either as an
// `aliases` array on the row, or as extra rows: rows that name their
// target (alias_of, alias_for), say alias: true, or repeat an id seen
// before (a row that a page boundary repeats folds away the same way).
// Extra rows add their name and slug to their target's Aliases; an alias
// row whose target is not in the list stays a row of its own.
func foldAliases(rows []row, defaultID string) []ListRow {
	for i := range rows {
		if defaultID != "" && rows[i].ID == defaultID {
			rows[i].Default = true
		}
	}
	var out []ListRow
	byID := map[string]int{}
	byName := map[string]int{}
	addPrimary := func(r row) {
		i := len(out)
		out = append(out, r.ListRow)
		if r.ID != "" {
			byID[r.ID] = i
		}
		for _, n := range []string{r.Name, r.Slug} {
			if _, seen := byName[n]; n != "" && !seen {
				byName[n] = i
			}
		}
	}
	var later []row
	for _, r := range rows {
		if _, dup := byID[r.ID]; r.isAlias || (r.ID != "" && dup) {
			later = append(later, r)
			continue
		}
		addPrimary(r)
	}
	for _, r := range later {
		i, ok := -1, false
		if r.aliasOf != "" {
			if i, ok = byID[r.aliasOf]; !ok {
				i, ok = byName[r.aliasOf]
			}
		} else if r.ID != "" {
			i, ok = byID[r.ID]
		}
		if !ok {
			addPrimary(r)
			continue
		}
		for _, n := range append([]string{r.Name, r.Slug}, r.Aliases...) {
			out[i].Aliases = addAlias(out[i], n)
		}
	}
	return out
}

// addAlias returns r.Aliases with name added unless it is empty, r's own
// name or slug, or already there.
func addAlias(r ListRow, name string) []string {
	if name == "" || name == r.Name || name == r.Slug {
		return r.Aliases
	}
	for _, a := range r.Aliases {
		if a == name {
			return r.Aliases
		}
	}
	return append(r.Aliases, name)
}

func listRowFrom(o obj) ListRow {
	r := ListRow{
		ID:          o.str("id"),
		Name:        o.str("name"),
		Slug:        o.str("slug"),
		Description: o.str("description"),
		Status:      o.str("status", "state"),
		ImageID:     o.str("image_id"),
		Categories:  o.strList("categories", "category"),
		BuiltIn:     o.boolean("built_in"),
		Default:     o.boolean("default"),
		Public:      o.boolean("public"),
		CPUCount:    o.integer("default_cpu", "cpu_count"),
		MemoryMB:    o.integer("default_memory_mb", "memory_mb"),
		DiskMB:      o.integer("default_disk_mb", "disk_mb"),
	}
	for _, a := range o.strList("aliases") {
		r.Aliases = addAlias(r, a)
	}
	return r
}

// decodeBuild reads a bare or {"data": ...} build.
func decodeBuild(body []byte) (*Build, error) {
	v, err := parseJSON(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedResponse, err)
	}
	o := asObj(unwrapData(v, "id", "state", "sandbox_template_id"))
	if o == nil || o.str("id") == "" {
		return nil, errShape("a build object with an id")
	}
	b := buildFrom(o)
	return &b, nil
}

func buildFrom(o obj) Build {
	return Build{
		ID:           o.str("id"),
		TemplateID:   o.str("sandbox_template_id", "template_id"),
		SourceType:   o.str("source_type"),
		State:        NormalizeState(o.str("state", "status")),
		ImageID:      o.str("image_id"),
		LogURL:       o.str("log_url"),
		ErrorCode:    o.str("error_code"),
		ErrorMessage: o.str("error_message"),
		Metadata:     o.object("metadata"),
		BuildSpec:    o.object("build_spec"),
		StartedAt:    o.timestamp("started_at"),
		FinishedAt:   o.timestamp("finished_at"),
		DurationMS:   o.integer("duration_ms"),
		InsertedAt:   o.timestamp("inserted_at", "created_at"),
		UpdatedAt:    o.timestamp("updated_at"),
	}
}

// decodeValidate reads a validate response of any status the caller passed
// on (200, or 422 with the errors list). valid defaults to "no errors".
func decodeValidate(body []byte) (*ValidateResult, error) {
	v, err := parseJSON(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedResponse, err)
	}
	o := asObj(unwrapData(v, "valid", "errors", "error"))
	if o == nil {
		return nil, errShape("a validation result object")
	}
	r := &ValidateResult{BuildSpec: o.object("build_spec"), Errors: fieldErrors(o.first("errors"))}
	valid, ok := toBool(o.first("valid"))
	if !ok {
		valid = len(r.Errors) == 0 && o.first("error") == nil
	}
	r.Valid = valid
	return r, nil
}

// schemaKeywords mark a bare JSON Schema document, as opposed to an envelope.
var schemaKeywords = []string{"$schema", "$id", "$ref", "$defs", "definitions", "type", "properties", "allOf", "anyOf", "oneOf", "version"}

// decodeSchema returns the schema document from a bare or {"data": ...}
// body, as the raw bytes the server sent.
func decodeSchema(body []byte) ([]byte, error) {
	v, err := parseJSON(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedResponse, err)
	}
	if asObj(v) == nil {
		return nil, errShape("a JSON Schema object")
	}
	if d, ok := envelope(v, schemaKeywords...); !ok || asObj(d) == nil {
		return bytes.TrimSpace(body), nil
	}
	var env map[string]json.RawMessage // exact key match, unlike a struct
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedResponse, err)
	}
	return bytes.TrimSpace(env["data"]), nil
}
