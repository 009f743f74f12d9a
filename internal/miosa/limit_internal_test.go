package miosa

import (
	"math"
	"net/http"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// ms is t0 plus n milliseconds.
func ms(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }

// startAt books a request that asks to start at asked, waiting (without
// sleeping) for the time the limiter names, and returns its start.
func startAt(t *testing.T, l *limiter, asked time.Time) time.Time {
	t.Helper()
	now := asked
	for range 100 {
		at, ok := l.start(now, asked)
		if ok {
			return at
		}
		now = at
	}
	t.Fatalf("no start for a request asked at %s", asked.Sub(t0))
	return time.Time{}
}

func near(got, want float64) bool { return math.Abs(got-want) <= 1e-9*math.Max(1, math.Abs(want)) }

// TestLimiterCounts drives the limiter with explicit times and checks its
// decisions by counts: one cut per episode, the rate the first 429 sets
// (from the window for a short Retry-After, from the Retry-After for a long
// one), the probe until the second 429, the estimate since the first 429,
// and the growth after it.
func TestLimiterCounts(t *testing.T) {
	t.Run("per second", func(t *testing.T) {
		var l limiter
		// 19 requests sent in the last second were accepted; 8 requests sent
		// at 900 ms get a 429 at 1000 ms with Retry-After 1s; one sent at
		// 950 ms is accepted after the 429. One episode, eight pauses, and
		// the cut counts 20 accepted.
		for i := range 19 {
			l.accept(ms(10 + 50*i))
		}
		for range 8 {
			l.throttle(ms(1000), ms(900), time.Second, time.Second)
		}
		l.accept(ms(950))
		if at, ok := l.start(ms(1500), ms(1500)); ok || !at.Equal(ms(2000)) {
			t.Fatalf("start during the pause: %s, %t; want the pause's end, 2s", at.Sub(t0), ok)
		}
		first := startAt(t, &l, ms(2000))
		st := l.state()
		if st.cuts != 1 || st.paused != 8 || !first.Equal(ms(2000)) {
			t.Errorf("cuts %d, pauses %d, first start %s; want 1, 8, 2s", st.cuts, st.paused, first.Sub(t0))
		}
		if want := 0.9 * 20; !near(st.rate, want) {
			t.Errorf("rate after the cut %.3f, want %.3f (0.9 x 20 accepted in the second before the 429)", st.rate, want)
		}
		// Until the second 429 the rate doubles every probeDoubling of
		// requests that wait for their slots.
		l.accept(first)
		at, n := first, 1 // accepted since the first 429 (the one sent at 950 ms was sent before it)
		for at.Before(first.Add(probeDoubling)) {
			at = startAt(t, &l, at)
			l.accept(at)
			n++
		}
		if got := l.state().rate; got < 2*18*0.95 || got > 2*18*1.05 {
			t.Errorf("rate after %s of waiting requests %.2f, want about 36 (doubled)", probeDoubling, got)
		}
		// The second 429: the rate is 0.9 times the requests accepted since
		// the end of the first pause, per second since it (more than since
		// the first 429, which counts the pause).
		limited := startAt(t, &l, at)
		probed := l.state().rate
		end := l.throttle(limited, limited, time.Second, time.Second)
		startAt(t, &l, end)
		window := limited.Sub(ms(2000)).Seconds()
		if st, want := l.state(), 0.9*float64(n)/window; st.cuts != 2 || !near(st.rate, want) {
			t.Errorf("after the second episode: cuts %d, rate %.3f; want 2, %.3f (%d accepted over %.2fs)", st.cuts, st.rate, want, n, window)
		}
		if !near(l.ceiling, limitCeiling*probed) {
			t.Errorf("ceiling %.3f, want %.3f (0.98 x the rate the 429 was met at)", l.ceiling, limitCeiling*probed)
		}
		// From then on each accepted answer to a request that waited for
		// its slot adds limitGrowth; one that did not wait adds nothing.
		before := l.state().rate
		s := startAt(t, &l, end)
		l.accept(s)
		if got := l.state().rate; !near(got, before*(1+limitGrowth)) {
			t.Errorf("a waiting request's answer made the rate %.4f, want %.4f", got, before*(1+limitGrowth))
		}
		later := s.Add(time.Hour)
		startAt(t, &l, later)
		l.accept(later)
		if got := l.state().rate; !near(got, before*(1+limitGrowth)) {
			t.Errorf("an unhurried request's answer changed the rate to %.4f", got)
		}
		// Growth stops at the ceiling, which itself grows slowly.
		l.ceiling = l.state().rate * 1.005
		s = startAt(t, &l, later)
		l.accept(s)
		if got, want := l.state().rate, l.ceiling; !near(got, want) || !near(l.ceiling, before*(1+limitGrowth)*1.005*(1+ceilingGrowth)) {
			t.Errorf("rate %.4f at the ceiling %.4f, want the ceiling, grown by %g", got, want, ceilingGrowth)
		}
	})
	t.Run("few accepted", func(t *testing.T) {
		// A second 429 after 3 accepted requests (fewer than minSample):
		// the rate is 0.9 times the geometric mean of the count's rate and
		// the rate the 429 was met at.
		var l limiter
		l.accept(ms(0))
		l.throttle(ms(100), ms(90), time.Second, time.Second)
		first := startAt(t, &l, ms(1100))
		r1 := l.state().rate // 0.9 x 1 accepted in the window
		l.accept(first)
		next := startAt(t, &l, first)
		l.accept(next)
		third := startAt(t, &l, next)
		l.accept(third)
		limited := startAt(t, &l, third)
		probed := l.state().rate
		end := l.throttle(limited, limited, time.Second, time.Second)
		startAt(t, &l, end)
		count := 3 / limited.Sub(ms(100)).Seconds()
		if w := limited.Sub(ms(1100)); w >= minWindow {
			count = max(count, 3/w.Seconds())
		}
		want := min(0.9*math.Sqrt(count*probed), 0.9*probed)
		if got := l.state().rate; !near(got, want) || r1 <= 0 {
			t.Errorf("rate %.4f, want %.4f (0.9 x sqrt(%.3f x %.3f))", got, want, count, probed)
		}
	})
	t.Run("nothing accepted", func(t *testing.T) {
		// A second 429 with nothing accepted since the first: the rate is
		// halved and the probe goes on.
		var l limiter
		for i := range 10 {
			l.accept(ms(10 * i))
		}
		l.throttle(ms(100), ms(95), time.Second, time.Second)
		a := startAt(t, &l, ms(1100))
		rate := l.state().rate
		end := l.throttle(a.Add(50*time.Millisecond), a, time.Second, time.Second)
		startAt(t, &l, end)
		if got := l.state().rate; !near(got, rate/2) || !l.probing {
			t.Errorf("rate %.3f, probing %t; want %.3f, probing", got, l.probing, rate/2)
		}
	})
	t.Run("no Retry-After", func(t *testing.T) {
		// A 429 without a Retry-After pauses for a second at least, and for
		// an interval of the rate when that is longer.
		var l limiter
		l.accept(ms(0))
		if end := l.throttle(ms(100), ms(95), 200*time.Millisecond, 0); !end.Equal(ms(1100)) {
			t.Errorf("first pause ends at %s, want 1.1s (a second)", end.Sub(t0))
		}
		a := startAt(t, &l, ms(1100))
		rate := l.state().rate // 0.9 per second
		want := a.Add(10*time.Millisecond + time.Duration(float64(time.Second)/rate))
		if end := l.throttle(a.Add(10*time.Millisecond), a, 100*time.Millisecond, 0); !end.Equal(want) || rate >= 1 {
			t.Errorf("second pause ends at %s, want %s (an interval of %.2f per second)", end.Sub(t0), want.Sub(t0), rate)
		}
	})
	t.Run("per minute", func(t *testing.T) {
		var l limiter
		// A whole burst accepted within the second, then 429s with
		// Retry-After 3s and 2s: the longest says the next free request is
		// 3s away, so one request per 3s, whatever the window shows.
		for i := range 20 {
			l.accept(ms(10 * i))
		}
		l.throttle(ms(300), ms(290), 3*time.Second, 3*time.Second)
		l.throttle(ms(301), ms(291), 2*time.Second, 2*time.Second)
		a := startAt(t, &l, ms(300))
		if !a.Equal(ms(3300)) || !near(l.state().rate, 1.0/3) {
			t.Errorf("first start %s, rate %.3f; want 3.3s and 1/3 per second", a.Sub(t0), l.state().rate)
		}
		b := startAt(t, &l, a)
		if gap := b.Sub(a); gap < 3*time.Second || gap > 3*time.Second+time.Millisecond {
			t.Errorf("second start %s after the first, want 3s", gap)
		}
	})
	t.Run("floor", func(t *testing.T) {
		var l limiter
		l.throttle(t0, t0, time.Second, time.Second)
		startAt(t, &l, t0)
		if st := l.state(); st.rate != minRate {
			t.Errorf("rate after a 429 with nothing accepted %.4f, want the floor %.4f", st.rate, minRate)
		}
	})
	t.Run("announced", func(t *testing.T) {
		var l limiter
		h := http.Header{}
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Reset", "1")
		l.announce(t0, t0, h)
		l.throttle(t0, t0, 2*time.Second, 2*time.Second)
		at := startAt(t, &l, t0)
		if st := l.state(); st.rate != 0 || st.cuts != 0 || st.paused != 1 || !at.Equal(ms(2000)) {
			t.Errorf("rate %.2f, cuts %d, pauses %d, start %s; want no rate, 1 pause, start at its end (2s)", st.rate, st.cuts, st.paused, at.Sub(t0))
		}
	})
}
