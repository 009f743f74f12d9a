package miosa

import (
	"testing"
	"time"
)

// TestLimiterCounts drives the limiter with explicit times and checks its
// decisions by counts: one cut per episode, the rate it settles on (requests
// in flight at the 429 included), the increase per accepted answer.
func TestLimiterCounts(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	cut := func(l *limiter) {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.pending {
			l.cut()
		}
	}

	var l limiter
	// 19 requests sent in the last second were accepted; 8 requests sent
	// at 900 ms get a 429 at 1000 ms; one sent at 950 ms is accepted after
	// the 429. One episode, eight pauses, and the cut counts 20 accepted.
	for i := range 19 {
		l.accept(ms(10 + 50*i))
	}
	for range 8 {
		l.throttle(ms(1000), ms(900), time.Second)
	}
	l.accept(ms(950))
	cut(&l)
	st := l.state()
	if st.cuts != 1 || st.paused != 8 {
		t.Errorf("cuts %d, pauses %d; want 1, 8", st.cuts, st.paused)
	}
	if want := 0.9 * 20; st.rate != want {
		t.Errorf("rate after the cut %.2f, want %.2f (0.9 x 20 accepted in the second before the 429)", st.rate, want)
	}
	if !l.pausedTo.Equal(ms(2000)) {
		t.Errorf("paused to %s, want %s", l.pausedTo.Sub(t0), 2*time.Second)
	}
	// A second of answers at the rate (18) adds max(1, 5% of 18) = 1
	// request per second.
	for i := range 18 {
		l.accept(ms(2010 + 50*i))
	}
	if got := l.state().rate - 18; got < 0.9 || got > 1.1 {
		t.Errorf("18 accepted answers raised the rate by %.2f, want about 1", got)
	}
	// A request sent after the first episode gets a 429: a second cut, to
	// 0.9 times what the server accepted in the second before it.
	l.throttle(ms(3000), ms(2950), time.Second)
	cut(&l)
	if st := l.state(); st.cuts != 2 || st.rate != 0.9*18 {
		t.Errorf("after a second episode: cuts %d, rate %.2f; want 2, %.2f", st.cuts, st.rate, 0.9*18)
	}
	// The floor holds when nothing was accepted.
	var idle limiter
	idle.throttle(t0, t0, time.Second)
	cut(&idle)
	if st := idle.state(); st.rate != minRate {
		t.Errorf("rate after a 429 with nothing accepted %.2f, want the floor %.2f", st.rate, minRate)
	}
}
