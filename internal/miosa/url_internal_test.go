package miosa

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"syscall"
	"testing"
)

func TestPublicAddr(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]bool{
		"93.184.215.14": true, "2606:2800:21f:cb07:6820:80da:af6b:8b2c": true, "8.8.8.8": true,
		"127.0.0.1": false, "127.255.0.1": false, "::1": false, "::ffff:127.0.0.1": false,
		"10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false, "fd00::1": false, "::ffff:10.0.0.1": false,
		"169.254.169.254": false, "fe80::1": false, "0.0.0.0": false, "::": false, "0.1.2.3": false,
		"224.0.0.1": false, "ff02::1": false, "255.255.255.255": false, "100.64.0.1": false,
		"198.18.0.1": false, "192.0.2.1": false, "64:ff9b::a00:1": false, "2002:a00:1::": false,
	} {
		if got := publicAddr(netip.MustParseAddr(addr)); got != want {
			t.Errorf("publicAddr(%s) = %t, want %t", addr, got, want)
		}
		err := dialPublicOnly("tcp", netip.AddrPortFrom(netip.MustParseAddr(addr), 443).String(), nil)
		if (err == nil) != want {
			t.Errorf("dialPublicOnly(%s) = %v", addr, err)
		}
	}
}

// A log on another origin that may be fetched (here a loopback server
// standing in for a public one: the address check is replaced) is fetched
// over https without the key.
func TestBuildLogTailOtherOriginHasNoKey(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var auth []string
	logs := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth = append(auth, r.Header.Get("Authorization"))
		mu.Unlock()
		_, _ = w.Write([]byte("step 1\nfailed\n"))
	}))
	t.Cleanup(logs.Close)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the API got %s", r.URL)
	}))
	t.Cleanup(api.Close)
	c, err := New(Options{BaseURL: api.URL + "/api/v1", APIKey: "msk_u_internal_0123456789", HTTPClient: logs.Client()})
	if err != nil {
		t.Fatal(err)
	}
	c.foreign = foreignClient(c.http, func(string, string, syscall.RawConn) error { return nil })
	tail, err := c.BuildLogTail(context.Background(), logs.URL+"/b1?sig=x", 0)
	if err != nil {
		t.Fatal(err)
	}
	if string(tail.Text) != "step 1\nfailed\n" {
		t.Errorf("text %q", tail.Text)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(auth) != 1 || auth[0] != "" {
		t.Errorf("Authorization headers %q, want one request without the key", auth)
	}
}
