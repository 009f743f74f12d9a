package miosa

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// quota is the request budget the server last announced in rate-limit
// headers: remaining requests of limit until reset. While more than half
// the limit is left the client spends it freely. Below that it spreads what
// is left evenly until the reset, so the budget lasts until then, and with
// none left it sends nothing before the reset. Against a token bucket that
// announces the time until it is full again, this settles at half the
// bucket, sending at the bucket's rate; against a fixed window it keeps
// half the window's budget for the window's end.
type quota struct {
	on        bool      // an announced budget applies until reset
	limit     int       // 0 when the server does not say
	remaining int       // as announced
	reset     time.Time // when the budget is restored
	announced time.Time // when the answer announcing it arrived
	spacing   time.Duration
	started   int       // requests started that the announcement may not count
	last      time.Time // the latest start booked, kept across announcements
}

// earliest is the earliest start at or after at that the budget allows.
func (q *quota) earliest(at time.Time) time.Time {
	q.roll(at)
	if !q.on {
		return at
	}
	left := q.remaining - q.started
	switch {
	case left <= 0:
		return q.reset
	case q.limit > 0 && 2*left > q.limit:
		return at
	}
	if next := q.last.Add(q.spacing); next.After(at) {
		return next
	}
	return at
}

// book counts a request that starts at at.
func (q *quota) book(at time.Time) {
	q.roll(at)
	if q.on {
		q.started++
	}
	if at.After(q.last) {
		q.last = at
	}
}

// roll moves a budget whose reset has passed, with no newer announcement,
// to the next period: the whole limit again, until a reset as far after the
// old one as the old one was after its announcement. Without a limit the
// budget no longer applies.
func (q *quota) roll(at time.Time) {
	if !q.on || at.Before(q.reset) {
		return
	}
	period := q.reset.Sub(q.announced)
	if q.limit <= 0 || period <= 0 {
		q.on = false
		return
	}
	n := at.Sub(q.reset)/period + 1
	q.announced = q.reset.Add((n - 1) * period)
	q.reset = q.announced.Add(period)
	q.remaining, q.started = q.limit, 0
	q.spacing = period / time.Duration(q.limit)
}

// set replaces the budget with a newer announcement n, keeping the time of
// the latest start.
func (q *quota) set(n quota) {
	n.last = q.last
	if left := n.remaining - n.started; left > 0 && n.on {
		n.spacing = max(0, n.reset.Sub(n.announced)-resetRounding) / time.Duration(left)
	}
	*q = n
}

// describe says what the server announced and what the client does about
// it, for the log.
func (q *quota) describe(now time.Time) string {
	of := ""
	if q.limit > 0 {
		of = fmt.Sprintf(" of %d", q.limit)
	}
	then := "spreading requests until then"
	if q.remaining-q.started <= 0 {
		then = "waiting for it"
	}
	return fmt.Sprintf("the server announces %d request(s)%s left until its rate limit resets in %s; %s",
		max(0, q.remaining), of, q.reset.Sub(now).Round(time.Second), then)
}

// resetRounding is taken off the time to a reset before the budget is
// spread over it: a reset is whole seconds, rounded up by servers such as
// Miosa's emulator, which would halve the pace of a limit of two requests a
// second. Only the spacing uses it; the count left is never exceeded.
const resetRounding = 500 * time.Millisecond

// epochSeconds: a reset beyond this many seconds is a Unix time, as some
// servers send it, not a number of seconds from now.
const epochSeconds = 1e9

// maxEpoch bounds a Unix-time reset (the year 36812) so that it converts.
const maxEpoch = 1 << 40

// parseQuota reads the announced budget of an answer received at now, from
// the first of these that gives both a remaining count and a reset:
//
//   - RateLimit as a dictionary, `limit=100, remaining=50, reset=30`, or as
//     a list of policies, `"default";r=50;t=30` (the most restrictive one,
//     its limit from RateLimit-Policy's q);
//   - RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset;
//   - X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset.
//
// A reset is in seconds from now, or a Unix time when it is larger than
// epochSeconds. It reports false when no family is complete.
func parseQuota(h http.Header, now time.Time) (quota, bool) {
	if h == nil {
		return quota{}, false
	}
	if limit, remaining, reset, ok := parseCombined(h.Get("RateLimit"), h.Get("RateLimit-Policy")); ok {
		return newQuota(limit, remaining, reset, now), true
	}
	for _, prefix := range []string{"RateLimit-", "X-RateLimit-"} {
		remaining, okR := leadingNumber(h.Get(prefix + "Remaining"))
		reset, okT := leadingNumber(h.Get(prefix + "Reset"))
		if !okR || !okT {
			continue
		}
		limit, _ := leadingNumber(h.Get(prefix + "Limit"))
		return newQuota(limit, remaining, reset, now), true
	}
	return quota{}, false
}

// newQuota builds the budget of limit, remaining and reset (as parsed) at now.
func newQuota(limit, remaining, reset float64, now time.Time) quota {
	at := now
	switch {
	case reset > epochSeconds:
		at = time.Unix(int64(min(reset, maxEpoch)), 0)
	case reset > 0:
		at = now.Add(time.Duration(min(reset, maxRetryAfterSeconds) * float64(time.Second)))
	}
	return quota{
		on:        at.After(now),
		limit:     int(min(limit, math.MaxInt32)),
		remaining: int(min(remaining, math.MaxInt32)),
		reset:     at,
		announced: now,
	}
}

// leadingNumber reads the non-negative number that starts the first member
// of a header value: "100", "30.5", or "100, 100;w=60".
func leadingNumber(v string) (float64, bool) {
	v, _, _ = strings.Cut(v, ",")
	v, _, _ = strings.Cut(v, ";")
	n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || math.IsNaN(n) || math.IsInf(n, 0) || n < 0 {
		return 0, false
	}
	return n, true
}

// parseCombined reads the RateLimit field in either of its forms (see
// parseQuota); policy is the RateLimit-Policy field.
func parseCombined(v, policy string) (limit, remaining, reset float64, ok bool) {
	if strings.TrimSpace(v) == "" {
		return 0, 0, 0, false
	}
	members := strings.Split(v, ",")
	if !strings.Contains(v, ";") {
		// The dictionary form: limit=, remaining=, reset=.
		var okR, okT bool
		for _, m := range members {
			k, val, _ := strings.Cut(m, "=")
			n, good := leadingNumber(strings.Trim(strings.TrimSpace(val), `"`))
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "limit":
				limit = n
			case "remaining":
				remaining, okR = n, good
			case "reset":
				reset, okT = n, good
			}
		}
		return limit, remaining, reset, okR && okT
	}
	// The list form: "name";r=;t=, one member per policy.
	name, worst := "", -1.0
	for _, m := range members {
		params := strings.Split(m, ";")
		var r, t float64
		var okR, okT bool
		for _, p := range params[1:] {
			k, val, _ := strings.Cut(p, "=")
			n, good := leadingNumber(val)
			switch strings.TrimSpace(k) {
			case "r":
				r, okR = n, good
			case "t":
				t, okT = n, good
			}
		}
		if !okR || !okT {
			continue
		}
		// The most restrictive policy leaves the longest time per request.
		per := math.Inf(1)
		if r > 0 {
			per = t / r
		}
		if per > worst {
			worst, name, remaining, reset, ok = per, strings.TrimSpace(params[0]), r, t, true
		}
	}
	if !ok {
		return 0, 0, 0, false
	}
	for _, m := range strings.Split(policy, ",") {
		params := strings.Split(m, ";")
		if strings.TrimSpace(params[0]) != name {
			continue
		}
		for _, p := range params[1:] {
			if k, val, _ := strings.Cut(p, "="); strings.TrimSpace(k) == "q" {
				limit, _ = leadingNumber(val)
			}
		}
	}
	return limit, remaining, reset, true
}
