package miosa_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
)

// The emulator answers a delete as the real server does: 409
// TEMPLATE_IN_USE while a build runs, 204 once none does, then 404; the
// client tells each apart.
func TestDeleteAgainstTheEmulator(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	emu, c, _ := startEmulator(t, func(o *emulator.Options) { o.BuildDuration = time.Minute; o.Clock = clock }, nil)
	ctx := context.Background()
	tpl, err := c.CreateTemplate(ctx, "", miosa.CreateTemplate{Name: "web-pr7-abcdef", BuildSpec: validSpec})
	if err != nil {
		t.Fatal(err)
	}
	err = c.DeleteTemplate(ctx, tpl.ID)
	if !miosa.IsTemplateInUse(err) || miosa.IsPayloadMismatch(err) || !strings.Contains(err.Error(), "1 build") {
		t.Fatalf("delete during a build: %v, want 409 TEMPLATE_IN_USE naming 1 build", err)
	}
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	if err := c.DeleteTemplate(ctx, tpl.ID); err != nil {
		t.Fatalf("delete after the build: %v", err)
	}
	if _, err := c.GetTemplate(ctx, tpl.ID); !miosa.IsTemplateGone(err) {
		t.Errorf("get after the delete: %v, want 404", err)
	}
	if err := c.DeleteTemplate(ctx, tpl.ID); !miosa.IsTemplateGone(err) || miosa.IsTemplateInUse(err) {
		t.Errorf("second delete: %v, want 404", err)
	}
	if n := emu.Counters().TemplatesDeleted; n != 1 {
		t.Errorf("%d templates deleted, want 1", n)
	}
	if err := c.DeleteTemplate(ctx, "nextjs"); err == nil || miosa.IsTemplateInUse(err) {
		t.Errorf("delete of a built-in: %v, want a refusal that is not in-use", err)
	}
}

func TestIsTemplateInUse(t *testing.T) {
	t.Parallel()
	cases := []struct {
		status int
		body   string
		want   bool
	}{
		{409, `{"error":{"code":"TEMPLATE_IN_USE","message":"template is in use: 2 sandboxes and 0 builds depend on it"}}`, true},
		{409, `{"error":"template is in use by 2 sandboxes"}`, true},
		{409, `{"error":{"code":"IDEMPOTENCY_PAYLOAD_MISMATCH","message":"key in use with another body"}}`, false},
		{422, `{"error":{"code":"TEMPLATE_IN_USE","message":"in use"}}`, false},
		{404, `{"error":{"code":"TEMPLATE_NOT_FOUND","message":"not found"}}`, false},
	}
	for _, tc := range cases {
		srv := newServer(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(tc.status)
			_, _ = w.Write([]byte(tc.body))
		})
		c, _, _ := newClient(t, srv, nil)
		if got := miosa.IsTemplateInUse(c.DeleteTemplate(context.Background(), "t1")); got != tc.want {
			t.Errorf("%d %s: IsTemplateInUse = %v, want %v", tc.status, tc.body, got, tc.want)
		}
	}
}
