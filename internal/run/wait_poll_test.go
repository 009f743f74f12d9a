package run

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
)

// fakeClock is the emulator's clock in a test: builds advance only when
// the test says.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// pollSetup seeds an emulator with accounts templates and pending builds
// of pending of them, and returns a waiter of those builds that has seen
// the list, the clock and the emulator.
func pollSetup(t *testing.T, accounts, pending int) (*waiter, *fakeClock, *emulator.Server) {
	t.Helper()
	clk := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	opts := emulator.NewOptions()
	opts.Clock = clk.Now
	emu := emulator.New(opts)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	var builds []BuildResult
	for i := range accounts {
		name := fmt.Sprintf("t-%04d", i)
		if _, err := emu.SeedTemplate(emulator.TemplateSeed{Name: name, BuildSpec: map[string]any{"from": "node:22"}}); err != nil {
			t.Fatal(err)
		}
		if i < pending {
			b, err := emu.SeedBuild(name, emulator.BuildSeed{State: "building", Duration: emulator.Duration(time.Hour + time.Duration(i)*time.Minute)})
			if err != nil {
				t.Fatal(err)
			}
			builds = append(builds, BuildResult{Name: name, TemplateID: b.TemplateID, BuildID: b.ID, State: b.State})
		}
	}
	c, err := miosa.New(miosa.Options{BaseURL: srv.URL + "/api/v1", APIKey: "msk_test"})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := c.ListTemplates(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	o := &observation{rows: map[string]miosa.ListRow{}}
	for _, r := range rows {
		o.rows[r.ID] = r
	}
	e := &env{cfg: Config{Concurrency: 8, PollInterval: time.Second}, api: c, log: &runLog{rep: quiet{}}}
	emu.ResetCounters()
	return e.newWaiter(o, builds), clk, emu
}

// pollOnce polls the pending builds once and returns the requests it made.
func pollOnce(w *waiter, emu *emulator.Server) map[string]int {
	var idx []int
	for i, b := range w.builds {
		if !miosa.TerminalState(b.State) {
			idx = append(idx, i)
		}
	}
	w.poll(context.Background(), idx)
	return emu.ResetCounters().Requests
}

// TestWaitSpreadsFallbackReads: 40 builds started together are not all
// read in one interval when their fallback falls due: each interval reads
// at most an eighth of them (5), the list shows nothing changed, and within
// 8 intervals of the first fallback every build has been read.
func TestWaitSpreadsFallbackReads(t *testing.T) {
	t.Parallel()
	w, _, emu := pollSetup(t, 40, 40)
	read := map[string]int{}
	for poll := 1; poll <= 12; poll++ {
		got := pollOnce(w, emu)
		if got["get_build"] > 5 {
			t.Errorf("poll %d read %d builds, want at most 5 (an eighth of 40)", poll, got["get_build"])
		}
		if got["list"] != 1 {
			t.Errorf("poll %d: %d list requests, want 1 (62 rows: one page, cheaper than 40 reads)", poll, got["list"])
		}
		for id, n := range w.reads {
			read[id] = n
		}
	}
	if len(read) != 40 {
		t.Errorf("%d of 40 builds read by their fallback in 12 polls, want all", len(read))
	}
}

// TestWaitListOnlyWhenCheaper: in an account of 1,000 templates (11 pages
// of list) with 5 builds pending, the waiter reads the 5 builds and not the
// list; once the builds are done, each is read once more and no more.
func TestWaitListOnlyWhenCheaper(t *testing.T) {
	t.Parallel()
	w, clk, emu := pollSetup(t, 1000, 5)
	for poll := 1; poll <= 4; poll++ {
		got := pollOnce(w, emu)
		if got["list"] != 0 || got["get_build"] != 5 {
			t.Errorf("poll %d: %v, want 5 build reads and no list", poll, got)
		}
	}
	clk.Advance(2 * time.Hour)
	if got := pollOnce(w, emu); got["get_build"] != 5 || got["list"] != 0 {
		t.Errorf("after the builds ended: %v, want 5 build reads", got)
	}
	for _, b := range w.builds {
		if b.State != miosa.StateReady {
			t.Errorf("%s: %s, want ready", b.Name, b.State)
		}
	}
}

// TestWaitReadsChangedRows: a build whose template's row changed is read in
// the interval the list shows it, before its fallback.
func TestWaitReadsChangedRows(t *testing.T) {
	t.Parallel()
	w, clk, emu := pollSetup(t, 30, 30)
	pollOnce(w, emu)                        // no fallback due yet: the list only
	clk.Advance(time.Hour + 90*time.Second) // the first two builds end (1h and 1h01m)
	got := pollOnce(w, emu)
	if got["list"] != 1 || got["get_build"] != 2 {
		t.Errorf("%v, want the list and the 2 builds whose rows changed", got)
	}
	if w.builds[0].State != miosa.StateReady || w.builds[1].State != miosa.StateReady || w.builds[2].State == miosa.StateReady {
		t.Errorf("states %s, %s, %s; want ready, ready, not ready", w.builds[0].State, w.builds[1].State, w.builds[2].State)
	}
}
