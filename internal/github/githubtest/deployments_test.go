package githubtest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/miosa-dev/sandbox-templates-action/internal/github/githubtest"
)

// Deployments as GitHub answers them: newest first, filtered and
// paginated; a create names a ref the repository has; statuses newest
// first, a success making the environment's earlier successes inactive.
func TestDeploymentEndpoints(t *testing.T) {
	t.Parallel()
	f := githubtest.New(githubtest.Options{Repository: "o/r"})
	t.Cleanup(f.Close)
	a := f.Push("main", map[string]string{"a": "1"})
	b := f.Push("main", map[string]string{"a": "2"})
	base := f.URL() + "/repos/o/r/deployments"
	first := f.AddDeployment(a, "env", "success", json.RawMessage(`{"tool":"t"}`))
	for i := range 3 {
		status, body, _ := do(t, "POST", base, fmt.Sprintf(`{"ref":"main","environment":"env","auto_merge":false,"required_contexts":[],"description":"%d"}`, i))
		if status != http.StatusCreated {
			t.Fatalf("create: %d %s", status, body)
		}
		if d := decode[map[string]any](t, body); d["sha"] != b || d["ref"] != "main" || d["production_environment"] != false {
			t.Errorf("created %v", d)
		}
	}
	status, body, _ := do(t, "GET", base+"?environment=env&per_page=2&page=2", "")
	list := decode[[]map[string]any](t, body)
	if status != http.StatusOK || len(list) != 2 || list[0]["description"] != "0" || int64(list[1]["id"].(float64)) != first {
		t.Errorf("page 2 of 2: %d %s", status, body)
	}
	if _, body, _ := do(t, "GET", base+"?sha="+a, ""); len(decode[[]map[string]any](t, body)) != 1 {
		t.Errorf("by sha: %s", body)
	}
	if _, body, _ := do(t, "GET", base+"?environment=other", ""); body != "[]\n" {
		t.Errorf("another environment: %s", body)
	}
	latest := f.Deployments()[3].ID
	for _, state := range []string{"in_progress", "success"} {
		if status, body, _ := do(t, "POST", fmt.Sprintf("%s/%d/statuses", base, latest), `{"state":"`+state+`","log_url":"https://x/1"}`); status != http.StatusCreated {
			t.Fatalf("status %s: %d %s", state, status, body)
		}
	}
	_, body, _ = do(t, "GET", fmt.Sprintf("%s/%d/statuses?per_page=1", base, latest), "")
	if st := decode[[]map[string]any](t, body); len(st) != 1 || st[0]["state"] != "success" || st[0]["log_url"] != "https://x/1" {
		t.Errorf("latest status: %s", body)
	}
	if got := f.Deployments()[0].State(); got != "inactive" {
		t.Errorf("the earlier success is %q, want inactive", got)
	}
	for _, tt := range []struct {
		method, path, body string
		status             int
	}{
		{"POST", base, `{"ref":"nope","environment":"env"}`, http.StatusUnprocessableEntity},
		{"POST", base, `{"environment":"env"}`, http.StatusUnprocessableEntity},
		{"POST", fmt.Sprintf("%s/%d/statuses", base, latest), `{"state":"done"}`, http.StatusUnprocessableEntity},
		{"POST", base + "/999999/statuses", `{"state":"success"}`, http.StatusNotFound},
		{"GET", base + "/999999/statuses", "", http.StatusNotFound},
	} {
		if status, body, _ := do(t, tt.method, tt.path, tt.body); status != tt.status {
			t.Errorf("%s %s %s: %d %s, want %d", tt.method, tt.path, tt.body, status, body, tt.status)
		}
	}
	f.SetReadOnly(true)
	if status, _, _ := do(t, "POST", base, `{"ref":"main","environment":"env"}`); status != http.StatusForbidden {
		t.Errorf("read-only create: %d, want 403", status)
	}
	if n := f.Count(githubtest.OpCreateDeployment); n != 6 {
		t.Errorf("%d creates counted, want 6", n)
	}
}
