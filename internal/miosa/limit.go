package miosa

import (
	"context"
	"sync"
	"time"
)

// Shape of the adaptive rate limit.
const (
	// limitWindow is how far back the limiter counts the answers the server
	// accepted when it estimates the server's rate.
	limitWindow = time.Second
	// limitDecrease multiplies the allowed rate on a 429.
	limitDecrease = 0.9
	// limitIncrease is the share of the allowed rate added per second of
	// answers without a 429 (at least minIncrease requests per second).
	limitIncrease = 0.05
	minIncrease   = 1.0
	// minRate is the lowest allowed rate, in requests per second.
	minRate = 0.5
)

// limiter is the flow control every request of one Client goes through. It
// starts without a limit. A 429 pauses all requests until the Retry-After
// has passed, not only the one that got it, and then sets (or cuts) an
// allowed request rate: limitDecrease times the number of requests sent in
// the limitWindow before the 429 that the server accepted. The rate is set
// when the pause ends, so that the requests in flight at the 429 have been
// answered and count. Each answer without a 429 raises the rate again,
// additively, so that the client settles just under the server's limit
// instead of meeting it with bursts of 429s.
type limiter struct {
	mu       sync.Mutex
	rate     float64     // allowed requests per second; 0 means no limit yet
	next     time.Time   // earliest start of the next request when rate > 0
	pausedTo time.Time   // no request starts before this
	cutAt    time.Time   // when the last episode of 429s began
	pending  bool        // the rate is to be cut, at cutAt, when the pause ends
	accepted []time.Time // send times of recent requests answered other than 429, in arrival order
	pruneAt  int         // prune accepted when it grows to this length
	cuts     int         // times the rate was cut
	paused   int         // 429s that paused the client
}

// wait blocks until the next request may start: after any pause and, once
// the rate is limited, at the next free slot. ready is a time the caller
// already waited for (the end of its own Retry-After), so that a sleep that
// did not take real time (tests) does not count twice. It returns the time
// the request was allowed to start.
func (l *limiter) wait(ctx context.Context, sleep func(context.Context, time.Duration) error, ready time.Time) (time.Time, error) {
	for {
		now := time.Now()
		if ready.After(now) {
			now = ready
		}
		l.mu.Lock()
		at := now
		if l.pausedTo.After(at) {
			at = l.pausedTo
		}
		if l.pending && !now.Before(l.pausedTo) {
			l.cut()
		}
		if l.rate > 0 {
			if l.next.After(at) {
				at = l.next
			}
			l.next = at.Add(time.Duration(float64(time.Second) / l.rate))
		}
		l.mu.Unlock()
		if !at.After(now) {
			return now, nil
		}
		if err := sleep(ctx, at.Sub(now)); err != nil {
			return time.Time{}, err
		}
		ready = at
		l.mu.Lock()
		again := l.pausedTo.After(at) || l.pending
		l.mu.Unlock()
		if !again {
			return at, nil
		}
	}
}

// accept notes an answer other than 429 to a request sent at sent, and
// raises a limited rate.
func (l *limiter) accept(sent time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.accepted = append(l.accepted, sent)
	if len(l.accepted) >= max(maxAccepted, l.pruneAt) {
		l.prune(sent)
		l.pruneAt = 2 * len(l.accepted)
	}
	if l.rate > 0 {
		l.rate += max(minIncrease, limitIncrease*l.rate) / l.rate
	}
}

// throttle notes a 429, received at now, to a request sent at sent: every
// request waits until now+pause, and a new episode begins unless the request
// was sent before the current one began (one cut per episode, however many
// requests were in flight). It returns the end of the pause.
func (l *limiter) throttle(now, sent time.Time, pause time.Duration) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.paused++
	if end := now.Add(pause); end.After(l.pausedTo) {
		l.pausedTo = end
	}
	if !sent.Before(l.cutAt) && !l.pending {
		l.cutAt, l.pending = now, true
	}
	return l.pausedTo
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

// cut sets the rate for the episode that began at cutAt: limitDecrease
// times the requests sent in the window before it that were accepted, and
// never more than limitDecrease times the current rate. The caller holds mu.
func (l *limiter) cut() {
	from := l.cutAt.Add(-limitWindow)
	n := 0
	for _, s := range l.accepted {
		if s.After(from) && !s.After(l.cutAt) {
			n++
		}
	}
	l.prune(l.cutAt)
	served := float64(n) / limitWindow.Seconds()
	if l.rate > 0 {
		served = min(served, l.rate)
	}
	l.rate = max(minRate, limitDecrease*served)
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
