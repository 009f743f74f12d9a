package miosa

import (
	"testing"
	"time"
)

// FuzzQuota feeds arbitrary rate-limit headers to parseQuota and the
// limiter: none may panic, a budget read is never negative, and no request
// is held back past the reset it names.
func FuzzQuota(f *testing.F) {
	seeds := [][4]string{
		{"limit=100, remaining=50, reset=30", "", "", ""},
		{`"default";r=50;t=30, "day";r=0;t=86400`, `"default";q=100;w=60`, "", ""},
		{"", "", "0", "1767226500"},
		{"", "", "12", "48"},
		{"", "", "1e400", "-0"},
		{"remaining=;;reset==", `";";q=`, "NaN", "Inf"},
		{`"a";r=1e308;t=1e308`, "", "9223372036854775808", "9223372036854775807"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, combined, policy, remaining, reset string) {
		now := time.Unix(1767226200, 0)
		h := header("RateLimit", combined, "RateLimit-Policy", policy, "X-RateLimit-Remaining", remaining, "X-RateLimit-Reset", reset, "X-RateLimit-Limit", remaining)
		q, ok := parseQuota(h, now)
		if !ok {
			return
		}
		if q.remaining < 0 || q.limit < 0 || (q.on && !q.reset.After(now)) {
			t.Fatalf("budget %+v", q)
		}
		var l limiter
		l.announce(now, now, h)
		at, _ := l.start(now, now)
		if q.on && at.After(q.reset) {
			t.Fatalf("held back to %s, past the reset %s", at, q.reset)
		}
	})
}
