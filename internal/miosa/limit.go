package miosa

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"
)

// Shape of the adaptive rate limit, for a server that answers 429 without
// announcing its limit.
const (
	// limitWindow is how far back the limiter counts the answers the server
	// accepted when it estimates the server's rate at the first 429 whose
	// Retry-After is at most this long (or absent).
	limitWindow = time.Second
	// limitDecrease is the share of the estimated rate the client settles
	// on after a 429.
	limitDecrease = 0.9
	// limitGrowth is what each accepted answer to a request that waited for
	// its slot adds to the allowed rate, as a share of it, once the rate is
	// known: back from a cut in about 10 requests, up to limitCeiling.
	limitGrowth = 0.01
	// limitCeiling is the share of the rate at the last 429 that growth
	// stops at, so that a rate found too high is not met again and again;
	// ceilingGrowth is what each accepted answer to a request that waited
	// adds to the ceiling, so that a limit raised later is found in time.
	limitCeiling  = 0.95
	ceilingGrowth = 0.0005
	// minWindow is the shortest time since the last pause over which the
	// accepted requests measure the server's rate.
	minWindow = 2 * time.Second
	// minSample is the fewest accepted requests since the first 429 that
	// the estimate of the rate rests on alone; with fewer, it is taken
	// between them and the rate the 429 was met at.
	minSample = 5
	// probeDoubling is how long the rate takes to double, while requests
	// wait for their slots, between the first 429 and the second: a first
	// estimate from one Retry-After may be far too low (a fixed window's
	// Retry-After is the time to the window's end), and the second 429
	// gives the estimate of the server's rate.
	probeDoubling = 2 * time.Second
	// minRate is the lowest allowed rate, in requests per second.
	minRate = 1.0 / 60
	// maxStarts is how many recent start times the limiter keeps, to count
	// the requests an announced budget may not include yet.
	maxStarts = 256
)

// limiter is the flow control every request of one Client goes through. It
// starts without a limit. Two mechanisms limit the requests, and a request
// waits for both:
//
//   - An announced budget (see quota): from the first answer with
//     rate-limit headers, the client spreads what is left of the budget
//     until its reset, and sends nothing while none is left. A 429 then
//     pauses the requests for its Retry-After but sets no rate.
//   - An adaptive rate, for a limit the server does not announce. A 429
//     pauses all requests until the Retry-After has passed, not only the
//     one that got it, and then sets (or cuts) the allowed rate, once per
//     episode of 429s however many requests were in flight. The rate is set
//     when the pause ends, so that the requests in flight at the 429 have
//     been answered and count.
//
// The adaptive rate comes from the 429s. The first one marks a moment when
// the server's budget was empty: from then on the server can have accepted
// no more than its rate times the time since, plus one request, and it
// answers 429 only when that budget is used up again. So at each later 429
// the requests accepted since the first, divided by the time since, are a
// measure of its rate, and so are the ones accepted since the end of the
// last pause (once that is minWindow long), which the slow start after the
// first 429 and the pauses do not dilute (a server whose bucket holds one
// or two requests cannot keep what a pause or a slow client leaves unused);
// the larger counts, times limitDecrease. With fewer than minSample
// requests to go on, the measure is taken between that count and the rate
// the 429 was met at (their geometric mean); with none at all, the rate is
// halved. At the first 429 there is less to go on: a Retry-After longer
// than limitWindow (a limit per minute) is the time to the server's next
// free request, so the rate starts at one request per Retry-After; a
// shorter one, or none, gives limitDecrease times the requests accepted in
// the limitWindow before it. Until the second 429 the rate then doubles
// every probeDoubling while requests wait for it, since a Retry-After can
// also be the time to the end of a fixed window, after which the whole
// budget is back. After the second 429, each accepted answer to a request
// that waited for its slot raises the rate by limitGrowth, up to
// limitCeiling times the rate the last 429 was met at, so that the client
// runs just under a limit it has found instead of meeting it again and
// again; the ceiling itself rises by ceilingGrowth, to find a limit that
// was raised. A new rate is never above limitDecrease times the one before.
// A 429 without a Retry-After pauses the requests for a second at least,
// or an interval of the rate when that is longer: the backoff's shorter
// waits would only meet more 429s.
type limiter struct {
	mu       sync.Mutex
	rate     float64       // allowed requests per second; 0 means no limit yet
	next     time.Time     // earliest start of the next request when rate > 0
	pacedTo  time.Time     // the latest start the rate delayed
	pausedTo time.Time     // no request starts before this
	cutAt    time.Time     // when the last episode of 429s began
	pending  bool          // the rate is to be cut, at cutAt, when the pause ends
	longest  time.Duration // the longest Retry-After of the pending episode
	accepted []time.Time   // send times of recent accepted requests, until anchor is set
	pruneAt  int           // prune accepted when it grows to this length
	anchor   time.Time     // the first 429: the server's budget was empty then
	since    int           // accepted requests sent after anchor
	probing  bool          // between the first cut and the second
	grownAt  time.Time     // when a start last raised (or could have raised) the rate
	cuts     int           // times the rate was set or cut
	ceiling  float64       // growth stops here; 0 before the second 429
	winFrom  time.Time     // when the last pause ended
	winN     int           // accepted requests sent since winFrom
	paused   int           // 429s that paused the client

	quota     quota       // the budget the server last announced
	announced bool        // an answer carried rate-limit headers
	starts    []time.Time // start times of the last maxStarts requests
	noted     bool        // the announced budget delayed a request
	note      string      // what it announced then, until takeNote
}

// paced reports whether an answer announced a budget, which then paces the
// requests instead of an adaptive rate.
func (l *limiter) paced() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.announced
}

// takeNote returns, once, what the server announced when its budget first
// delayed a request; "" otherwise.
func (l *limiter) takeNote() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.note
	l.note = ""
	return n
}

// wait blocks until the next request may start: after any pause, at the
// next free slot of the rate, and within the announced budget. ready is a
// time the caller already waited for (the end of its own Retry-After), so
// that a sleep that did not take real time (tests) does not count twice. It
// returns the time the request was allowed to start.
func (l *limiter) wait(ctx context.Context, sleep func(context.Context, time.Duration) error, ready time.Time) (time.Time, error) {
	asked := time.Time{}
	for {
		now := time.Now()
		if ready.After(now) {
			now = ready
		}
		if asked.IsZero() {
			asked = now
		}
		at, ok := l.start(now, asked)
		if ok {
			return at, nil
		}
		if deadline, has := ctx.Deadline(); has && at.After(deadline) && ctx.Err() == nil {
			return time.Time{}, &pastDeadline{wait: at.Sub(now), left: time.Until(deadline)}
		}
		if err := sleep(ctx, at.Sub(now)); err != nil {
			return time.Time{}, err
		}
		ready = at
	}
}

// pastDeadline: the limiter would start a request only after the
// context's deadline, so it fails at once instead of waiting.
type pastDeadline struct{ wait, left time.Duration }

func (e *pastDeadline) Error() string {
	return fmt.Sprintf("rate limited: the next request may start in %s, past the deadline (%s left)",
		e.wait.Round(time.Second), e.left.Round(time.Second))
}

// start books a request that asked to start at asked, when the pause, the
// rate and the announced budget let it start at now; otherwise it books
// nothing and returns the earliest time they allow. Nothing is booked ahead:
// what changes while a request waits (a 429, a newer budget) applies to it.
func (l *limiter) start(now, asked time.Time) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pending && !now.Before(l.pausedTo) {
		l.cut()
	}
	at := now
	if l.pausedTo.After(at) {
		at = l.pausedTo
	}
	if l.rate > 0 && l.next.After(at) {
		at = l.next
	}
	if q := l.quota.earliest(at); q.After(at) {
		at = q
		if !l.noted {
			l.noted, l.note = true, l.quota.describe(now)
		}
	}
	if at.After(now) {
		return at, false
	}
	if l.rate > 0 {
		if l.next.After(asked) {
			l.pacedTo = now
			if l.probing {
				l.rate *= math.Exp2(now.Sub(l.grownAt).Seconds() / probeDoubling.Seconds())
			}
		}
		l.grownAt = now
		l.next = now.Add(time.Duration(float64(time.Second) / l.rate))
	}
	l.quota.book(now)
	if len(l.starts) >= maxStarts {
		l.starts = append(l.starts[:0], l.starts[len(l.starts)-maxStarts/2:]...)
	}
	l.starts = append(l.starts, now)
	return now, true
}

// accept notes an answer other than 429 to a request sent at sent, and
// raises a limited rate when the request had to wait for its slot.
func (l *limiter) accept(sent time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.winFrom.IsZero() && !sent.Before(l.winFrom) {
		l.winN++
	}
	if !l.anchor.IsZero() {
		if sent.After(l.anchor) {
			l.since++
		}
	} else {
		l.accepted = append(l.accepted, sent)
		if len(l.accepted) >= max(maxAccepted, l.pruneAt) {
			l.prune(sent)
			l.pruneAt = 2 * len(l.accepted)
		}
	}
	if l.rate > 0 && !l.probing && !sent.After(l.pacedTo) {
		l.rate *= 1 + limitGrowth
		if l.ceiling > 0 {
			l.ceiling *= 1 + ceilingGrowth
			l.rate = min(l.rate, max(l.ceiling, l.rate/(1+limitGrowth)))
		}
	}
}

// throttle notes a 429, received at now, to a request sent at sent, whose
// Retry-After was retryAfter (0 when it gave none): every request waits
// until now+pause, and a new episode begins unless the request was sent
// before the current one began (one cut per episode, however many requests
// were in flight). It returns the end of the pause.
func (l *limiter) throttle(now, sent time.Time, pause, retryAfter time.Duration) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.paused++
	if retryAfter <= 0 && !l.announced {
		// Without a Retry-After, the server's next free request is a
		// second away, or an interval of a slower rate: a shorter pause
		// (the backoff's) meets another 429.
		least := limitWindow
		if l.rate > 0 {
			least = max(least, time.Duration(float64(time.Second)/l.rate))
		}
		pause = max(pause, least)
	}
	if end := now.Add(pause); end.After(l.pausedTo) {
		l.pausedTo = end
	}
	if l.announced {
		return l.pausedTo // the announced budget paces the requests
	}
	if !sent.Before(l.cutAt) && !l.pending {
		l.cutAt, l.pending, l.longest = now, true, 0
	}
	if l.pending {
		l.longest = max(l.longest, retryAfter)
	}
	return l.pausedTo
}

// announce reads the rate-limit headers of an answer, received at now, to
// a request sent at sent. The requests started after sent may not be in the
// budget it announces yet, so they count against it.
func (l *limiter) announce(sent, now time.Time, h http.Header) {
	q, ok := parseQuota(h, now)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.starts {
		if s.After(sent) {
			q.started++
		}
	}
	l.quota.set(q)
	l.announced = true
}

// maxAccepted is how many send times accept keeps, at least, before it
// prunes.
const maxAccepted = 1024

// prune drops the send times that no cut can count any more: those before
// the window before the pending episode, or before the window before
// latest. The caller holds mu.
func (l *limiter) prune(latest time.Time) {
	from := latest.Add(-limitWindow)
	if l.pending && l.cutAt.Add(-limitWindow).Before(from) {
		from = l.cutAt.Add(-limitWindow)
	}
	kept := l.accepted[:0]
	for _, s := range l.accepted {
		if s.After(from) {
			kept = append(kept, s)
		}
	}
	l.accepted = kept
}

// cut sets the rate for the episode that began at cutAt, never above
// limitDecrease times the current rate. The first episode anchors the
// estimate (see limiter). The caller holds mu.
func (l *limiter) cut() {
	var est float64
	switch d := l.cutAt.Sub(l.anchor); {
	case l.anchor.IsZero():
		if l.longest > limitWindow {
			est = 1 / l.longest.Seconds()
		} else {
			from, n := l.cutAt.Add(-limitWindow), 0
			for _, s := range l.accepted {
				if s.After(from) && !s.After(l.cutAt) {
					n++
				}
			}
			est = limitDecrease * float64(n) / limitWindow.Seconds()
		}
		l.anchor, l.since = l.cutAt, 0
		for _, s := range l.accepted {
			if s.After(l.anchor) {
				l.since++
			}
		}
		l.accepted, l.pruneAt = nil, 0
		l.probing = true
	case l.since == 0 || d <= 0:
		// Nothing was accepted since the first 429 (pauses too short for
		// the server's next free request): halve the rate and probe on.
		est = l.rate / 2
	default:
		// The server's budget was empty at the first 429 and is again:
		// what it accepted in between is its rate. Since the last pause
		// alone the count is not diluted by a slow start (nor by tokens a
		// small bucket could not keep), once that window is long enough.
		// Resting on few requests, the estimate is taken between that count
		// and the rate the 429 was met at, which was too high.
		rate := float64(l.since) / d.Seconds()
		if w := l.cutAt.Sub(l.winFrom); !l.winFrom.IsZero() && w >= minWindow {
			rate = max(rate, float64(l.winN)/w.Seconds())
		}
		if l.since < minSample && l.rate > 0 {
			rate = math.Sqrt(rate * l.rate)
		}
		est = limitDecrease * rate
		l.ceiling = limitCeiling * l.rate
		l.probing = false
	}
	if l.rate > 0 {
		est = min(est, limitDecrease*l.rate)
	}
	l.rate = max(minRate, est)
	l.winFrom, l.winN = l.pausedTo, 0
	l.pending = false
	l.cuts++
}

// limitState is a snapshot of the limiter for logs and tests.
type limitState struct {
	rate         float64
	cuts, paused int
}

func (l *limiter) state() limitState {
	l.mu.Lock()
	defer l.mu.Unlock()
	return limitState{rate: l.rate, cuts: l.cuts, paused: l.paused}
}
