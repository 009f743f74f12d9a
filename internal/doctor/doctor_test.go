package doctor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/doctor"
	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
	"github.com/miosa-dev/sandbox-templates-action/internal/golden"
)

// testKey shares no 8-character run with anything the emulator sends.
const testKey = "msk_doc_Zq8Wm3Kp5Jr2Tx7N"

// emulatorHandler is the emulator with the real server's defaults.
func emulatorHandler(configure func(*emulator.Options)) http.Handler {
	opts := emulator.NewOptions()
	if configure != nil {
		configure(&opts)
	}
	return emulator.New(opts)
}

// serve serves h over HTTP for the test and returns its root URL.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// run runs doctor and checks that neither rendering holds the key or any
// 8-character run of it.
func run(t *testing.T, apiURL, key string, hc *http.Client) *doctor.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := doctor.Run(ctx, doctor.Config{APIURL: apiURL, APIKey: key, UserAgent: "doctor-test", HTTPClient: hc})
	for _, out := range []string{r.Text(), string(r.JSON())} {
		if leak := leaked(out, key); leak != "" {
			t.Fatalf("the output holds %q of the key:\n%s", leak, out)
		}
	}
	return r
}

// leaked returns a run of at least 8 characters of key found in s, or "".
func leaked(s, key string) string {
	for i := 0; i+8 <= len(key); i++ {
		if strings.Contains(s, key[i:i+8]) {
			return key[i : i+8]
		}
	}
	return ""
}

var (
	portRE = regexp.MustCompile(`127\.0\.0\.1:\d+`)
	skewRE = regexp.MustCompile(`"skew_seconds": -?[0-9.e+-]+`)
	rateRE = regexp.MustCompile(`(Remaining|Reset)( |": ")\d+`)
)

// stable replaces what depends on the port, the clock and timing.
func stable(s string) string {
	s = portRE.ReplaceAllString(s, "127.0.0.1:PORT")
	s = skewRE.ReplaceAllString(s, `"skew_seconds": 0`)
	return rateRE.ReplaceAllString(s, "${1}${2}N")
}

// goldenDir holds each golden case's report as <case>.txt and <case>.json.
var goldenDir = golden.Dir(filepath.Join("..", "..", "testdata", "doctor"))

// statuses renders each check's status, for short assertions.
func statuses(r *doctor.Report) map[string]doctor.Status {
	out := map[string]doctor.Status{}
	for _, c := range r.Checks {
		out[c.Name] = c.Status
	}
	return out
}

func check(r *doctor.Report, name string) doctor.Check {
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	return doctor.Check{}
}

// writeError answers in the emulator's structured error form.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"code":%q,"message":%q}}`, code, msg)
}

// onlyKey refuses every key but good with 401, as the real server does.
func onlyKey(good string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+good {
			w.Header().Set("X-Request-ID", "req_refused")
			writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "invalid API key")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// The settings the issue names, each with golden text and JSON.
func TestGolden(t *testing.T) {
	t.Parallel()
	tls := httptest.NewUnstartedServer(emulatorHandler(nil))
	tls.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	tls.StartTLS()
	t.Cleanup(tls.Close)
	html := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!DOCTYPE html>\n<html><head><title>Miosa</title></head><body>Sandboxes for agents</body></html>\n")
	})
	tests := []struct {
		name string
		url  string // API base URL
		key  string
		ok   bool
	}{
		{"healthy", serve(t, emulatorHandler(nil)) + "/api/v1", testKey, true},
		{"no-validate", serve(t, emulatorHandler(func(o *emulator.Options) { o.NoValidate = true })) + "/api/v1", testKey, true},
		{"no-schema", serve(t, emulatorHandler(func(o *emulator.Options) { o.NoSchema = true })) + "/api/v1", testKey, true},
		{"wrong-path", serve(t, emulatorHandler(nil)), testKey, false},
		{"bad-key", serve(t, onlyKey("msk_another_key_entirely", emulatorHandler(nil))) + "/api/v1", testKey, false},
		{"tls-failure", tls.URL + "/api/v1", testKey, false},
		{"html", serve(t, html), testKey, false},
		{"rate-limit-headers", serve(t, emulatorHandler(func(o *emulator.Options) { o.RateLimit, o.RateLimitHeaders = 1000, true })) + "/api/v1", testKey, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := run(t, tt.url, tt.key, nil)
			if r.OK != tt.ok {
				t.Errorf("OK = %v, want %v:\n%s", r.OK, tt.ok, r.Text())
			}
			goldenDir.Check(t, tt.name+".txt", stable(r.Text()))
			goldenDir.Check(t, tt.name+".json", stable(string(r.JSON())))
		})
	}
}

func TestSettings(t *testing.T) {
	t.Parallel()
	api := func(h http.Handler) string { return serve(t, h) + "/api/v1" }
	refused := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		return "http://" + addr + "/api/v1"
	}()
	skewed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", time.Now().Add(10*time.Minute).UTC().Format(http.TimeFormat))
		emulatorHandler(nil).ServeHTTP(w, r)
	})
	wideSchema := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/sandbox-templates/build-spec" {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"$schema":"http://json-schema.org/draft-07/schema#","version":"2","type":"object","required":["from"],`+
				`"properties":{"from":{"type":"string"},"gpu":{"type":"boolean"},"steps":{"type":"array"}}}`)
			return
		}
		emulatorHandler(nil).ServeHTTP(w, r)
	})
	paginated := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "GET" && r.URL.Path == "/api/v1/sandbox-templates" {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"data":[{"id":"base","name":"Base","built_in":true}],"meta":{"next_cursor":"abc"}}`)
			return
		}
		emulatorHandler(nil).ServeHTTP(w, r)
	})
	noRequestID := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		emulatorHandler(nil).ServeHTTP(noIDWriter{w}, r)
	})
	status := func(code int, body string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			if code/100 == 3 {
				w.Header().Set("Location", "https://api.example.com/api/v2?token=abc")
			}
			w.WriteHeader(code)
			fmt.Fprint(w, body)
		})
	}
	tests := []struct {
		name    string
		url     string
		key     string
		ok      bool
		want    map[string]doctor.Status // statuses of these checks
		message map[string]string        // substrings of these checks' message + hint
	}{
		{name: "list {data}", url: api(emulatorHandler(func(o *emulator.Options) { o.Variant.List = "data" })), ok: true,
			message: map[string]string{"list": "{data} of "}},
		{name: "list {default_template_id, data}", url: api(emulatorHandler(func(o *emulator.Options) { o.Variant.List = "default" })), ok: true,
			message: map[string]string{"list": "{default_template_id, data} of "}},
		{name: "schema in {data}", url: api(emulatorHandler(func(o *emulator.Options) { o.Variant.Schema = "data" })), ok: true,
			want: map[string]doctor.Status{"schema": doctor.OK}},
		{name: "validate answers 422 for invalid specs", url: api(emulatorHandler(func(o *emulator.Options) { o.Variant.Validate = "422" })), ok: true,
			want: map[string]doctor.Status{"validate": doctor.OK}},
		{name: "connection refused", url: refused,
			want:    map[string]doctor.Status{"url": doctor.Fail, "key": doctor.Skip, "clock": doctor.Skip},
			message: map[string]string{"url": "connection refused by 127.0.0.1:", "key": "not checked: the URL does not answer"}},
		{name: "dns", url: "https://doctor-test.invalid/api/v1",
			want: map[string]doctor.Status{"url": doctor.Fail}, message: map[string]string{"url": "cannot resolve the host doctor-test.invalid"}},
		{name: "https to a plain http server", url: strings.Replace(api(emulatorHandler(nil)), "http:", "https:", 1),
			want: map[string]doctor.Status{"url": doctor.Fail}, message: map[string]string{"url": "use http:// for it"}},
		{name: "no key", url: api(emulatorHandler(nil)), key: " ",
			want:    map[string]doctor.Status{"url": doctor.Skip, "key": doctor.Fail},
			message: map[string]string{"key": "MIOSA_API_KEY is not set"}},
		{name: "key without msk_", url: api(emulatorHandler(nil)), key: "sk_live_Zq8Wm3Kp5Jr2Tx7N",
			want: map[string]doctor.Status{"key": doctor.Fail}, message: map[string]string{"key": `does not start with "msk_"`}},
		{name: "not a URL", url: "ftp://example.com/api/v1",
			want: map[string]doctor.Status{"url": doctor.Fail, "key": doctor.Skip}, message: map[string]string{"url": "not a usable API URL"}},
		{name: "403", url: api(status(403, `{"error":{"code":"FORBIDDEN","message":"key lacks the templates scope"}}`)),
			want:    map[string]doctor.Status{"url": doctor.OK, "key": doctor.Fail, "list": doctor.Skip},
			message: map[string]string{"key": "403 forbidden: the key may not list sandbox templates (the server says FORBIDDEN: key lacks the templates scope)"}},
		{name: "503", url: api(status(503, `{"error":{"code":"SERVICE_UNAVAILABLE","message":"maintenance"}}`)),
			want:    map[string]doctor.Status{"url": doctor.OK, "key": doctor.Skip, "list": doctor.Fail},
			message: map[string]string{"list": "try again later"}},
		{name: "redirect", url: api(status(301, "")),
			want:    map[string]doctor.Status{"url": doctor.Fail},
			message: map[string]string{"url": "redirects (HTTP 301) to https://api.example.com/api/v2: the action follows no redirect"}},
		{name: "not JSON", url: api(status(200, "hello")),
			want: map[string]doctor.Status{"url": doctor.Fail}, message: map[string]string{"url": "but not with JSON"}},
		{name: "list of the wrong shape", url: api(status(200, `{"items":[]}`)),
			want: map[string]doctor.Status{"url": doctor.OK, "key": doctor.OK, "list": doctor.Fail}},
		{name: "clock skew", url: api(skewed), ok: true,
			want:    map[string]doctor.Status{"clock": doctor.Warn},
			message: map[string]string{"clock": "about 10 minutes ahead of this machine's"}},
		{name: "schema fields differ", url: api(wideSchema), ok: true,
			want: map[string]doctor.Status{"schema": doctor.Warn},
			message: map[string]string{"schema": "present: draft-07, version 2, 3 top-level fields (from, gpu, steps); only the server knows gpu; " +
				"only the embedded schema knows artifactPaths, diskMib, env, memoryMib, packages, previewPort, readyCmd, runtime, size, startCmd, user, vcpu, version, workdir"}},
		{name: "paginated list", url: api(paginated), ok: true,
			want: map[string]doctor.Status{"list": doctor.Warn}, message: map[string]string{"list": "also holds meta; if the list is paginated"}},
		{name: "no request ids", url: api(noRequestID), ok: true,
			want: map[string]doctor.Status{"request-id": doctor.Warn}, message: map[string]string{"request-id": "no answer carries X-Request-ID (0 of 3)"}},
		{name: "rate limited", url: api(emulatorHandler(func(o *emulator.Options) { o.RateLimit, o.RateBurst = 1, 1 })), ok: true,
			want: map[string]doctor.Status{"rate-limit": doctor.Warn, "schema": doctor.OK, "validate": doctor.OK}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			key := tt.key
			if key == "" {
				key = testKey
			}
			r := run(t, tt.url, key, nil)
			if r.OK != tt.ok {
				t.Errorf("OK = %v, want %v", r.OK, tt.ok)
			}
			got := statuses(r)
			for name, st := range tt.want {
				if got[name] != st {
					t.Errorf("%s: %s, want %s", name, got[name], st)
				}
			}
			for name, sub := range tt.message {
				c := check(r, name)
				if text := c.Message + "; " + c.Hint; !strings.Contains(text, sub) {
					t.Errorf("%s: %q does not contain %q", name, text, sub)
				}
			}
			if t.Failed() {
				t.Logf("report:\n%s", r.Text())
			}
		})
	}
}

// Plain http is fine on loopback only: to any other host the url check
// fails before a request is sent, unless allowed, and then warns.
func TestPlainHTTPToAPublicHost(t *testing.T) {
	t.Parallel()
	var requests atomic.Int32
	addr := strings.TrimPrefix(serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		emulatorHandler(nil).ServeHTTP(w, r)
	})), "http://")
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}}
	for _, u := range []string{"http://api.example.com/api/v1", "http://10.0.0.5/api/v1", "http://192.168.1.10:8787/api/v1"} {
		r := run(t, u, testKey, hc)
		if c := check(r, "url"); c.Status != doctor.Fail || !strings.Contains(c.Message, "plain http to a host that is not loopback") ||
			!strings.Contains(c.Hint, "allow-insecure-http") || r.OK {
			t.Errorf("%s: url check %+v, OK %v", u, c, r.OK)
		}
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("%d requests sent over plain http to a host that is not loopback", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := doctor.Run(ctx, doctor.Config{APIURL: "http://api.example.com/api/v1", APIKey: testKey, HTTPClient: hc, AllowInsecureHTTP: true})
	if c := check(r, "url"); c.Status != doctor.Warn || !strings.Contains(c.Hint, "unencrypted") || !r.OK {
		t.Errorf("allowed: url check %+v, OK %v", c, r.OK)
	}
}

// A rejected URL's user information and query are never shown.
func TestURLCredentialsNeverShown(t *testing.T) {
	t.Parallel()
	api := serve(t, emulatorHandler(nil))
	for _, u := range []string{
		"http://msk_userpart_secret:x@api.example.com/api/v1",
		"https://msk_userpart_secret:x@api.example.com/api/v1?token=ghp_0123456789abcdefghij",
		"https://api.example.com/api/v1?token=ghp_0123456789abcdefghij",
		"https://msk_userpart_secret:x@api.example.com/%zz?token=ghp_0123456789abcdefghij",
		strings.Replace(api, "http://", "http://msk_userpart_secret:x@", 1) + "/api/v1?token=ghp_0123456789abcdefghij",
	} {
		r := run(t, u, testKey, nil)
		for _, out := range []string{r.Text(), string(r.JSON())} {
			if strings.Contains(out, "userpart") || strings.Contains(out, "ghp_") {
				t.Errorf("%s: the report shows the URL's user information or query:\n%s", u, out)
			}
		}
		if c := check(r, "url"); c.Status != doctor.Fail || r.OK {
			t.Errorf("%s: url check %+v", u, c)
		}
	}
}

// noIDWriter drops the X-Request-ID header.
type noIDWriter struct{ http.ResponseWriter }

func (w noIDWriter) WriteHeader(code int) {
	w.ResponseWriter.Header().Del("X-Request-ID")
	w.ResponseWriter.WriteHeader(code)
}

func (w noIDWriter) Write(p []byte) (int, error) {
	w.ResponseWriter.Header().Del("X-Request-ID")
	return w.ResponseWriter.Write(p)
}

// A server that echoes the key, in bodies and headers, never gets it
// printed.
func TestCanaryKeyIsNeverPrinted(t *testing.T) {
	t.Parallel()
	const canary = "msk_canary_Hv4Qs9Lx2Bn7Wd3"
	echo := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			auth := r.Header.Get("Authorization")
			w.Header().Set("X-Request-ID", auth)
			w.Header().Set("X-RateLimit-Limit", auth)
			next.ServeHTTP(w, r)
		})
	}
	echoAuth := func(endpoint string) http.Handler {
		return emulatorHandler(func(o *emulator.Options) {
			o.Faults.Rules = []emulator.Rule{{Endpoint: endpoint, Kind: emulator.FaultEchoAuth, Status: 401}}
		})
	}
	for name, h := range map[string]http.Handler{
		"echoing headers":         echo(emulatorHandler(nil)),
		"list echoes the key":     echoAuth("list"),
		"schema echoes the key":   echoAuth("schema"),
		"validate echoes the key": echoAuth("validate"),
		"wrong path":              echo(http.NotFoundHandler()),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := run(t, serve(t, h)+"/api/v1", canary, nil) // run fails the test on a leak
			raw, _ := json.Marshal(r)
			if leak := leaked(string(raw), canary); leak != "" {
				t.Errorf("JSON holds %q", leak)
			}
		})
	}
}

// A server that accepts the connection but never answers is a timeout.
func TestTimeout(t *testing.T) {
	t.Parallel()
	stop := make(chan struct{})
	hang := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-stop:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(stop) })
	r := run(t, hang+"/api/v1", testKey, &http.Client{Timeout: 100 * time.Millisecond})
	if c := check(r, "url"); c.Status != doctor.Fail || !strings.Contains(c.Message, "no answer from 127.0.0.1:") || c.Details["failure"] != "timeout" {
		t.Errorf("url check %+v", c)
	}
}
