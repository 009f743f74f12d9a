package emulator_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
)

// FuzzRequests sends arbitrary paths and bodies: the emulator must answer
// every API request with a status and an X-Request-ID, and never panic
// (steering endpoints included).
func FuzzRequests(f *testing.F) {
	f.Add("POST", "/api/v1/sandbox-templates", `{"name":"a","build_spec":{"from":"x"}}`)
	f.Add("POST", "/api/v1/sandbox-templates/validate", `{"build_spec":{"steps":[{"run":1}]}}`)
	f.Add("POST", "/api/v1/sandbox-templates/a/builds", `{"build_spec":null,"metadata":[]}`)
	f.Add("GET", "/api/v1/sandbox-templates/%0A%3A%3A/builds", ``)
	f.Add("DELETE", "/api/v1/sandbox-templates/a", `{`)
	f.Add("POST", "/__emulator/templates", `{"name":"a","slug":"b","build_spec":{"from":"x"}}`)
	f.Add("POST", "/__emulator/templates/a/builds", `{"state":"failed","duration":-1}`)
	f.Add("DELETE", "/__emulator/templates/%2F", ``)
	emu := emulator.New(emulator.NewOptions())
	f.Fuzz(func(t *testing.T, method, path, body string) {
		switch method {
		case "GET", "POST", "DELETE", "PUT":
		default:
			method = "POST"
		}
		if !strings.HasPrefix(path, "/") {
			path = "/api/v1/" + path
		}
		r, err := http.NewRequest(method, "http://emulator"+path, strings.NewReader(body))
		if err != nil {
			t.Skip()
		}
		r.Header.Set("Authorization", "Bearer "+testKey)
		w := httptest.NewRecorder()
		emu.ServeHTTP(w, r)
		if strings.HasPrefix(r.URL.Path, "/__emulator/") {
			return
		}
		if w.Code < 200 || w.Code > 599 || w.Header().Get("X-Request-ID") == "" {
			t.Errorf("%s %s: status %d, request id %q", method, path, w.Code, w.Header().Get("X-Request-ID"))
		}
	})
}
