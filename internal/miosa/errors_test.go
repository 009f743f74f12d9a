package miosa_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/miosa-dev/sandbox-templates-action/internal/golden"
	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
)

// errView is what a test checks of an *Error.
type errView struct {
	Status                                           int
	Code, Message, RequestID                         string
	Fields                                           []miosa.FieldError
	RetryAfter                                       time.Duration
	NotFound, PayloadMismatch, RateLimited, Conflict bool
}

func viewOf(t *testing.T, err error) errView {
	t.Helper()
	var e *miosa.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v is not a *miosa.Error", err, err)
	}
	return errView{
		Status: e.Status, Code: e.Code, Message: e.Message, RequestID: e.RequestID, Fields: e.Fields, RetryAfter: e.RetryAfter,
		NotFound: miosa.IsNotFound(err), PayloadMismatch: miosa.IsPayloadMismatch(err), RateLimited: miosa.IsRateLimited(err),
		Conflict: miosa.IsConflict(err),
	}
}

func getTemplate(ctx context.Context, c *miosa.Client) error {
	_, err := c.GetTemplate(ctx, "web")
	return err
}

func createTemplate(ctx context.Context, c *miosa.Client) error {
	_, err := c.CreateTemplate(ctx, "key-1", miosa.CreateTemplate{Name: "web", BuildSpec: map[string]any{"from": "node:22"}})
	return err
}

func createBuild(ctx context.Context, c *miosa.Client) error {
	_, err := c.CreateBuild(ctx, "tpl-1", "key-1", miosa.CreateBuild{BuildSpec: map[string]any{"from": "node:22"}})
	return err
}

// TestErrorBodies reads every error body form of the API page. The
// rendered messages are in testdata/errors.golden.
func TestErrorBodies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		call  func(context.Context, *miosa.Client) error
		reply reply
		want  errView
	}{
		{
			name:  "not found, request id in body",
			call:  getTemplate,
			reply: reply{status: 404, body: `{"error":{"code":"TEMPLATE_NOT_FOUND","message":"template not found","request_id":"req_body"}}`},
			want:  errView{Status: 404, Code: "TEMPLATE_NOT_FOUND", Message: "template not found", RequestID: "req_body", NotFound: true},
		},
		{
			name: "not found, request id header wins",
			call: getTemplate,
			reply: reply{status: 404, header: map[string]string{"X-Request-ID": "req_hdr"},
				body: `{"error":{"code":"TEMPLATE_NOT_FOUND","message":"template not found","request_id":"req_body"}}`},
			want: errView{Status: 404, Code: "TEMPLATE_NOT_FOUND", Message: "template not found", RequestID: "req_hdr", NotFound: true},
		},
		{
			name: "name collision, errors map",
			call: createTemplate,
			reply: reply{status: 422, header: map[string]string{"X-Request-ID": "r2"},
				body: `{"error":{"code":"VALIDATION_FAILED","message":"validation failed"},"errors":{"slug":["a template with this name already exists"],"name":"is taken"}}`},
			want: errView{Status: 422, Code: "VALIDATION_FAILED", Message: "validation failed", RequestID: "r2",
				Fields: []miosa.FieldError{{Field: "name", Message: "is taken"}, {Field: "slug", Message: "a template with this name already exists"}}},
		},
		{
			name: "invalid spec, errors list",
			call: createBuild,
			reply: reply{status: 422, body: `{"error":{"code":"INVALID_BUILDSPEC","message":"invalid build spec"},
				"errors":[{"code":"REQUIRED","field":"build_spec.from","message":"is required"},{"field":"build_spec.size","message":"unknown size"}]}`},
			want: errView{Status: 422, Code: "INVALID_BUILDSPEC", Message: "invalid build spec",
				Fields: []miosa.FieldError{{Code: "REQUIRED", Field: "build_spec.from", Message: "is required"}, {Field: "build_spec.size", Message: "unknown size"}}},
		},
		{
			name: "payload mismatch",
			call: createBuild,
			reply: reply{status: 409, header: map[string]string{"X-Request-ID": "r3"},
				body: `{"error":{"code":"IDEMPOTENCY_PAYLOAD_MISMATCH","message":"Idempotency-Key reused with a different payload"}}`},
			want: errView{Status: 409, Code: "IDEMPOTENCY_PAYLOAD_MISMATCH", Message: "Idempotency-Key reused with a different payload",
				RequestID: "r3", PayloadMismatch: true, Conflict: true},
		},
		{
			name:  "payload mismatch, flat body without code",
			call:  createTemplate,
			reply: reply{status: 409, body: `{"error":"idempotency key was used with a different request payload"}`},
			want: errView{Status: 409, Message: "idempotency key was used with a different request payload",
				PayloadMismatch: true, Conflict: true},
		},
		{
			name:  "template in use",
			call:  getTemplate,
			reply: reply{status: 409, body: `{"error":{"code":"TEMPLATE_IN_USE","message":"template has running sandboxes"}}`},
			want:  errView{Status: 409, Code: "TEMPLATE_IN_USE", Message: "template has running sandboxes", Conflict: true},
		},
		{
			name:  "bad key, flat error string",
			call:  getTemplate,
			reply: reply{status: 401, body: `{"error":"invalid api key"}`},
			want:  errView{Status: 401, Message: "invalid api key"},
		},
		{
			name:  "forbidden, message form",
			call:  getTemplate,
			reply: reply{status: 403, body: `{"message":"forbidden for this tenant","code":"FORBIDDEN"}`},
			want:  errView{Status: 403, Code: "FORBIDDEN", Message: "forbidden for this tenant"},
		},
		{
			name:  "out of credits, detail form",
			call:  createTemplate,
			reply: reply{status: 402, body: `{"detail":"out of credits"}`},
			want:  errView{Status: 402, Message: "out of credits"},
		},
		{
			name:  "errors list of strings",
			call:  createTemplate,
			reply: reply{status: 400, body: `{"errors":["name is required","build_spec is required"]}`},
			want:  errView{Status: 400, Fields: []miosa.FieldError{{Message: "name is required"}, {Message: "build_spec is required"}}},
		},
		{
			name:  "detail list",
			call:  createTemplate,
			reply: reply{status: 422, body: `{"detail":[{"loc":["body","name"],"msg":"field required","type":"missing"}]}`},
			want: errView{Status: 422,
				Fields: []miosa.FieldError{{Code: "missing", Field: "body.name", Message: "field required"}}},
		},
		{
			name:  "rate limited, retry_after in body",
			call:  getTemplate,
			reply: reply{status: 429, body: `{"error":{"code":"RATE_LIMITED","message":"slow down","retryable":true,"retry_after":"7"}}`},
			want:  errView{Status: 429, Code: "RATE_LIMITED", Message: "slow down", RetryAfter: 7 * time.Second, RateLimited: true},
		},
		{
			name:  "html gateway page",
			call:  getTemplate,
			reply: reply{status: 502, header: map[string]string{"Content-Type": "text/html"}, body: "<html><body>Bad Gateway</body></html>"},
			want:  errView{Status: 502},
		},
		{
			name:  "plain text, control characters",
			call:  createTemplate,
			reply: reply{status: 500, header: map[string]string{"Content-Type": "text/plain"}, body: "upstream\x1b[31m exploded\r\n\tat line 3\u202e"},
			want:  errView{Status: 500, Message: "upstream [31m exploded at line 3"},
		},
		{
			name:  "empty body",
			call:  createTemplate,
			reply: reply{status: 500},
			want:  errView{Status: 500},
		},
		{
			name:  "server message with newlines",
			call:  getTemplate,
			reply: reply{status: 400, body: `{"error":{"code":"BAD_REQUEST","message":"line one\nline two\u0000"}}`},
			want:  errView{Status: 400, Code: "BAD_REQUEST", Message: "line one line two"},
		},
	}
	var rendered []string
	for _, tt := range tests {
		srv := newServer(t, script(tt.reply))
		c, _, _ := newClient(t, srv, func(o *miosa.Options) { o.MaxAttempts = 1 })
		err := tt.call(context.Background(), c)
		if err == nil {
			t.Fatalf("%s: no error", tt.name)
		}
		if diff := cmp.Diff(tt.want, viewOf(t, err)); diff != "" {
			t.Errorf("%s: error mismatch (-want +got):\n%s", tt.name, diff)
		}
		if n := srv.count(); n != 1 {
			t.Errorf("%s: server got %d requests, want 1", tt.name, n)
		}
		rendered = append(rendered, fmt.Sprintf("%s\n\t%s", tt.name, err))
	}
	golden.Testdata.Check(t, "errors.golden", strings.Join(rendered, "\n")+"\n")
}

// TestAnswersNotFromTheAPI: a wrong api-url reaches something that is not
// the API, which answers 404 with its own page or 200 with HTML. The error
// names the URL requested and what came back, and says which setting to
// check, instead of "not found (http 404)" or "invalid character '<'".
// The messages are in testdata/not-api.golden.
func TestAnswersNotFromTheAPI(t *testing.T) {
	t.Parallel()
	html := map[string]string{"Content-Type": "text/html; charset=utf-8"}
	tests := []struct {
		name    string
		base    string // path of the base URL; default /api/v1
		call    func(context.Context, *miosa.Client) error
		reply   reply
		wantURL string // path of Error.URL; "" for none
		hint    bool
	}{
		{"404 text, base without /api/v1", "/v2", listTemplates,
			reply{status: 404, header: map[string]string{"Content-Type": "text/plain"}, body: "404 page not found"}, "/v2/sandbox-templates", true},
		{"404 html page", "", listTemplates, reply{status: 404, header: html, body: "<html><body>Not Found</body></html>"}, "/api/v1/sandbox-templates", true},
		{"404 empty, base without /api/v1", "/", getTemplate, reply{status: 404}, "/sandbox-templates/web", true},
		{"404 json that is no API error", "", listTemplates, reply{status: 404, body: `{}`}, "/api/v1/sandbox-templates", false},
		{"404 of the API", "", getTemplate, reply{status: 404, body: `{"error":{"code":"TEMPLATE_NOT_FOUND","message":"template not found"}}`}, "", false},
		{"200 html page", "", listTemplates, reply{status: 200, header: html, body: "<!doctype html>\n<html><head><title>Miosa - sign in</title></head><body>" + strings.Repeat("x", 500)}, "/api/v1/sandbox-templates", true},
		{"200 html page quoting the key", "", getTemplate, reply{status: 200, header: html, body: "<p>" + testKey + "</p>"}, "/api/v1/sandbox-templates/web", true},
		{"200 empty body", "", getTemplate, reply{status: 200}, "/api/v1/sandbox-templates/web", true},
		{"200 truncated json", "", getTemplate, reply{status: 200, body: `{"data":{"id":`}, "", false},
	}
	var rendered []string
	for _, tt := range tests {
		srv := newServer(t, script(tt.reply))
		base := tt.base
		if base == "" {
			base = "/api/v1"
		}
		c, _, _ := newClient(t, srv, func(o *miosa.Options) { o.BaseURL, o.MaxAttempts = srv.URL+base, 1 })
		err := tt.call(context.Background(), c)
		var e *miosa.Error
		if !errors.As(err, &e) {
			t.Fatalf("%s: error %v is not a *miosa.Error", tt.name, err)
		}
		if tt.wantURL == "" && e.URL != "" || tt.wantURL != "" && e.URL != srv.URL+tt.wantURL {
			t.Errorf("%s: URL = %q, want %q", tt.name, e.URL, tt.wantURL)
		}
		msg := strings.ReplaceAll(err.Error(), srv.URL, "http://server")
		if hint := strings.Contains(msg, "is api-url right? it should end in /api/v1"); hint != tt.hint {
			t.Errorf("%s: hint %t, want %t: %s", tt.name, hint, tt.hint, msg)
		}
		if strings.Contains(msg, testKey[4:12]) || strings.Contains(msg, "invalid character") {
			t.Errorf("%s: %s", tt.name, msg)
		}
		rendered = append(rendered, fmt.Sprintf("%s\n\t%s", tt.name, msg))
	}
	golden.Testdata.Check(t, "not-api.golden", strings.Join(rendered, "\n")+"\n")
}
