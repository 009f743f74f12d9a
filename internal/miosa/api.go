package miosa

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// ListTemplates lists the catalog (built-in and own templates) with
// GET /sandbox-templates, asking for aliases when includeAliases is set,
// page by page as the server announces its pages (see eachRow), each page
// read as a stream. A 404 means the base URL is wrong (the list is the
// API's first call, and it exists wherever the API does): its error says
// so (see Error.Hint).
func (c *Client) ListTemplates(ctx context.Context, includeAliases bool) ([]ListRow, error) {
	path := "/sandbox-templates"
	if includeAliases {
		path += "?include_aliases=true"
	}
	var rows []row
	l, err := c.eachRow(ctx, path, templateRowKeys, func(o obj) error {
		rows = append(rows, rowFrom(o))
		return nil
	})
	if e, ok := asError(err); ok && e.Status == http.StatusNotFound && e.hint == "" && l.pages == 0 {
		e.hint = c.listNotFoundHint()
	}
	if err != nil {
		return nil, err
	}
	out := foldAliases(rows, l.defaultID)
	for i := range out {
		c.scrub(&out[i].ID, &out[i].Name, &out[i].Slug, &out[i].Description, &out[i].Status)
	}
	return out, nil
}

// listNotFoundHint is the hint of a 404 answer to the list.
func (c *Client) listNotFoundHint() string {
	if !c.v1Path {
		return apiURLHint
	}
	return "is api-url right? " + DisplayURL(c.base) + " has no template list (the public API's is " + DefaultBaseURL + ")"
}

// GetTemplate fetches one template by id or slug with
// GET /sandbox-templates/{idOrSlug}; IsNotFound tells a missing one.
func (c *Client) GetTemplate(ctx context.Context, idOrSlug string) (*Template, error) {
	seg, err := segment("template id or slug", idOrSlug)
	if err != nil {
		return nil, err
	}
	path := "/sandbox-templates/" + seg
	res, err := c.do(ctx, call{method: http.MethodGet, path: path})
	if err != nil {
		return nil, err
	}
	return c.template(http.MethodGet, path, res)
}

// CreateTemplate creates a template, or replaces a draft or failed one of the
// same name, with POST /sandbox-templates. key is sent as the
// Idempotency-Key on every attempt; with an empty key the request is sent
// without one and is resent only when the server cannot have processed it
// (a 429, or a connection that could not be opened). The server queues a
// first build by itself.
func (c *Client) CreateTemplate(ctx context.Context, key string, req CreateTemplate) (*Template, error) {
	const path = "/sandbox-templates"
	body, err := c.encode(http.MethodPost, path, key, req)
	if err != nil {
		return nil, err
	}
	res, err := c.do(ctx, call{method: http.MethodPost, path: path, body: body, key: key})
	if err != nil {
		return nil, err
	}
	return c.template(http.MethodPost, path, res)
}

// BuildSpecSchema returns the server's JSON Schema for build_spec (from
// GET /sandbox-templates/build-spec) as raw JSON, unwrapped from a
// {"data": ...} envelope when there is one.
func (c *Client) BuildSpecSchema(ctx context.Context) ([]byte, error) {
	const path = "/sandbox-templates/build-spec"
	res, err := c.do(ctx, call{method: http.MethodGet, path: path})
	if err != nil {
		return nil, err
	}
	doc, err := decodeSchema(res.body)
	if err != nil {
		return nil, c.decodeError(http.MethodGet, path, res, err)
	}
	return doc, nil
}

// Validate asks the server to check a build spec with
// POST /sandbox-templates/validate. An invalid spec, whether reported as
// 200 {"valid": false} or as 422, is a result with Valid false and Errors;
// only failures to get an answer are errors. Validation changes nothing on
// the server, so the request is retried like a GET.
func (c *Client) Validate(ctx context.Context, spec map[string]any) (*ValidateResult, error) {
	const path = "/sandbox-templates/validate"
	body, err := c.encode(http.MethodPost, path, "", map[string]any{"build_spec": spec})
	if err != nil {
		return nil, err
	}
	res, err := c.do(ctx, call{method: http.MethodPost, path: path, body: body, accept: invalidSpec, readOnly: true})
	if err != nil {
		return nil, err
	}
	r, err := decodeValidate(res.body)
	if err != nil {
		return nil, c.decodeError(http.MethodPost, path, res, err)
	}
	if res.status >= 300 {
		r.Valid = false
	}
	if !r.Valid && len(r.Errors) == 0 {
		eb := parseErrorBody(res.body)
		r.Errors = eb.fields
		if len(r.Errors) == 0 {
			r.Errors = []FieldError{{Code: eb.code, Message: cmp.Or(eb.message, "the server rejected the build spec")}}
		}
	}
	r.Errors = c.cleanFields(r.Errors)
	r.RequestID = res.requestID
	return r, nil
}

// invalidSpec accepts validate's error answers: any 422, and a 400 whose
// code says the build spec is invalid.
func invalidSpec(res *response) bool {
	switch res.status {
	case http.StatusUnprocessableEntity:
		return true
	case http.StatusBadRequest:
		code := parseErrorBody(res.body).code
		return code == CodeInvalidBuildSpec || code == CodeValidationFailed
	}
	return false
}

// ListBuilds lists all of a template's builds, newest first as the server
// orders them, with GET /sandbox-templates/{templateID}/builds, page by
// page. EachBuild reads only as far as the caller needs.
func (c *Client) ListBuilds(ctx context.Context, templateID string) ([]Build, error) {
	builds := []Build{}
	err := c.EachBuild(ctx, templateID, func(b Build) bool {
		builds = append(builds, b)
		return true
	})
	if err != nil {
		return nil, err
	}
	return builds, nil
}

// EachBuild calls fn with each of a template's builds in the server's
// order (newest first), page by page, until fn returns false or the list
// ends: no page after the one where fn stopped is asked for, and each page
// is read as a stream, so the memory it takes is that of one build.
func (c *Client) EachBuild(ctx context.Context, templateID string, fn func(Build) bool) error {
	seg, err := segment("template id", templateID)
	if err != nil {
		return err
	}
	_, err = c.eachRow(ctx, "/sandbox-templates/"+seg+"/builds", buildRowKeys, func(o obj) error {
		b := buildFrom(o)
		c.scrubBuild(&b)
		if !fn(b) {
			return errStop
		}
		return nil
	})
	return err
}

// CreateBuild queues a build of a template with
// POST /sandbox-templates/{templateID}/builds. key is sent as the
// Idempotency-Key on every attempt; with an empty key the request is sent
// without one and is resent only when the server cannot have processed it
// (a 429, or a connection that could not be opened).
func (c *Client) CreateBuild(ctx context.Context, templateID, key string, req CreateBuild) (*Build, error) {
	seg, err := segment("template id", templateID)
	if err != nil {
		return nil, err
	}
	path := "/sandbox-templates/" + seg + "/builds"
	body, err := c.encode(http.MethodPost, path, key, req)
	if err != nil {
		return nil, err
	}
	res, err := c.do(ctx, call{method: http.MethodPost, path: path, body: body, key: key})
	if err != nil {
		return nil, err
	}
	return c.build(http.MethodPost, path, res)
}

// GetBuild fetches one build with GET /sandbox-template-builds/{buildID}.
func (c *Client) GetBuild(ctx context.Context, buildID string) (*Build, error) {
	seg, err := segment("build id", buildID)
	if err != nil {
		return nil, err
	}
	path := "/sandbox-template-builds/" + seg
	res, err := c.do(ctx, call{method: http.MethodGet, path: path})
	if err != nil {
		return nil, err
	}
	return c.build(http.MethodGet, path, res)
}

func (c *Client) template(method, path string, res *response) (*Template, error) {
	t, err := decodeTemplate(res.body)
	if err != nil {
		return nil, c.decodeError(method, path, res, err)
	}
	t.Replayed, t.RequestID = res.replayed, res.requestID
	c.scrub(&t.ID, &t.Name, &t.Slug, &t.Description, &t.Status, &t.ImageID, &t.CurrentBuildID)
	return t, nil
}

func (c *Client) build(method, path string, res *response) (*Build, error) {
	b, err := decodeBuild(res.body)
	if err != nil {
		return nil, c.decodeError(method, path, res, err)
	}
	b.Replayed, b.RequestID = res.replayed, res.requestID
	c.scrubBuild(b)
	return b, nil
}

// scrubBuild redacts the key from the build's fields that reach logs and
// outputs.
func (c *Client) scrubBuild(b *Build) {
	c.scrub(&b.ID, &b.TemplateID, &b.State, &b.ImageID, &b.LogURL, &b.ErrorCode, &b.ErrorMessage)
}

// scrub redacts the key, and any 8-character run of it, from fields of a
// successful answer that reach logs and outputs, such as a build's
// error_message echoing the request. Specs and metadata are left as they are:
// they are compared, not shown.
func (c *Client) scrub(fields ...*string) {
	for _, f := range fields {
		*f = c.key.redact(*f)
	}
}

// decodeError reports a success response that could not be read. One that
// is not JSON at all (an HTML page, a proxy's text) did not come from the
// API: the error names the URL, what came back and the base URL to check.
func (c *Client) decodeError(method, path string, res *response, err error) error {
	e := &Error{Method: method, Path: path, Status: res.status, RequestID: res.requestID,
		Err: &cleanError{msg: c.key.clean(err.Error()), err: err}}
	if !looksLikeJSON(res.body) {
		e.URL = c.url(path)
		e.headline = c.key.redact(fmt.Sprintf("%s answered %s, not JSON: %s", e.URL, contentType(res.header), c.snippet(res.body)))
		e.hint = apiURLHint
	}
	return e
}

// looksLikeJSON reports whether body starts like a JSON value.
func looksLikeJSON(body []byte) bool {
	body = bytes.TrimSpace(body)
	return len(body) > 0 && strings.IndexByte(`{["-0123456789tfn`, body[0]) >= 0
}

// contentType names a response's media type for a message.
func contentType(h http.Header) string {
	ct := h.Get("Content-Type")
	if ct == "" {
		return "no Content-Type"
	}
	if mt, _, err := mime.ParseMediaType(ct); err == nil {
		return mt
	}
	return strconv.Quote(oneLine(ct, maxSnippetShort))
}

// maxSnippetShort bounds, in runes, the start of an unexpected body quoted in
// an error.
const maxSnippetShort = 60

// snippet quotes the first characters of an unexpected body.
func (c *Client) snippet(body []byte) string {
	s := oneLine(string(body[:min(len(body), 4*maxSnippetShort)]), maxSnippetShort)
	if s == "" {
		return "an empty body"
	}
	return strconv.Quote(c.key.redact(s))
}

// encode marshals a request body and checks the Idempotency-Key.
func (c *Client) encode(method, path, key string, v any) ([]byte, error) {
	if key != "" && (!printableASCII(key) || len(key) > 255) {
		return nil, &Error{Method: method, Path: path, Err: errors.New("idempotency key must be 1 to 255 visible ASCII characters")}
	}
	body, err := json.Marshal(v)
	if err != nil {
		return nil, &Error{Method: method, Path: path, Err: fmt.Errorf("encode request: %w", err)}
	}
	return body, nil
}

// segment escapes one path segment, refusing values that would change the
// path's meaning.
func segment(what, s string) (string, error) {
	if s == "" || s == "." || s == ".." {
		return "", fmt.Errorf("miosa: invalid %s %q", what, s)
	}
	return url.PathEscape(s), nil
}
