package miosa_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
)

// wantReq is what the server must receive.
type wantReq struct {
	Method, Path, Query string
	Body                string // JSON, compared as a value; "" for no body
	Key                 string // Idempotency-Key
}

func ts(s string) *time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return &t
}

const (
	templateJSON = `{"id":"6f1c0d52-0000-4000-8000-000000000001","name":"web","slug":"web","description":"Web app",
		"image_id":null,"category":"frameworks","default":false,"built_in":false,"public":false,"status":"draft",
		"cpu_count":2,"memory_mb":"2048","disk_mb":null,"workdir":"/workspace","preview_port":"3000",
		"runtimes":["node"],"artifact_paths":["dist"],"build_spec":{"from":"node:22","vcpu":2,"ratio":0.5,"steps":[{"run":"npm ci"}]},
		"metadata":{"repo":"o/r"},"current_build_id":null,"inserted_at":"2025-01-02T03:04:05Z",
		"updated_at":"2025-01-02T03:04:05.123456","unknown_field":{"x":1}}`
	buildJSON = `{"id":"b-1","sandbox_template_id":"6f1c0d52-0000-4000-8000-000000000001","source_type":"api",
		"state":"queued","image_id":null,"log_url":"https://logs/b-1","error_code":null,"error_message":null,
		"metadata":{"commit":"abc","events":[{"event":"queued","at":"2025-01-02T03:04:05Z"}]},"started_at":null,
		"finished_at":null,"duration_ms":null,"build_spec":{"from":"node:22"},"inserted_at":"2025-01-02T03:04:05Z",
		"updated_at":"2025-01-02T03:04:05Z","extra":true}`
)

var (
	wantTemplate = &miosa.Template{
		ID: "6f1c0d52-0000-4000-8000-000000000001", Name: "web", Slug: "web", Description: "Web app",
		Category: "frameworks", Status: "draft", CPUCount: 2, MemoryMB: 2048, Workdir: "/workspace", PreviewPort: 3000,
		Runtimes: []string{"node"}, ArtifactPaths: []string{"dist"},
		BuildSpec:  map[string]any{"from": "node:22", "vcpu": int64(2), "ratio": 0.5, "steps": []any{map[string]any{"run": "npm ci"}}},
		Metadata:   map[string]any{"repo": "o/r"},
		InsertedAt: ts("2025-01-02T03:04:05Z"), UpdatedAt: ts("2025-01-02T03:04:05.123456Z"),
	}
	wantBuild = &miosa.Build{
		ID: "b-1", TemplateID: "6f1c0d52-0000-4000-8000-000000000001", SourceType: "api", State: "queued",
		LogURL:     "https://logs/b-1",
		Metadata:   map[string]any{"commit": "abc", "events": []any{map[string]any{"event": "queued", "at": "2025-01-02T03:04:05Z"}}},
		BuildSpec:  map[string]any{"from": "node:22"},
		InsertedAt: ts("2025-01-02T03:04:05Z"), UpdatedAt: ts("2025-01-02T03:04:05Z"),
	}
	rowsJSON = `[{"id":"nextjs","name":"nextjs","description":"Next.js","image_id":"img-1","categories":["web"],
		"default":false,"built_in":true,"public":true,"status":"active","default_cpu":2,"default_memory_mb":4096,"default_disk_mb":"10240"},
		{"id":"6f1c","name":"web","status":"ready","default_cpu":"1","default_memory_mb":null,"categories":[],"built_in":false}]`
	wantRows = []miosa.ListRow{
		{ID: "nextjs", Name: "nextjs", Description: "Next.js", ImageID: "img-1", Categories: []string{"web"}, BuiltIn: true,
			Public: true, Status: "active", CPUCount: 2, MemoryMB: 4096, DiskMB: 10240},
		{ID: "6f1c", Name: "web", Status: "ready", CPUCount: 1},
	}
)

func with[T any](v *T, f func(*T)) *T {
	c := *v
	f(&c)
	return &c
}

func TestDecoding(t *testing.T) {
	t.Parallel()
	specBody := `{"build_spec":{"from":"node:22"}}`
	tests := []struct {
		name  string
		call  func(context.Context, *miosa.Client) (any, error)
		reply reply
		req   wantReq
		want  any
	}{
		{
			name:  "list bare array",
			call:  func(ctx context.Context, c *miosa.Client) (any, error) { return c.ListTemplates(ctx, false) },
			reply: reply{status: 200, body: rowsJSON},
			req:   wantReq{Method: "GET", Path: "/api/v1/sandbox-templates", Query: "page_size=100"},
			want:  wantRows,
		},
		{
			name:  "list data envelope",
			call:  func(ctx context.Context, c *miosa.Client) (any, error) { return c.ListTemplates(ctx, false) },
			reply: reply{status: 200, body: `{"data":` + rowsJSON + `}`},
			req:   wantReq{Method: "GET", Path: "/api/v1/sandbox-templates", Query: "page_size=100"},
			want:  wantRows,
		},
		{
			name:  "list with default_template_id",
			call:  func(ctx context.Context, c *miosa.Client) (any, error) { return c.ListTemplates(ctx, false) },
			reply: reply{status: 200, body: `{"default_template_id":"6f1c","data":` + rowsJSON + `}`},
			req:   wantReq{Method: "GET", Path: "/api/v1/sandbox-templates", Query: "page_size=100"},
			want: []miosa.ListRow{wantRows[0], func() miosa.ListRow {
				r := wantRows[1]
				r.Default = true
				return r
			}()},
		},
		{
			name:  "list of full templates",
			call:  func(ctx context.Context, c *miosa.Client) (any, error) { return c.ListTemplates(ctx, false) },
			reply: reply{status: 200, body: `[` + templateJSON + `]`},
			req:   wantReq{Method: "GET", Path: "/api/v1/sandbox-templates", Query: "page_size=100"},
			want: []miosa.ListRow{{ID: "6f1c0d52-0000-4000-8000-000000000001", Name: "web", Slug: "web", Description: "Web app",
				Categories: []string{"frameworks"}, Status: "draft", CPUCount: 2, MemoryMB: 2048}},
		},
		{
			name: "list aliases array",
			call: func(ctx context.Context, c *miosa.Client) (any, error) { return c.ListTemplates(ctx, true) },
			reply: reply{status: 200, body: `{"data":[{"id":"nextjs","name":"nextjs","built_in":true,
				"aliases":["next","nextjs","next-app"]}]}`},
			req:  wantReq{Method: "GET", Path: "/api/v1/sandbox-templates", Query: "include_aliases=true&page_size=100"},
			want: []miosa.ListRow{{ID: "nextjs", Name: "nextjs", BuiltIn: true, Aliases: []string{"next", "next-app"}}},
		},
		{
			name: "list aliases as extra rows",
			call: func(ctx context.Context, c *miosa.Client) (any, error) { return c.ListTemplates(ctx, true) },
			reply: reply{status: 200, body: `[{"id":"nextjs","name":"next","alias":true},
				{"id":"nextjs","name":"nextjs","built_in":true},
				{"id":"nextjs","name":"next-app"},
				{"id":"x9","name":"py","alias_of":"python"},
				{"id":"python","name":"python"},
				{"id":"x8","name":"orphan","alias_of":"gone"}]`},
			req: wantReq{Method: "GET", Path: "/api/v1/sandbox-templates", Query: "include_aliases=true&page_size=100"},
			want: []miosa.ListRow{
				{ID: "nextjs", Name: "nextjs", BuiltIn: true, Aliases: []string{"next", "next-app"}},
				{ID: "python", Name: "python", Aliases: []string{"py"}},
				{ID: "x8", Name: "orphan"},
			},
		},
		{
			name:  "list empty",
			call:  func(ctx context.Context, c *miosa.Client) (any, error) { return c.ListTemplates(ctx, false) },
			reply: reply{status: 200, body: `{"data":[]}`},
			req:   wantReq{Method: "GET", Path: "/api/v1/sandbox-templates", Query: "page_size=100"},
			want:  []miosa.ListRow(nil),
		},
		{
			name:  "get bare",
			call:  func(ctx context.Context, c *miosa.Client) (any, error) { return c.GetTemplate(ctx, "web") },
			reply: reply{status: 200, header: map[string]string{"X-Request-ID": "req-7"}, body: templateJSON},
			req:   wantReq{Method: "GET", Path: "/api/v1/sandbox-templates/web"},
			want:  with(wantTemplate, func(t *miosa.Template) { t.RequestID = "req-7" }),
		},
		{
			name:  "get wrapped, slug escaped",
			call:  func(ctx context.Context, c *miosa.Client) (any, error) { return c.GetTemplate(ctx, "my tpl/x?y") },
			reply: reply{status: 200, body: `{"data":` + templateJSON + `}`},
			req:   wantReq{Method: "GET", Path: "/api/v1/sandbox-templates/my%20tpl%2Fx%3Fy"},
			want:  wantTemplate,
		},
		{
			name: "get built-in with categories",
			call: func(ctx context.Context, c *miosa.Client) (any, error) { return c.GetTemplate(ctx, "nextjs") },
			reply: reply{status: 200, body: `{"id":"nextjs","name":"nextjs","built_in":"true","status":"active",
				"categories":["web","node"],"default_cpu":4,"inserted_at":1735787045}`},
			req: wantReq{Method: "GET", Path: "/api/v1/sandbox-templates/nextjs"},
			want: &miosa.Template{ID: "nextjs", Name: "nextjs", BuiltIn: true, Status: "active", Category: "web", CPUCount: 4,
				InsertedAt: ts("2025-01-02T03:04:05Z")},
		},
		{
			name: "create template",
			call: func(ctx context.Context, c *miosa.Client) (any, error) {
				return c.CreateTemplate(ctx, "4b1e6c1e-1f0a-5c7e-9a55-0c1d2e3f4a5b", miosa.CreateTemplate{
					Name: "web", Description: "Web app", Metadata: map[string]string{"repo": "o/r"},
					BuildSpec: map[string]any{"from": "node:22"},
				})
			},
			reply: reply{status: 201, body: `{"data":` + templateJSON + `}`},
			req: wantReq{Method: "POST", Path: "/api/v1/sandbox-templates", Key: "4b1e6c1e-1f0a-5c7e-9a55-0c1d2e3f4a5b",
				Body: `{"name":"web","description":"Web app","metadata":{"repo":"o/r"},"build_spec":{"from":"node:22"}}`},
			want: wantTemplate,
		},
		{
			name: "create template replayed",
			call: func(ctx context.Context, c *miosa.Client) (any, error) {
				return c.CreateTemplate(ctx, "k1", miosa.CreateTemplate{Name: "web", Slug: "web", BuildSpec: map[string]any{}})
			},
			reply: reply{status: 201, header: map[string]string{"Idempotent-Replayed": "true", "X-Request-ID": "r1"},
				body: `{"data":` + templateJSON + `}`},
			req: wantReq{Method: "POST", Path: "/api/v1/sandbox-templates", Key: "k1",
				Body: `{"name":"web","slug":"web","build_spec":{}}`},
			want: with(wantTemplate, func(t *miosa.Template) { t.Replayed, t.RequestID = true, "r1" }),
		},
		{
			name: "create template replayed, other header spelling",
			call: func(ctx context.Context, c *miosa.Client) (any, error) {
				return c.CreateTemplate(ctx, "k1", miosa.CreateTemplate{Name: "web"})
			},
			reply: reply{status: 200, header: map[string]string{"Idempotency-Replayed": "True"}, body: templateJSON},
			req:   wantReq{Method: "POST", Path: "/api/v1/sandbox-templates", Key: "k1", Body: `{"name":"web","build_spec":null}`},
			want:  with(wantTemplate, func(t *miosa.Template) { t.Replayed = true }),
		},
		{
			name:  "schema bare",
			call:  func(ctx context.Context, c *miosa.Client) (any, error) { return str(c.BuildSpecSchema(ctx)) },
			reply: reply{status: 200, body: ` {"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","version":"2"}` + "\n"},
			req:   wantReq{Method: "GET", Path: "/api/v1/sandbox-templates/build-spec"},
			want:  `{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","version":"2"}`,
		},
		{
			name:  "schema wrapped",
			call:  func(ctx context.Context, c *miosa.Client) (any, error) { return str(c.BuildSpecSchema(ctx)) },
			reply: reply{status: 200, body: `{"data": {"type":"object","properties":{"data":{"type":"string"}}} }`},
			req:   wantReq{Method: "GET", Path: "/api/v1/sandbox-templates/build-spec"},
			want:  `{"type":"object","properties":{"data":{"type":"string"}}}`,
		},
		{
			name:  "schema with a data property stays bare",
			call:  func(ctx context.Context, c *miosa.Client) (any, error) { return str(c.BuildSpecSchema(ctx)) },
			reply: reply{status: 200, body: `{"type":"object","data":{"x":1}}`},
			req:   wantReq{Method: "GET", Path: "/api/v1/sandbox-templates/build-spec"},
			want:  `{"type":"object","data":{"x":1}}`,
		},
		{
			name: "validate valid",
			call: func(ctx context.Context, c *miosa.Client) (any, error) {
				return c.Validate(ctx, map[string]any{"from": "node:22"})
			},
			reply: reply{status: 200, header: map[string]string{"X-Request-ID": "v1"},
				body: `{"valid":true,"build_spec":{"from":"node:22","workdir":"/workspace","user":"root"}}`},
			req: wantReq{Method: "POST", Path: "/api/v1/sandbox-templates/validate", Body: specBody},
			want: &miosa.ValidateResult{Valid: true, RequestID: "v1",
				BuildSpec: map[string]any{"from": "node:22", "workdir": "/workspace", "user": "root"}},
		},
		{
			name: "validate valid wrapped",
			call: func(ctx context.Context, c *miosa.Client) (any, error) {
				return c.Validate(ctx, map[string]any{"from": "node:22"})
			},
			reply: reply{status: 200, body: `{"data":{"valid":true,"build_spec":{"from":"node:22"}}}`},
			req:   wantReq{Method: "POST", Path: "/api/v1/sandbox-templates/validate", Body: specBody},
			want:  &miosa.ValidateResult{Valid: true, BuildSpec: map[string]any{"from": "node:22"}},
		},
		{
			name: "validate 200 invalid",
			call: func(ctx context.Context, c *miosa.Client) (any, error) {
				return c.Validate(ctx, map[string]any{"from": "node:22"})
			},
			reply: reply{status: 200, body: `{"valid":false,"errors":[{"code":"REQUIRED","field":"build_spec.steps[0].run","message":"is required"}]}`},
			req:   wantReq{Method: "POST", Path: "/api/v1/sandbox-templates/validate", Body: specBody},
			want: &miosa.ValidateResult{Errors: []miosa.FieldError{
				{Code: "REQUIRED", Field: "build_spec.steps[0].run", Message: "is required"}}},
		},
		{
			name: "validate 422 INVALID_BUILDSPEC",
			call: func(ctx context.Context, c *miosa.Client) (any, error) {
				return c.Validate(ctx, map[string]any{"from": "node:22"})
			},
			reply: reply{status: 422, header: map[string]string{"X-Request-ID": "v2"},
				body: `{"error":{"code":"INVALID_BUILDSPEC","message":"invalid build spec"},
				"errors":[{"code":"ENUM","field":"build_spec.size","message":"must be one of xs, small"}]}`},
			req: wantReq{Method: "POST", Path: "/api/v1/sandbox-templates/validate", Body: specBody},
			want: &miosa.ValidateResult{RequestID: "v2", Errors: []miosa.FieldError{
				{Code: "ENUM", Field: "build_spec.size", Message: "must be one of xs, small"}}},
		},
		{
			name: "validate errors as strings",
			call: func(ctx context.Context, c *miosa.Client) (any, error) {
				return c.Validate(ctx, map[string]any{"from": "node:22"})
			},
			reply: reply{status: 200, body: `{"valid":false,"errors":["from is required","vcpu must be\n<= 8"]}`},
			req:   wantReq{Method: "POST", Path: "/api/v1/sandbox-templates/validate", Body: specBody},
			want: &miosa.ValidateResult{Errors: []miosa.FieldError{
				{Message: "from is required"}, {Message: "vcpu must be <= 8"}}},
		},
		{
			name: "validate 422 with no errors list",
			call: func(ctx context.Context, c *miosa.Client) (any, error) {
				return c.Validate(ctx, map[string]any{"from": "node:22"})
			},
			reply: reply{status: 422, body: `{"error":{"code":"INVALID_BUILDSPEC","message":"from: is required"}}`},
			req:   wantReq{Method: "POST", Path: "/api/v1/sandbox-templates/validate", Body: specBody},
			want: &miosa.ValidateResult{Errors: []miosa.FieldError{
				{Code: "INVALID_BUILDSPEC", Message: "from: is required"}}},
		},
		{
			name: "validate 422 errors map",
			call: func(ctx context.Context, c *miosa.Client) (any, error) {
				return c.Validate(ctx, map[string]any{"from": "node:22"})
			},
			reply: reply{status: 422, body: `{"error":{"code":"VALIDATION_FAILED","message":"invalid"},"errors":{"build_spec":["from is required"]}}`},
			req:   wantReq{Method: "POST", Path: "/api/v1/sandbox-templates/validate", Body: specBody},
			want: &miosa.ValidateResult{Errors: []miosa.FieldError{
				{Field: "build_spec", Message: "from is required"}}},
		},
		{
			name:  "list builds wrapped",
			call:  func(ctx context.Context, c *miosa.Client) (any, error) { return c.ListBuilds(ctx, "6f1c") },
			reply: reply{status: 200, body: `{"data":[` + buildJSON + `,{"id":"b-0","state":"success","duration_ms":"1500"}]}`},
			req:   wantReq{Method: "GET", Path: "/api/v1/sandbox-templates/6f1c/builds", Query: "page_size=100"},
			want:  []miosa.Build{*wantBuild, {ID: "b-0", State: "ready", DurationMS: 1500}},
		},
		{
			name:  "list builds bare",
			call:  func(ctx context.Context, c *miosa.Client) (any, error) { return c.ListBuilds(ctx, "6f1c") },
			reply: reply{status: 200, body: `[{"id":"b-2","state":"running"},{"id":"b-1","state":"error","error_code":"BUILD_STEP_FAILED"},{"id":"b-0","state":"hibernating"}]`},
			req:   wantReq{Method: "GET", Path: "/api/v1/sandbox-templates/6f1c/builds", Query: "page_size=100"},
			want: []miosa.Build{{ID: "b-2", State: "building"}, {ID: "b-1", State: "failed", ErrorCode: "BUILD_STEP_FAILED"},
				{ID: "b-0", State: "hibernating"}},
		},
		{
			name:  "list builds empty",
			call:  func(ctx context.Context, c *miosa.Client) (any, error) { return c.ListBuilds(ctx, "6f1c") },
			reply: reply{status: 200, body: `{"data":[]}`},
			req:   wantReq{Method: "GET", Path: "/api/v1/sandbox-templates/6f1c/builds", Query: "page_size=100"},
			want:  []miosa.Build{},
		},
		{
			name: "create build",
			call: func(ctx context.Context, c *miosa.Client) (any, error) {
				return c.CreateBuild(ctx, "6f1c", "key-2", miosa.CreateBuild{
					BuildSpec: map[string]any{"from": "node:22"}, Metadata: map[string]string{"commit": "abc"}})
			},
			reply: reply{status: 201, body: `{"data":` + buildJSON + `}`},
			req: wantReq{Method: "POST", Path: "/api/v1/sandbox-templates/6f1c/builds", Key: "key-2",
				Body: `{"build_spec":{"from":"node:22"},"metadata":{"commit":"abc"}}`},
			want: wantBuild,
		},
		{
			name: "create build with empty body, replayed",
			call: func(ctx context.Context, c *miosa.Client) (any, error) {
				return c.CreateBuild(ctx, "6f1c", "key-3", miosa.CreateBuild{})
			},
			reply: reply{status: 201, header: map[string]string{"Idempotent-Replayed": "true"}, body: `{"data":` + buildJSON + `}`},
			req:   wantReq{Method: "POST", Path: "/api/v1/sandbox-templates/6f1c/builds", Key: "key-3", Body: `{}`},
			want:  with(wantBuild, func(b *miosa.Build) { b.Replayed = true }),
		},
		{
			name: "get build",
			call: func(ctx context.Context, c *miosa.Client) (any, error) { return c.GetBuild(ctx, "b-1") },
			reply: reply{status: 200, body: `{"data":{"id":"b-1","sandbox_template_id":"t","state":"complete",
				"image_id":"img-9","started_at":"2025-01-02T03:04:05Z","finished_at":"2025-01-02 03:05:05","duration_ms":60000.0}}`},
			req: wantReq{Method: "GET", Path: "/api/v1/sandbox-template-builds/b-1"},
			want: &miosa.Build{ID: "b-1", TemplateID: "t", State: "ready", ImageID: "img-9",
				StartedAt: ts("2025-01-02T03:04:05Z"), FinishedAt: ts("2025-01-02T03:05:05Z"), DurationMS: 60000},
		},
		{
			name:  "get build bare, failed",
			call:  func(ctx context.Context, c *miosa.Client) (any, error) { return c.GetBuild(ctx, "b-1") },
			reply: reply{status: 200, body: `{"id":"b-1","state":"FAILED","error_code":"BUILD_STEP_FAILED","error_message":"step 1 exited 2"}`},
			req:   wantReq{Method: "GET", Path: "/api/v1/sandbox-template-builds/b-1"},
			want:  &miosa.Build{ID: "b-1", State: "failed", ErrorCode: "BUILD_STEP_FAILED", ErrorMessage: "step 1 exited 2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, script(tt.reply))
			c, _, _ := newClient(t, srv, nil)
			got, err := tt.call(context.Background(), c)
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("result mismatch (-want +got):\n%s", diff)
			}
			reqs := srv.requests()
			if len(reqs) != 1 {
				t.Fatalf("server got %d requests, want 1", len(reqs))
			}
			checkRequest(t, reqs[0], tt.req)
		})
	}
}

func str(b []byte, err error) (any, error) { return string(b), err }

// checkRequest compares what the server received with want, headers included.
func checkRequest(t *testing.T, got seen, want wantReq) {
	t.Helper()
	type view struct {
		Method, Path, Query, Authorization, Accept, UserAgent, ContentType, Key string
		Body                                                                    any
	}
	g := view{Method: got.Method, Path: got.Path, Query: got.Query,
		Authorization: got.Header.Get("Authorization"), Accept: got.Header.Get("Accept"),
		UserAgent: got.Header.Get("User-Agent"), ContentType: got.Header.Get("Content-Type"),
		Key: got.Header.Get("Idempotency-Key"), Body: jsonValue(t, got.Body)}
	w := view{Method: want.Method, Path: want.Path, Query: want.Query,
		Authorization: "Bearer " + testKey, Accept: "application/json", UserAgent: testUA,
		Key: want.Key, Body: jsonValue(t, []byte(want.Body))}
	if want.Body != "" {
		w.ContentType = "application/json"
	}
	if _, ok := got.Header["Idempotency-Key"]; ok && want.Key == "" {
		t.Errorf("request carries an Idempotency-Key header, want none")
	}
	if diff := cmp.Diff(w, g); diff != "" {
		t.Errorf("request mismatch (-want +got):\n%s", diff)
	}
}

func TestTerminal(t *testing.T) {
	t.Parallel()
	for state, want := range map[string]bool{
		"queued": false, "building": false, "certifying": false, "snapshotting": false, "hibernating": false, "": false,
		"ready": true, "failed": true, "cancelled": true,
	} {
		if got := (miosa.Build{State: state}).Terminal(); got != want {
			t.Errorf("Build{State: %q}.Terminal() = %t, want %t", state, got, want)
		}
	}
	for in, want := range map[string]string{
		"pending": "building", "Running": "building", "success": "ready", "complete": "ready", "error": "failed",
		"canceled": "cancelled", "QUEUED": "queued", "Hibernating": "Hibernating",
	} {
		if got := miosa.NormalizeState(in); got != want {
			t.Errorf("NormalizeState(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMalformedSuccess(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		call func(context.Context, *miosa.Client) error
		body string
	}{
		{"get not json", func(ctx context.Context, c *miosa.Client) error { _, err := c.GetTemplate(ctx, "x"); return err }, `<html>`},
		{"get without id", func(ctx context.Context, c *miosa.Client) error { _, err := c.GetTemplate(ctx, "x"); return err }, `{"data":{"name":"x"}}`},
		{"list object", func(ctx context.Context, c *miosa.Client) error { _, err := c.ListTemplates(ctx, false); return err }, `{"templates":3}`},
		{"build list string", func(ctx context.Context, c *miosa.Client) error { _, err := c.ListBuilds(ctx, "t"); return err }, `"x"`},
		{"schema array", func(ctx context.Context, c *miosa.Client) error { _, err := c.BuildSpecSchema(ctx); return err }, `[]`},
		{"validate array", func(ctx context.Context, c *miosa.Client) error { _, err := c.Validate(ctx, nil); return err }, `[]`},
		{"build trailing data", func(ctx context.Context, c *miosa.Client) error { _, err := c.GetBuild(ctx, "b"); return err }, `{"id":"b"} {}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, script(reply{status: 200, body: tt.body}))
			c, _, _ := newClient(t, srv, nil)
			err := tt.call(context.Background(), c)
			if !errors.Is(err, miosa.ErrMalformedResponse) {
				t.Fatalf("err = %v, want ErrMalformedResponse", err)
			}
			if n := srv.count(); n != 1 {
				t.Errorf("server got %d requests, want 1", n)
			}
		})
	}
}

func TestInvalidArguments(t *testing.T) {
	t.Parallel()
	srv := newServer(t, script(reply{status: 200, body: `{}`}))
	c, _, _ := newClient(t, srv, nil)
	ctx := context.Background()
	for name, call := range map[string]func() error{
		"empty id":    func() error { _, err := c.GetTemplate(ctx, ""); return err },
		"dot dot":     func() error { _, err := c.ListBuilds(ctx, ".."); return err },
		"dot":         func() error { _, err := c.GetBuild(ctx, "."); return err },
		"key newline": func() error { _, err := c.CreateBuild(ctx, "t", "a\nb", miosa.CreateBuild{}); return err },
		"bad spec": func() error {
			_, err := c.CreateTemplate(ctx, "k", miosa.CreateTemplate{Name: "x", BuildSpec: map[string]any{"f": func() {}}})
			return err
		},
	} {
		if call() == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if n := srv.count(); n != 0 {
		t.Errorf("server got %d requests, want 0", n)
	}
}
