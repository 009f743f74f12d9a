package miosa

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// TestParseQuota reads every documented form of rate-limit headers.
func TestParseQuota(t *testing.T) {
	type got struct {
		Limit, Remaining int
		Reset            time.Duration
	}
	tests := []struct {
		name string
		h    http.Header
		want *got // nil: no budget
	}{
		{"X-RateLimit", header("X-RateLimit-Limit", "60", "X-RateLimit-Remaining", "12", "X-RateLimit-Reset", "48"), &got{60, 12, 48 * time.Second}},
		{"X-RateLimit without limit", header("X-RateLimit-Remaining", "0", "X-RateLimit-Reset", "5"), &got{0, 0, 5 * time.Second}},
		{"X-RateLimit reset as a Unix time", header("X-RateLimit-Limit", "5000", "X-RateLimit-Remaining", "4999", "X-RateLimit-Reset", "1767226500"), &got{5000, 4999, 5 * time.Minute}},
		{"X-RateLimit reset in fractions", header("X-RateLimit-Remaining", "3", "X-RateLimit-Reset", "1.5"), &got{0, 3, 1500 * time.Millisecond}},
		{"IETF separate fields", header("RateLimit-Limit", "100", "RateLimit-Remaining", "40", "RateLimit-Reset", "30"), &got{100, 40, 30 * time.Second}},
		{"IETF limit with a policy", header("RateLimit-Limit", "100, 100;w=60", "RateLimit-Remaining", "40", "RateLimit-Reset", "30"), &got{100, 40, 30 * time.Second}},
		{"IETF dictionary", header("RateLimit", "limit=100, remaining=7, reset=20"), &got{100, 7, 20 * time.Second}},
		{"IETF dictionary without limit", header("RateLimit", "remaining=7, reset=20"), &got{0, 7, 20 * time.Second}},
		{"IETF policy list", header("RateLimit", `"default";r=50;t=30`, "RateLimit-Policy", `"default";q=100;w=60`), &got{100, 50, 30 * time.Second}},
		{"IETF policy list, most restrictive", header("RateLimit", `"burst";r=9;t=1, "day";r=100;t=3600`, "RateLimit-Policy", `"burst";q=10;w=1, "day";q=1000;w=86400`), &got{1000, 100, time.Hour}},
		{"IETF policy list, one exhausted", header("RateLimit", `"a";r=0;t=10, "b";r=5;t=100`), &got{0, 0, 10 * time.Second}},
		{"combined form wins over the others", header("RateLimit", "limit=10, remaining=1, reset=3", "X-RateLimit-Remaining", "9", "X-RateLimit-Reset", "3"), &got{10, 1, 3 * time.Second}},
		{"IETF fields win over X-", header("RateLimit-Remaining", "2", "RateLimit-Reset", "4", "X-RateLimit-Remaining", "9", "X-RateLimit-Reset", "3"), &got{0, 2, 4 * time.Second}},
		{"reset 0: nothing to wait for", header("X-RateLimit-Remaining", "0", "X-RateLimit-Reset", "0"), &got{0, 0, 0}},
		{"no reset", header("X-RateLimit-Limit", "60", "X-RateLimit-Remaining", "0"), nil},
		{"no remaining", header("RateLimit-Limit", "60", "RateLimit-Reset", "10"), nil},
		{"negative", header("X-RateLimit-Remaining", "-1", "X-RateLimit-Reset", "10"), nil},
		{"not a number", header("X-RateLimit-Remaining", "many", "X-RateLimit-Reset", "soon"), nil},
		{"NaN", header("X-RateLimit-Remaining", "NaN", "X-RateLimit-Reset", "10"), nil},
		{"broken dictionary", header("RateLimit", "limit=, remaining"), nil},
		{"broken list", header("RateLimit", `"x";r=;t=5`), nil},
		{"none", header("Retry-After", "5"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Unix(1767226200, 0)
			q, ok := parseQuota(tt.h, now)
			if !ok {
				if tt.want != nil {
					t.Fatalf("no budget read, want %+v", *tt.want)
				}
				return
			}
			g := got{q.limit, q.remaining, q.reset.Sub(now)}
			if tt.want == nil {
				t.Fatalf("read %+v, want no budget", g)
			}
			if diff := cmp.Diff(*tt.want, g); diff != "" {
				t.Errorf("budget (-want +got):\n%s", diff)
			}
			if q.on != (g.Reset > 0) {
				t.Errorf("budget applies: %t, want %t", q.on, g.Reset > 0)
			}
		})
	}
}

// TestQuotaPacing checks what an announced budget lets the client do, with
// explicit times: spend freely above half the limit, spread the rest until
// the reset, send nothing before it with none left, count requests started
// after the answered one, and take the whole limit again after a reset with
// no newer answer.
func TestQuotaPacing(t *testing.T) {
	announce := func(l *limiter, sent, now time.Time, limit, remaining, reset string) {
		l.announce(sent, now, header("X-RateLimit-Limit", limit, "X-RateLimit-Remaining", remaining, "X-RateLimit-Reset", reset))
	}
	t.Run("above half the limit", func(t *testing.T) {
		var l limiter
		announce(&l, t0, t0, "20", "15", "30")
		for i := range 5 {
			if at := startAt(t, &l, t0); !at.Equal(t0) {
				t.Fatalf("request %d starts at %s, want at once", i+1, at.Sub(t0))
			}
		}
		// 10 of 20 are left now: the rest is spread over the 30 s.
		at := startAt(t, &l, t0)
		if want := t0.Add((30*time.Second - resetRounding) / 15); !at.Equal(want) {
			t.Errorf("6th request starts at %s, want %s", at.Sub(t0), want.Sub(t0))
		}
	})
	t.Run("spread until the reset", func(t *testing.T) {
		var l limiter
		first := startAt(t, &l, t0)
		announce(&l, first, ms(50), "20", "4", "8")
		spacing := (8*time.Second - resetRounding) / 4
		prev := first
		for i := range 3 {
			at := startAt(t, &l, ms(50))
			if want := prev.Add(spacing); !at.Equal(want) {
				t.Errorf("request %d starts at %s, want %s", i+2, at.Sub(t0), want.Sub(t0))
			}
			prev = at
		}
	})
	t.Run("none left", func(t *testing.T) {
		var l limiter
		announce(&l, t0, t0, "60", "0", "30")
		if at := startAt(t, &l, t0); !at.Equal(t0.Add(30 * time.Second)) {
			t.Errorf("starts at %s, want at the reset, 30s", at.Sub(t0))
		}
	})
	t.Run("requests in flight count", func(t *testing.T) {
		var l limiter
		sent := startAt(t, &l, t0)
		startAt(t, &l, ms(1)) // two more started before the answer to the first
		startAt(t, &l, ms(2))
		announce(&l, sent, ms(50), "10", "2", "10")
		if at := startAt(t, &l, ms(50)); !at.Equal(ms(10050)) {
			t.Errorf("starts at %s, want at the reset (2 left, both in flight)", at.Sub(t0))
		}
	})
	t.Run("a reset without a newer answer restores the limit", func(t *testing.T) {
		var l limiter
		announce(&l, t0, t0, "4", "0", "10")
		var starts []time.Duration
		at := t0
		for range 3 {
			at = startAt(t, &l, at)
			starts = append(starts, at.Sub(t0))
		}
		// At the reset the limit is back: 2 of 4 freely, then spread.
		want := []time.Duration{10 * time.Second, 10 * time.Second, 10*time.Second + 10*time.Second/4}
		if diff := cmp.Diff(want, starts); diff != "" {
			t.Errorf("starts (-want +got):\n%s", diff)
		}
	})
	t.Run("without a limit the budget ends at the reset", func(t *testing.T) {
		var l limiter
		l.announce(t0, t0, header("RateLimit-Remaining", "0", "RateLimit-Reset", "5"))
		at := t0
		for i := range 3 {
			if at = startAt(t, &l, at); !at.Equal(t0.Add(5 * time.Second)) {
				t.Errorf("request %d starts at %s, want 5s", i+1, at.Sub(t0))
			}
		}
	})
}
