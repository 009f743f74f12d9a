package miosa_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
)

func TestDisplayURL(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]string{
		"https://api.miosa.ai/api/v1":                                "https://api.miosa.ai/api/v1",
		"https://user:pw@logs.example:8443/b/1?sig=abc#frag":         "https://logs.example:8443/b/1",
		"http://msk_userpart_secret:x@host/api/v1?token=ghp_0123456": "http://host/api/v1",
		"https://logs.example/ghp_0123456789abcdefghij/log":          "https://logs.example/***/log",
		"https://h/a b\nc": "https://h/a%20b%20c",
		"https://msk_user:x@host/%zz?token=ghp_0123456789abcdefghij": "https://host/%zz",
		"msk_user:x@host/p?q": "host/p",
		"javascript:alert(1)": "javascript:alert(1)",
		"":                    "",
	} {
		if got := miosa.DisplayURL(raw); got != want {
			t.Errorf("DisplayURL(%q) = %q, want %q", raw, got, want)
		}
	}
}

// A base URL is refused, before any request, without echoing its user
// information or query; plain http is for loopback only, unless allowed.
func TestNewBaseURL(t *testing.T) {
	t.Parallel()
	srv := newServer(t, script(reply{status: 200, body: `[]`}))
	tests := []struct {
		url     string
		allow   bool
		wantErr string // "" when New accepts the URL
		warning string // substring of Warning(), "" for none
	}{
		{url: "https://api.miosa.ai/api/v1"},
		{url: srv.URL + "/api/v1"},
		{url: "http://localhost:8787/api/v1"},
		{url: "http://LOCALHOST./api/v1"},
		{url: "http://127.8.9.10:1/api/v1"},
		{url: "http://[::1]:8787/api/v1"},
		{url: "http://api.example.com/api/v1", wantErr: "miosa: base url http://api.example.com/api/v1 is plain http to a host that is not loopback: the API key would travel unencrypted; use https://, or allow plain http explicitly (allow-insecure-http)"},
		{url: "http://10.0.0.5/api/v1", wantErr: "is plain http to a host that is not loopback"},
		{url: "http://[::ffff:10.0.0.5]/api/v1", wantErr: "is plain http to a host that is not loopback"},
		{url: "http://api.example.com/api/v1", allow: true, warning: "api url http://api.example.com/api/v1 is plain http to a host that is not loopback: the API key and every answer travel unencrypted (allowed by allow-insecure-http)"},
		{url: "http://msk_userpart_secret:x@host/api/v1", wantErr: "miosa: base url http://host/api/v1: credentials in the URL are never sent (the key goes in a header)"},
		{url: "https://host/api/v1?token=ghp_0123456789abcdefghij", wantErr: "miosa: base url https://host/api/v1: a query or fragment is not allowed"},
		{url: "https://msk_userpart_secret:x@host/api/v1?token=ghp_0123456789abcdefghij", wantErr: "credentials in the URL are never sent (the key goes in a header); a query or fragment is not allowed"},
		{url: "https://msk_userpart_secret:x@host/%zz?token=ghp_0123456789abcdefghij", wantErr: `miosa: base url https://host/%zz is not a URL: invalid URL escape "%zz"`},
		{url: "http://msk_userpart_secret:x@host:port/?token=ghp_0123456789abcdefghij", wantErr: `miosa: base url http://host:port/ is not a URL`},
		{url: "ftp://u:msk_userpart_secret@x/api", wantErr: "miosa: base url ftp://x/api: want http(s)://host[/path]; credentials in the URL are never sent"},
	}
	for _, tt := range tests {
		c, err := miosa.New(miosa.Options{BaseURL: tt.url, APIKey: testKey, AllowInsecureHTTP: tt.allow})
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tt.url, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: error %v, want %q", tt.url, err, tt.wantErr)
		case err != nil && (strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "ghp_")):
			t.Errorf("%s: error %q echoes the URL's user information or query", tt.url, err)
		case err == nil && !strings.Contains(c.Warning(), tt.warning), err == nil && tt.warning == "" && c.Warning() != "":
			t.Errorf("%s: Warning() = %q, want %q", tt.url, c.Warning(), tt.warning)
		}
	}
	if n := srv.count(); n != 0 {
		t.Errorf("New sent %d requests", n)
	}
	opts := miosa.Options{BaseURL: "https://msk_userpart_secret:x@host/api/v1?token=ghp_0123456789abcdefghij", APIKey: testKey}
	if s := opts.String(); strings.Contains(s, "secret") || strings.Contains(s, "ghp_") {
		t.Errorf("Options.String() = %q", s)
	}
}

// A 404 on the list says the likely fix, whatever the 404's body; a
// message of several lines is one line of the error.
func TestListNotFoundHint(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		path, body, want string
	}{
		"API error, base without /api/v1": {"", `{"error":{"code":"NOT_FOUND","message":"no route"}}`,
			"get /sandbox-templates?page_size=100: no route; is api-url right? it should end in /api/v1 (http 404 NOT_FOUND)"},
		"API error, base with /api/v1": {"/api/v1", `{"error":{"code":"NOT_FOUND","message":"no route"}}`,
			"get /sandbox-templates?page_size=100: no route; is api-url right? http://server/api/v1 has no template list (the public API's is https://api.miosa.ai/api/v1) (http 404 NOT_FOUND)"},
		"message over several lines": {"/v2", "{\"error\":{\"code\":\"NOT_FOUND\",\"message\":\"line one\\nline two\\r\\n\\u2028three\\u0085four\"}}",
			"get /sandbox-templates?page_size=100: line one line two three four; is api-url right? it should end in /api/v1 (http 404 NOT_FOUND)"},
	} {
		srv := newServer(t, script(reply{status: http.StatusNotFound, body: tc.body}))
		c, _, _ := newClient(t, srv, func(o *miosa.Options) { o.BaseURL = srv.URL + tc.path })
		_, err := c.ListTemplates(context.Background(), false)
		var e *miosa.Error
		if !errors.As(err, &e) || e.Hint() == "" {
			t.Errorf("%s: err %v has no hint", name, err)
			continue
		}
		if got := strings.ReplaceAll(err.Error(), srv.URL, "http://server"); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", name, got, tc.want)
		}
	}
}

// FuzzDisplayURL checks that DisplayURL never shows user information, a
// query or a fragment, and stays on one line.
func FuzzDisplayURL(f *testing.F) {
	for _, s := range []string{
		"https://user:pw@logs.example:8443/b/1?sig=abc#frag",
		"http://msk_userpart_secret:x@host/api/v1?token=ghp_0123456",
		"https://a@b@c/d?e#f", "//u:p@h/x", "u:p@h/x?y", "https://h/%zz?q", "https://h/a\nb?c",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		out := miosa.DisplayURL(raw)
		if strings.ContainsAny(out, "?#\n\r") {
			t.Fatalf("DisplayURL(%q) = %q holds a query, a fragment or a line break", raw, out)
		}
		if u, err := url.Parse(out); err == nil && u.User != nil {
			t.Fatalf("DisplayURL(%q) = %q holds user information %q", raw, out, u.User)
		}
		if u, err := url.Parse(raw); err == nil && u.User != nil {
			if p, ok := u.User.Password(); ok && len(p) >= 4 && !strings.Contains(u.Host+u.Path, p) && strings.Contains(out, p) {
				t.Fatalf("DisplayURL(%q) = %q shows the password", raw, out)
			}
		}
	})
}
