package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
)

// benchKey is the API key the runs use; the emulator takes any msk_ key.
const benchKey = "msk_bench_0000000000000000000000"

// emu is an emulator served over loopback HTTP, with a probe that notes when
// the first API request of a phase arrived.
type emu struct {
	*emulator.Server
	URL   string // API base URL ending in /api/v1
	first atomic.Int64
	conns atomic.Int64 // TCP connections accepted
	srv   *http.Server
}

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// startEmu serves a new emulator with opts on 127.0.0.1:0; wrap, when not
// nil, wraps its handler.
func startEmu(opts emulator.Options, wrap func(http.Handler) http.Handler) (*emu, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	e := &emu{Server: emulator.New(opts), URL: "http://" + ln.Addr().String() + "/api/v1"}
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.first.CompareAndSwap(0, time.Now().UnixNano())
		e.Server.ServeHTTP(w, r)
	})
	if wrap != nil {
		h = wrap(h)
	}
	e.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = e.srv.Serve(countingListener{ln, &e.conns}) }()
	return e, nil
}

// resetFirst forgets the first request seen, before the next phase.
func (e *emu) resetFirst() { e.first.Store(0) }

// firstRequest is when the first request since resetFirst arrived (zero
// when none did).
func (e *emu) firstRequest() time.Time {
	n := e.first.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

func (e *emu) close() { _ = e.srv.Close() }

// buildFinished asks the emulator, in process and without counting through
// the probe, when a build finished (zero when it has not).
func (e *emu) buildFinished(id string) (time.Time, error) {
	req := httptest.NewRequest(http.MethodGet, "/api/v1/sandbox-template-builds/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+benchKey)
	rec := httptest.NewRecorder()
	e.Server.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return time.Time{}, fmt.Errorf("get build %s: status %d", id, rec.Code)
	}
	var body struct {
		Data struct {
			FinishedAt *time.Time `json:"finished_at"`
		} `json:"data"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		return time.Time{}, fmt.Errorf("get build %s: %w", id, err)
	}
	if body.Data.FinishedAt == nil {
		return time.Time{}, nil
	}
	return *body.Data.FinishedAt, nil
}

// diff returns after minus before, per endpoint, without zero entries.
func diff(before, after emulator.Counters) map[string]int {
	out := map[string]int{}
	for k, v := range after.Requests {
		if d := v - before.Requests[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// total sums the requests of a per-endpoint map.
func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// nthOf notes when the n-th request for path (exactly) arrived.
type nthOf struct {
	path string
	n    int64
	seen atomic.Int64
	at   atomic.Int64
}

func (f *nthOf) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == f.path && f.seen.Add(1) == f.n {
			f.at.Store(time.Now().UnixNano())
		}
		h.ServeHTTP(w, r)
	})
}

// when is the time the n-th request arrived, zero before.
func (f *nthOf) when() time.Time {
	if n := f.at.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}
