package miosa_test

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
)

func TestProbe(t *testing.T) {
	t.Parallel()
	srv := newServer(t, script(
		reply{status: 200, header: map[string]string{"X-Request-ID": "req_1", "X-Echo": "Bearer " + testKey}, body: `{"data":[{"id":"t1","name":"a","note":"` + testKey + `"}]}`},
		reply{status: 503, header: map[string]string{"X-Request-ID": "req_2"}, body: `{"error":{"code":"SERVICE_UNAVAILABLE","message":"down"}}`},
	))
	c, _, _ := newClient(t, srv, nil)
	pr, err := c.Probe(context.Background(), http.MethodGet, "/sandbox-templates", nil)
	if err != nil {
		t.Fatal(err)
	}
	if pr.Status != 200 || pr.RequestID != "req_1" || strings.Contains(string(pr.Body), testKey) || strings.Contains(pr.Header.Get("X-Echo"), testKey) {
		t.Errorf("probe %+v, body %s: want 200, req_1 and the key redacted", pr, pr.Body)
	}
	if rows, err := pr.Rows(); err != nil || len(rows) != 1 || rows[0].ID != "t1" {
		t.Errorf("rows %+v, %v", rows, err)
	}
	req := srv.requests()[0]
	if req.Header.Get("Authorization") != "Bearer "+testKey || req.Header.Get("User-Agent") != testUA {
		t.Errorf("request headers %v", req.Header)
	}

	// An error status is an answer and an *Error, sent once.
	pr, err = c.Probe(context.Background(), http.MethodGet, "/sandbox-templates/build-spec", nil)
	var e *miosa.Error
	if pr == nil || pr.Status != 503 || !errors.As(err, &e) || e.Code != "SERVICE_UNAVAILABLE" || e.RequestID != "req_2" {
		t.Errorf("probe %+v, err %v", pr, err)
	}
	if n := srv.count(); n != 2 {
		t.Errorf("%d requests, want 2 (no retries)", n)
	}
	if kind, _ := c.ConnFailure(err); kind != "" {
		t.Errorf("ConnFailure of an answer = %q", kind)
	}
}

func TestConnFailure(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	tlsSrv := httptest.NewUnstartedServer(http.NotFoundHandler())
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	plain := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(plain.Close)
	for _, tt := range []struct{ url, kind, detail string }{
		{closed, miosa.FailureRefused, "connection refused"},
		{"https://sandbox-templates-test.invalid", miosa.FailureDNS, "sandbox-templates-test.invalid"},
		{tlsSrv.URL, miosa.FailureTLS, "x509: certificate signed by unknown authority"},
		{strings.Replace(plain.URL, "http:", "https:", 1), miosa.FailureTLS, "HTTP response to HTTPS client"},
	} {
		c, err := miosa.New(miosa.Options{BaseURL: tt.url, APIKey: testKey})
		if err != nil {
			t.Fatal(err)
		}
		pr, err := c.Probe(context.Background(), http.MethodGet, "/x", nil)
		kind, detail := c.ConnFailure(err)
		if pr != nil || kind != tt.kind || !strings.Contains(detail, tt.detail) || strings.Contains(detail, "GET") {
			t.Errorf("%s: probe %v, ConnFailure %q %q; want %q holding %q without the request", tt.url, pr, kind, detail, tt.kind, tt.detail)
		}
	}
}

func TestDeleteTemplate(t *testing.T) {
	t.Parallel()
	srv := newServer(t, script(
		reply{status: 204},
		reply{status: 409, body: `{"error":{"code":"TEMPLATE_IN_USE","message":"2 sandboxes use it"}}`},
	))
	c, _, _ := newClient(t, srv, nil)
	if err := c.DeleteTemplate(context.Background(), "a/b"); err != nil {
		t.Fatal(err)
	}
	err := c.DeleteTemplate(context.Background(), "t1")
	if !miosa.IsConflict(err) || !strings.Contains(err.Error(), "TEMPLATE_IN_USE") {
		t.Errorf("second delete: %v, want a 409 TEMPLATE_IN_USE", err)
	}
	reqs := srv.requests()
	if len(reqs) != 2 || reqs[0].Method != http.MethodDelete || reqs[0].Path != "/api/v1/sandbox-templates/a%2Fb" || reqs[0].Header.Get("Idempotency-Key") != "" {
		t.Errorf("requests %+v", reqs)
	}
	if err := c.DeleteTemplate(context.Background(), ".."); err == nil {
		t.Error("delete of \"..\" was sent")
	}
}

// TestProbePaging: Paging names how an answer announces the next page, as
// the list methods follow it, and the members that said so.
func TestProbePaging(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body, link string
		form       string
		total      int64
		keys       string
	}{
		{`[{"id":"a"}]`, "", "", -1, ""},
		{`{"data":[],"page":{"page":1,"page_size":20,"total":45}}`, "", "page", 45, "page"},
		{`{"data":[],"meta":{"current_page":1,"total_pages":3}}`, "", "page", -1, "meta"},
		{`{"data":[],"next":"/api/v1/sandbox-templates?page=2","total":9}`, "", "next", 9, "next total"},
		{`{"data":[],"next":null}`, "", "", -1, "next"},
		{`{"data":[],"meta":{"next_cursor":"abc"}}`, "", "", -1, ""},
		{`[]`, `</x?page=2>; rel="next"`, "link", -1, ""},
	}
	for _, tt := range tests {
		pr := &miosa.ProbeResponse{Status: 200, Header: http.Header{}, Body: []byte(tt.body)}
		if tt.link != "" {
			pr.Header.Set("Link", tt.link)
		}
		form, total, keys := pr.Paging()
		if form != tt.form || total != tt.total || strings.Join(keys, " ") != tt.keys {
			t.Errorf("%s %s: %q, %d, %q; want %q, %d, %q", tt.body, tt.link, form, total, keys, tt.form, tt.total, tt.keys)
		}
	}
}
