package run

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
)

// countingListener counts the TCP connections a server accepts.
type countingListener struct {
	net.Listener
	accepted atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted.Add(1)
	}
	return c, err
}

// TestOneTransport: a run keeps an idle connection for each of its
// workers, so that at concurrency 16 about 500 requests open about 16
// connections, not one for most requests (Go's default transport keeps 2
// idle per host, and every other connection is closed after its request:
// on the real API, a TLS handshake each).
func TestOneTransport(t *testing.T) {
	t.Parallel()
	const n, concurrency = 160, 16
	files := map[string]string{}
	for i := range n {
		files[fmt.Sprintf("sandbox-templates/t-%03d.yaml", i)] = fmt.Sprintf("build_spec:\n  from: node:22\n  steps:\n    - run: echo %d\n", i)
	}
	root := writeFiles(t, files)
	opts := emulator.NewOptions()
	opts.Faults.Latency = 5 * time.Millisecond // the workers' requests overlap
	emu := emulator.New(opts)
	srv := httptest.NewUnstartedServer(emu)
	ln := &countingListener{Listener: srv.Listener}
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	res, err := Do(context.Background(), Config{Root: root, Mode: ModeApply, APIKey: "msk_test", APIURL: srv.URL + "/api/v1",
		Commit: "c1", Concurrency: concurrency, AdoptGrace: -1}, quiet{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusSuccess {
		t.Fatalf("status %s: %v", res.Status, res.Diagnostics)
	}
	requests := 0
	for _, v := range emu.Counters().Requests {
		requests += v
	}
	if requests < 450 {
		t.Fatalf("%d requests, want about 500", requests)
	}
	// A request that finds no idle connection dials, and a connection freed
	// meanwhile stays idle beside the new one: on a loaded machine a few
	// more than the workers. Go's default transport opens about 60 here.
	if got := ln.accepted.Load(); got > 2*concurrency {
		t.Errorf("%d requests opened %d connections, want at most %d (the concurrency and the dials that race a freed connection)", requests, got, 2*concurrency)
	}
	t.Logf("%d requests at concurrency %d opened %d connections", requests, concurrency, ln.accepted.Load())
}
