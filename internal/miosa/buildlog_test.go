package miosa_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
)

// logText is a log of n numbered lines of 10 bytes each ("line 0001\n").
func logText(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, "line %04d\n", i)
	}
	return b.Bytes()
}

// serveLog answers every request with log through http.ServeContent, which
// honours Range as a real file server does.
func serveLog(log []byte) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, r *http.Request, _ int) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(log))
	}
}

// ignoreRange answers 200 with the whole log, as a server that ignores
// Range does; chunked leaves out Content-Length.
func ignoreRange(log []byte, chunked bool) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, _ *http.Request, _ int) {
		if !chunked {
			w.Header().Set("Content-Length", strconv.Itoa(len(log)))
		}
		for rest := log; len(rest) > 0; {
			n := min(len(rest), 64<<10)
			_, _ = w.Write(rest[:n])
			if chunked {
				w.(http.Flusher).Flush()
			}
			rest = rest[n:]
		}
	}
}

func TestBuildLogTail(t *testing.T) {
	t.Parallel()
	long := logText(10000) // 100000 bytes
	tests := []struct {
		name      string
		handle    func(http.ResponseWriter, *http.Request, int)
		limit     int
		wantRange string
		want      []byte
		partial   bool
	}{
		{"206 of a short log is the whole log", serveLog(logText(3)), 0, "bytes=-65537", logText(3), false},
		{"206 cut inside a line", serveLog(long), 0, "bytes=-65537", long[len(long)-65536:], true},
		{"206 cut at a line start", serveLog(long), 1000, "bytes=-1001", long[len(long)-1000:], false},
		{"206 of exactly the limit", serveLog(logText(100)), 1000, "bytes=-1001", logText(100), false},
		{"200 of a short log", ignoreRange(logText(3), false), 0, "bytes=-65537", logText(3), false},
		{"200 keeps the end", ignoreRange(long, false), 1005, "bytes=-1006", long[len(long)-1005:], true},
		{"200 chunked keeps the end", ignoreRange(long, true), 1000, "bytes=-1001", long[len(long)-1000:], false},
		{"200 of 4 MiB keeps the end", ignoreRange(bytes.Repeat([]byte("0123456789abcde\n"), miosa.MaxLogRead/16), true), 8, "bytes=-9", []byte("89abcde\n"), true},
		{"206 longer than asked keeps the end", func(w http.ResponseWriter, _ *http.Request, _ int) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-%d/%d", len(long)-1, len(long)))
			w.WriteHeader(http.StatusPartialContent)
			_, _ = w.Write(long)
		}, 1000, "bytes=-1001", long[len(long)-1000:], false},
		{"206 that starts later than asked", func(w http.ResponseWriter, _ *http.Request, _ int) {
			w.Header().Set("Content-Range", "bytes 99995-99999/100000")
			w.WriteHeader(http.StatusPartialContent)
			_, _ = io.WriteString(w, "0042\n")
		}, 0, "bytes=-65537", []byte("0042\n"), true},
		{"416 is an empty log", script(reply{status: http.StatusRequestedRangeNotSatisfiable}), 0, "bytes=-65537", nil, false},
		{"a limit over 1 MiB is 1 MiB", serveLog(logText(3)), 10 << 20, "bytes=-1048577", logText(3), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, tt.handle)
			c, _, _ := newClient(t, srv, nil)
			got, err := c.BuildLogTail(context.Background(), srv.URL+"/logs/b1", tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(tt.want), string(got.Text)); diff != "" {
				t.Errorf("text (-want +got):\n%s", diff)
			}
			if got.Partial != tt.partial {
				t.Errorf("partial = %t, want %t", got.Partial, tt.partial)
			}
			reqs := srv.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			h := reqs[0].Header
			if h.Get("Range") != tt.wantRange || h.Get("User-Agent") != testUA || h.Get("Accept") != "text/plain, */*" {
				t.Errorf("headers %v: want Range %q, the client's User-Agent and Accept text/plain", h, tt.wantRange)
			}
		})
	}
}

// The key goes only to the API's own origin; a log anywhere else is fetched
// only over https from a public address, so from these hostile servers on
// 127.0.0.1 it is not fetched at all, and they get no request.
func TestBuildLogTailKeyOnlyToTheAPIHost(t *testing.T) {
	t.Parallel()
	api := newServer(t, serveLog(logText(3)))
	other := newServer(t, serveLog(logText(3)))
	otherTLS := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("a log on another origin was fetched from a loopback address: %s (Authorization %q)", r.URL, r.Header.Get("Authorization"))
	}))
	t.Cleanup(otherTLS.Close)
	// The client trusts otherTLS's certificate: only the address check stops it.
	c, _, _ := newClient(t, api, func(o *miosa.Options) { o.HTTPClient = otherTLS.Client() })
	apiHost := strings.TrimPrefix(api.URL, "http://")
	tlsPort := otherTLS.URL[strings.LastIndex(otherTLS.URL, ":")+1:]
	for _, tc := range []struct {
		url     string
		srv     *server // nil: nothing may be fetched
		wantErr string
	}{
		{api.URL + "/__emulator/logs/b1?sig=x", api, ""},
		{"/api/v1/sandbox-template-builds/b1/log", api, ""}, // relative: the base URL's origin
		{"HTTP://" + strings.ToUpper(apiHost) + "/logs/b1", api, ""},
		{other.URL + "/logs/b1?sig=s3cr3t", nil, "log at " + other.URL + "/logs/b1 (not fetched: plain http on another origin than the API's " + api.URL + "/api/v1)"},
		{strings.Replace(api.URL, "127.0.0.1", "localhost", 1) + "/logs/b1", nil, "(not fetched: plain http on another origin"},
		{otherTLS.URL + "/logs/b1", nil, "log at " + otherTLS.URL + "/logs/b1 (not fetched: its host resolves to 127.0.0.1, which is not a public address)"},
		// A name, checked after it resolves.
		{"https://localhost:" + tlsPort + "/logs/b1?X-Signature=s3cr3t", nil, "log at https://localhost:" + tlsPort + "/logs/b1 (not fetched: its host resolves to"},
		{"https://user:s3cr3t@[::1]:" + tlsPort + "/logs/b1", nil, "(not fetched: its host resolves to ::1, which is not a public address)"},
		{"https://0.0.0.0:" + tlsPort + "/logs/b1", nil, "(not fetched: its host resolves to 0.0.0.0, which is not a public address)"},
	} {
		before := api.count() + other.count()
		tail, err := c.BuildLogTail(context.Background(), tc.url, 0)
		if tc.srv == nil {
			var nf *miosa.LogNotFetchedError
			if tail != nil || !errors.As(err, &nf) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: tail %v, err %v; want a LogNotFetchedError %q", tc.url, tail, err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("%s: error %q shows the URL's query or user information", tc.url, err)
			}
			if n := api.count() + other.count() - before; n != 0 {
				t.Errorf("%s: %d requests for a log that is not fetched", tc.url, n)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.url, err)
		}
		reqs := tc.srv.requests()
		if got := reqs[len(reqs)-1].Header.Get("Authorization"); got != "Bearer "+testKey {
			t.Errorf("%s: Authorization %q, want the key", tc.url, got)
		}
	}
}

func TestBuildLogTailRefusesRedirects(t *testing.T) {
	t.Parallel()
	elsewhere := newServer(t, serveLog(logText(3)))
	api := newServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		http.Redirect(w, r, elsewhere.URL+"/logs/b1", http.StatusFound)
	})
	c, _, _ := newClient(t, api, nil)
	_, err := c.BuildLogTail(context.Background(), api.URL+"/logs/b1", 0)
	var e *miosa.Error
	if !errors.As(err, &e) || !errors.Is(err, miosa.ErrRedirect) || e.Status != http.StatusFound {
		t.Fatalf("err %v: want an *Error with ErrRedirect and status 302", err)
	}
	if host := strings.TrimPrefix(elsewhere.URL, "http://"); !strings.Contains(err.Error(), host) {
		t.Errorf("error %q does not name the redirect's host %s", err, host)
	}
	if n := elsewhere.count(); n != 0 {
		t.Errorf("the redirect was followed: %d requests elsewhere", n)
	}
}

func TestBuildLogTailRedactsTheKey(t *testing.T) {
	t.Parallel()
	log := "step 1/1: echo $MIOSA_API_KEY\n  " + testKey + "\n  fragment " + testKey[3:14] + " end\n"
	srv := newServer(t, serveLog([]byte(log)))
	c, _, _ := newClient(t, srv, nil)
	got, err := c.BuildLogTail(context.Background(), srv.URL+"/logs/b1", 0)
	if err != nil {
		t.Fatal(err)
	}
	want := "step 1/1: echo $MIOSA_API_KEY\n  [REDACTED]\n  fragment [REDACTED] end\n"
	if diff := cmp.Diff(want, string(got.Text)); diff != "" {
		t.Errorf("text (-want +got):\n%s", diff)
	}
}

func TestBuildLogTailErrors(t *testing.T) {
	t.Parallel()
	huge := bytes.Repeat([]byte("x"), miosa.MaxLogRead+1)
	tests := []struct {
		name   string
		handle func(http.ResponseWriter, *http.Request, int)
		url    string // "" for the server's /logs/b1?sig=s3cr3t
		check  func(t *testing.T, e *miosa.Error)
	}{
		{"404 from the API", script(reply{status: 404, header: map[string]string{"X-Request-ID": "req_9"},
			body: `{"error":{"code":"NOT_FOUND","message":"no log for ` + testKey + `"}}`}), "",
			func(t *testing.T, e *miosa.Error) {
				if e.Status != 404 || e.Code != "NOT_FOUND" || e.RequestID != "req_9" || !strings.Contains(e.Message, "[REDACTED]") {
					t.Errorf("error %+v", e)
				}
			}},
		{"403 from a store, not JSON", script(reply{status: 403, header: map[string]string{"Content-Type": "application/xml"},
			body: "<Error><Code>AccessDenied</Code></Error>"}), "",
			func(t *testing.T, e *miosa.Error) {
				if e.Status != 403 || e.Code != "" {
					t.Errorf("error %+v", e)
				}
			}},
		{"200 longer than MaxLogRead", ignoreRange(huge, true), "",
			func(t *testing.T, e *miosa.Error) {
				if !errors.Is(e, miosa.ErrLogTooLarge) {
					t.Errorf("error %v, want ErrLogTooLarge", e)
				}
			}},
		{"200 announcing more than MaxLogRead", func(w http.ResponseWriter, _ *http.Request, _ int) {
			w.Header().Set("Content-Length", strconv.Itoa(miosa.MaxLogRead+1))
			_, _ = io.WriteString(w, "too short for its length")
		}, "",
			func(t *testing.T, e *miosa.Error) {
				if !errors.Is(e, miosa.ErrLogTooLarge) {
					t.Errorf("error %v, want ErrLogTooLarge", e)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			handle := tt.handle
			if handle == nil {
				handle = serveLog(nil)
			}
			srv := newServer(t, handle)
			c, _, _ := newClient(t, srv, nil)
			u := tt.url
			if u == "" {
				u = srv.URL + "/logs/b1?sig=s3cr3t"
			}
			tail, err := c.BuildLogTail(context.Background(), u, 0)
			var e *miosa.Error
			if tail != nil || !errors.As(err, &e) {
				t.Fatalf("tail %v, err %v: want an *Error", tail, err)
			}
			if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), testKey) {
				t.Errorf("error %q shows the log URL's query or the key", err)
			}
			tt.check(t, e)
			if tt.handle == nil && srv.count() != 0 {
				t.Errorf("%d requests for a URL that is refused", srv.count())
			}
		})
	}
}

// A log_url that is no http(s) URL is not fetched.
func TestBuildLogTailSchemes(t *testing.T) {
	t.Parallel()
	srv := newServer(t, serveLog(logText(3)))
	c, _, _ := newClient(t, srv, nil)
	for raw, want := range map[string]string{
		"javascript:alert(1)":      `log at javascript:alert(1) (not fetched: scheme "javascript"; only https, or the API's own origin, is fetched)`,
		"file:///etc/passwd":       `log at file:///etc/passwd (not fetched: scheme "file"; only https, or the API's own origin, is fetched)`,
		"ftp://u:s3cr3t@h/x?sig=1": `log at ftp://h/x (not fetched: scheme "ftp"; only https, or the API's own origin, is fetched)`,
		" ":                        `log at  (not fetched: not a URL)`,
	} {
		_, err := c.BuildLogTail(context.Background(), raw, 0)
		var nf *miosa.LogNotFetchedError
		if !errors.As(err, &nf) || err.Error() != want {
			t.Errorf("%q: err %v, want %s", raw, err, want)
		}
	}
	if n := srv.count(); n != 0 {
		t.Errorf("%d requests", n)
	}
}

func TestBuildLogTailCancelled(t *testing.T) {
	t.Parallel()
	srv := newServer(t, serveLog(logText(3)))
	c, _, _ := newClient(t, srv, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.BuildLogTail(ctx, srv.URL+"/logs/b1", 0)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
}

// TestBuildLogTailEmulator fetches the log of a build that failed at its
// second step from the emulator's log_url.
func TestBuildLogTailEmulator(t *testing.T) {
	t.Parallel()
	_, c, _ := startEmulator(t, func(o *emulator.Options) {
		o.LogURLs = true
		o.Outcomes = map[string]emulator.Outcome{"app": {ErrorCode: "BUILD_STEP_FAILED", FailStep: 2}}
	}, nil)
	ctx := context.Background()
	spec := map[string]any{"from": "node:22-bookworm", "steps": []any{
		map[string]any{"run": "apt-get update"}, map[string]any{"run": "npm ci"}, map[string]any{"run": "npm run build"}}}
	tpl, err := c.CreateTemplate(ctx, "0b9e7c1a-5f4e-4e8e-9a51-3c6a3b0d2f10", miosa.CreateTemplate{Name: "app", BuildSpec: spec})
	if err != nil {
		t.Fatal(err)
	}
	builds, err := c.ListBuilds(ctx, tpl.ID)
	if err != nil || len(builds) != 1 {
		t.Fatalf("builds %v, err %v", builds, err)
	}
	b, err := c.GetBuild(ctx, builds[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if b.State != miosa.StateFailed || b.LogURL == "" {
		t.Fatalf("build %+v: want failed with a log_url", b)
	}
	got, err := c.BuildLogTail(ctx, b.LogURL, 0)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(got.Text), "\n"), "\n")
	last := lines[len(lines)-1]
	if got.Partial || !strings.HasSuffix(last, "error BUILD_STEP_FAILED: "+b.ErrorMessage) || !strings.Contains(b.ErrorMessage, "step 2 `npm ci`") {
		t.Errorf("log %q (partial %t), error message %q: want the whole log ending in the step 2 failure", got.Text, got.Partial, b.ErrorMessage)
	}
}
