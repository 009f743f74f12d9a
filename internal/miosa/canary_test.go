package miosa_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
)

// canaryKey is a key the server below echoes back in every way it can.
const canaryKey = "msk_u_canary_Q7vX2pLk9mZr4TbN8sWc1HdY"

// assertNoKey fails when text holds the canary key or any 8 consecutive
// characters of it.
func assertNoKey(t *testing.T, where, text string) {
	t.Helper()
	for i := 0; i+8 <= len(canaryKey); i++ {
		if frag := canaryKey[i : i+8]; strings.Contains(text, frag) {
			t.Errorf("%s leaks key fragment %q: %s", where, frag, text)
			return
		}
	}
}

// echoServer echoes the key (taken from the request) in bodies and headers.
func echoServer(t *testing.T) *server {
	k := canaryKey
	split := k[:17] + "\n" + k[17:]
	bodies := []string{
		`{"error":{"code":"` + k + `","message":"bad key ` + k + `","request_id":"` + k + `"},"errors":[{"code":"` + k + `","field":"` + k + `","message":"Bearer ` + k + `"}]}`,
		`{"error":"` + split + `"}`,
		`{"message":"tail ` + k[10:] + ` and head ` + k[:12] + `"}`,
		`{"detail":"` + strings.ToUpper(k[:4]) + k[4:] + `"}`,
		`{"errors":["` + k + `", {"field":"x","message":"` + k + `"}], "valid": false}`,
		`{"errors":{"` + k + `":["` + k + `"]}}`,
		"plain text " + k,
	}
	return newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		auth := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if auth != canaryKey {
			t.Errorf("server got Authorization %q", auth)
		}
		w.Header().Set("X-Request-ID", auth)
		w.Header().Set("Retry-After", "1")
		body := bodies[n%len(bodies)]
		switch {
		case strings.Contains(r.URL.Path, "/redirect"):
			w.Header().Set("Location", "https://"+strings.ReplaceAll(strings.ToLower(auth), "_", "-")+".example.com/"+auth+"?key="+auth)
			w.WriteHeader(http.StatusFound)
			return
		case strings.Contains(r.URL.Path, "/malformed"):
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_, _ = io.WriteString(buf, "HTTP/1.1 "+auth+" OK\r\n\r\n")
				_ = buf.Flush()
				_ = conn.Close()
			}
			return
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/validate"):
			w.WriteHeader(http.StatusUnprocessableEntity)
		case strings.HasSuffix(r.URL.Path, "/builds") && r.Method == http.MethodPost:
			w.WriteHeader(http.StatusConflict)
		default:
			w.WriteHeader([]int{503, 404, 401, 429, 500, 502}[n%6])
		}
		_, _ = io.WriteString(w, body)
	})
}

func TestCanaryKeyNeverLeaks(t *testing.T) {
	t.Parallel()
	srv := echoServer(t)
	logs := &logLines{}
	opts := miosa.Options{
		BaseURL: srv.URL + "/api/v1", APIKey: canaryKey, UserAgent: testUA, Logf: logs.logf,
		MaxAttempts: 4, Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
	}
	c, err := miosa.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var errs []error
	for range 7 {
		_, err := c.GetTemplate(ctx, "web")
		errs = append(errs, err)
		_, err = c.ListTemplates(ctx, true)
		errs = append(errs, err)
		_, err = c.CreateBuild(ctx, "tpl", "key", miosa.CreateBuild{})
		errs = append(errs, err)
		_, err = c.CreateTemplate(ctx, "key", miosa.CreateTemplate{Name: "web"})
		errs = append(errs, err)
		res, err := c.Validate(ctx, map[string]any{"from": "x"})
		errs = append(errs, err)
		assertNoKey(t, "validate result", fmt.Sprintf("%+v", res))
	}
	_, err = c.GetTemplate(ctx, "redirect")
	errs = append(errs, err)
	_, err = c.GetBuild(ctx, "malformed")
	errs = append(errs, err)

	for _, err := range errs {
		if err == nil {
			continue
		}
		assertNoKey(t, "error", err.Error())
		assertNoKey(t, "error %+v", fmt.Sprintf("%+v", err))
		assertNoKey(t, "error %#v", fmt.Sprintf("%#v", err))
	}
	if len(logs.all()) == 0 {
		t.Error("no log lines: the retries were not exercised")
	}
	for _, l := range logs.all() {
		assertNoKey(t, "log line", l)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		assertNoKey(t, "Options "+verb, fmt.Sprintf(verb, opts))
		assertNoKey(t, "*Options "+verb, fmt.Sprintf(verb, &opts))
		assertNoKey(t, "Client "+verb, fmt.Sprintf(verb, c))
		assertNoKey(t, "Client in a struct "+verb, fmt.Sprintf(verb, struct{ C *miosa.Client }{c}))
	}
}

func TestNewRejectsBadKeys(t *testing.T) {
	t.Parallel()
	for name, key := range map[string]string{
		"empty":           "",
		"wrong prefix":    "sk_live_" + canaryKey[4:],
		"no prefix":       canaryKey[4:],
		"inner space":     canaryKey[:20] + " " + canaryKey[20:],
		"inner newline":   canaryKey[:20] + "\n" + canaryKey[20:],
		"non-ascii":       canaryKey + "é",
		"upper-case MSK_": "MSK_" + canaryKey[4:],
	} {
		_, err := miosa.New(miosa.Options{APIKey: key})
		if err == nil {
			t.Errorf("%s: New accepted the key", name)
			continue
		}
		assertNoKey(t, name, err.Error())
	}
	if _, err := miosa.New(miosa.Options{APIKey: " " + canaryKey + "\n"}); err != nil {
		t.Errorf("key with surrounding white space: %v", err)
	}
}

func TestNewRejectsBadBaseURL(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"ftp://x/api", "api.miosa.ai", "https://user:pw@x/api/v1", "https://x/api?q=1", "://"} {
		if _, err := miosa.New(miosa.Options{APIKey: canaryKey, BaseURL: u}); err == nil {
			t.Errorf("New accepted base url %q", u)
		}
	}
}

// A server that echoes the key inside a successful answer (a build's error
// message or log link) does not get it past the client either.
func TestCanaryKeyRedactedFromSuccessBodies(t *testing.T) {
	t.Parallel()
	body := `{"data":{"id":"b1","state":"failed","error_code":"BUILD_STEP_FAILED",` +
		`"error_message":"auth ` + canaryKey + ` rejected; fragment ` + canaryKey[10:22] + `",` +
		`"log_url":"https://logs.example/b1?token=` + canaryKey + `"}}`
	srv := newServer(t, script(reply{status: 200, body: body}))
	c, err := miosa.New(miosa.Options{BaseURL: srv.URL + "/api/v1", APIKey: canaryKey, UserAgent: testUA})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.GetBuild(context.Background(), "b1")
	if err != nil {
		t.Fatal(err)
	}
	assertNoKey(t, "error_message", b.ErrorMessage)
	assertNoKey(t, "log_url", b.LogURL)
	if b.State != "failed" || b.ErrorCode != "BUILD_STEP_FAILED" {
		t.Errorf("build = %+v", b)
	}
}
