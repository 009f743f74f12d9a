package miosa_test

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	goldenfile "github.com/miosa-dev/sandbox-templates-action/internal/golden"
	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
)

// An https:// api-url pointed at a port that speaks plain HTTP (a local
// emulator's) fails with a hint that the scheme is wrong and the URL to
// use, instead of Go's TLS error alone; over real connections, with what
// the server answers: an HTTP response, or bytes that are not TLS.
func TestHintHTTPSToPlainHTTP(t *testing.T) {
	t.Parallel()
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	t.Cleanup(plain.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() { // answers every connection with bytes that are neither TLS nor HTTP
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = c.Write([]byte("SSH-2.0-OpenSSH_9.6\r\n"))
				// Read until the client hangs up, so closing never resets
				// the connection before the client has read the answer.
				_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
				_, _ = io.Copy(io.Discard, c)
			}()
		}
	}()
	plainAddr := strings.TrimPrefix(plain.URL, "http://")
	// A host that is not loopback, reached at the plain server's address.
	toPlain := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, plainAddr)
	}}}
	cases := []struct {
		name, base string
		client     *http.Client
	}{
		{"loopback, HTTP answer", "https://" + plainAddr + "/api/v1", nil},
		{"loopback, not TLS", "https://" + ln.Addr().String() + "/api/v1", nil},
		{"another host", "https://templates.internal.example:8443/api/v1", toPlain},
	}
	port := regexp.MustCompile(`127\.0\.0\.1:\d+`)
	var got strings.Builder
	for _, c := range cases {
		cl, err := miosa.New(miosa.Options{BaseURL: c.base, APIKey: testKey, UserAgent: testUA, MaxAttempts: 1, HTTPClient: c.client})
		if err != nil {
			t.Fatal(err)
		}
		_, err = cl.GetTemplate(context.Background(), "web")
		if err == nil {
			t.Fatalf("%s: no error", c.name)
		}
		if !strings.Contains(err.Error(), "the api-url's scheme is probably wrong") {
			t.Errorf("%s: no hint in %q", c.name, err)
		}
		got.WriteString(c.name + ":\n" + port.ReplaceAllString(err.Error(), "127.0.0.1:PORT") + "\n\n")
	}
	goldenfile.Testdata.Check(t, "hint-https-to-http.golden", got.String())

	// An https server is not told its scheme is wrong.
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake the client refuses
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	cl, err := miosa.New(miosa.Options{BaseURL: tlsSrv.URL + "/api/v1", APIKey: testKey, UserAgent: testUA, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.GetTemplate(context.Background(), "web"); err == nil || strings.Contains(err.Error(), "scheme") {
		t.Errorf("an untrusted certificate: %v, want an error without the scheme hint", err)
	}
}

// Spaces around the api-url are trimmed, as the runner trims every input;
// a space inside it is refused before any request, with where it is.
func TestBaseURLSpaces(t *testing.T) {
	t.Parallel()
	s := newServer(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data":{"id":"t1","name":"web","slug":"web","status":"ready"}}`))
	})
	for _, base := range []string{s.URL + "/api/v1 ", " " + s.URL + "/api/v1", "\t" + s.URL + "/api/v1/\n"} {
		cl, err := miosa.New(miosa.Options{BaseURL: base, APIKey: testKey, UserAgent: testUA})
		if err != nil {
			t.Fatalf("New(%q): %v", base, err)
		}
		if _, err := cl.GetTemplate(context.Background(), "web"); err != nil {
			t.Errorf("%q: %v", base, err)
		}
	}
	for _, r := range s.requests() {
		if r.Path != "/api/v1/sandbox-templates/web" {
			t.Errorf("request path %q", r.Path)
		}
	}
	tests := map[string]string{
		"http://127.0.0.1:8787 /api/v1": `miosa: base url "http://127.0.0.1:8787 /api/v1" holds a space at character 22; remove it from the api-url input (--api-url or MIOSA_API_URL for the CLI)`,
		"http://127.0.0.1:8787/api /v1": `miosa: base url "http://127.0.0.1:8787/api%20/v1" holds a space at character 26; remove it from the api-url input (--api-url or MIOSA_API_URL for the CLI)`,
	}
	for base, want := range tests {
		_, err := miosa.New(miosa.Options{BaseURL: base, APIKey: testKey, UserAgent: testUA})
		if err == nil || err.Error() != want {
			t.Errorf("New(%q):\n got %v\nwant %s", base, err, want)
		}
	}
}
