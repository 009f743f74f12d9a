package netfail_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/netfail"
)

// TestClassify sends real requests to servers on 127.0.0.1 that fail them
// in each way, and checks how each failure is told apart.
func TestClassify(t *testing.T) {
	// A port where nothing listens: take one, then close it.
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

	// A server that reads the request and closes the connection without
	// answering.
	cut := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	t.Cleanup(cut.Close)

	send := func(url string) error {
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			return fmt.Errorf("%s answered %s", url, resp.Status)
		}
		return err
	}
	tests := []struct {
		name           string
		err            error
		dial, tls, net bool
	}{
		{name: "refused connection", err: send(closed), dial: true, net: true},
		{name: "unknown certificate authority", err: send(tlsSrv.URL), tls: true, net: true},
		{name: "http answer to https", err: send(strings.Replace(plain.URL, "http:", "https:", 1)), tls: true, net: true},
		{name: "connection closed before the answer", err: send(cut.URL), net: true},
		{name: "unexpected end of a body", err: fmt.Errorf("read body: %w", io.ErrUnexpectedEOF), net: true},
		{name: "not a connection failure", err: errors.New("unreadable answer")},
		{name: "nil", err: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := netfail.IsDial(tt.err); got != tt.dial {
				t.Errorf("IsDial(%v) = %t, want %t", tt.err, got, tt.dial)
			}
			if got := netfail.IsTLS(tt.err); got != tt.tls {
				t.Errorf("IsTLS(%v) = %t, want %t", tt.err, got, tt.tls)
			}
			if got := netfail.IsNet(tt.err); got != tt.net {
				t.Errorf("IsNet(%v) = %t, want %t", tt.err, got, tt.net)
			}
		})
	}
}

func TestSleep(t *testing.T) {
	if err := netfail.Sleep(context.Background(), time.Millisecond); err != nil {
		t.Errorf("Sleep of a live context: %v", err)
	}
	if err := netfail.Sleep(context.Background(), 0); err != nil {
		t.Errorf("Sleep(0) of a live context: %v", err)
	}
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	for _, d := range []time.Duration{0, -time.Second, time.Hour} {
		if err := netfail.Sleep(ended, d); !errors.Is(err, context.Canceled) {
			t.Errorf("Sleep(%s) of an ended context = %v, want context.Canceled", d, err)
		}
	}
}
