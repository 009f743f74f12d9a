package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
)

// Commits of the request-economy runs: the first applies the new templates,
// the second the same files, the third one changed file.
const (
	economyCommit1 = "1111111111111111111111111111111111111111"
	economyCommit2 = "2222222222222222222222222222222222222222"
	economyCommit3 = "3333333333333333333333333333333333333333"
)

// Shape of the request-economy phase's waits: builds of a few seconds,
// polled every second.
const (
	economyBuild = 4 * time.Second
	economyPoll  = time.Second
)

// economyRun is one apply of the request-economy phase.
type economyRun struct {
	res     *runResult
	status  string
	counts  map[string]int
	writes  int
	limited int // answered 429
}

// requests is every request the run made, those answered 429 included.
func (r economyRun) requests() int { return total(r.counts) }

// economy is what the request-economy phase measured.
type economy struct {
	n                   int
	created, noop, once economyRun
	wait                economyRun
	waitLag             time.Duration // last build finished → step ended
	limited             [2]economyRun // without and with rate-limit headers
}

// economyPhase measures what syncs cost in requests, by the emulator's
// counters, for cfg.economyN templates: new templates, a new commit with
// nothing changed, one changed, waiting for builds, and new templates with
// --wait under a per-minute limit, announced and not. The runs under a
// limit and the wait are mostly waiting, so they run at the same time.
func (b *bench) economyPhase(ctx context.Context) error {
	n := b.cfg.economyN
	ec := &economy{n: n}
	dir := filepath.Join(b.tmp, "economy")
	if err := writeWorkspace(dir, "eco", n); err != nil {
		return err
	}
	e, err := b.newEmu(nil, nil)
	if err != nil {
		return err
	}
	defer e.close()
	b.logf("request economy: %d templates: new, nothing changed, one changed", n)
	steps := []struct {
		commit string
		out    *economyRun
		edit   func() error
	}{
		{economyCommit1, &ec.created, nil},
		{economyCommit2, &ec.noop, nil},
		{economyCommit3, &ec.once, func() error { return changeTemplate(dir, "eco", 0) }},
	}
	for _, s := range steps {
		if s.edit != nil {
			if err := s.edit(); err != nil {
				return err
			}
		}
		run, err := b.economyApply(ctx, e, applyArgs{dir: dir, url: e.URL, commit: s.commit})
		if err != nil {
			return err
		}
		*s.out = run
		b.logf("  %s, requests %v, writes %d", run.res.Wall.Round(time.Millisecond), run.counts, run.writes)
	}

	b.logf("request economy: %d templates with --wait, builds of %s, --poll-interval %s; and under a %g/m limit, without and with rate-limit headers (at the same time)",
		n, economyBuild, economyPoll, b.cfg.economyLimit)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		errs = append(errs, err)
	}
	wg.Go(func() {
		run, lag, err := b.economyWait(ctx, n, nil, true)
		if err != nil {
			fail(fmt.Errorf("wait: %w", err))
			return
		}
		ec.wait, ec.waitLag = run, lag
	})
	for i, headers := range []bool{false, true} {
		wg.Go(func() {
			run, _, err := b.economyWait(ctx, n, func(o *emulator.Options) {
				o.RateLimit, o.RateBurst, o.RateLimitHeaders = b.cfg.economyLimit/60, int(b.cfg.economyLimit), headers
			}, false)
			if err != nil {
				fail(fmt.Errorf("rate limit (headers %t): %w", headers, err))
				return
			}
			ec.limited[i] = run
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return errs[0]
	}
	for _, r := range append([]economyRun{ec.wait}, ec.limited[:]...) {
		b.logf("  %s, status %s, %d answered 429, requests %v", r.res.Wall.Round(time.Millisecond), r.status, r.limited, r.counts)
	}
	b.economy = ec
	return nil
}

// economyApply runs one apply against e and returns what it cost.
func (b *bench) economyApply(ctx context.Context, e *emu, a applyArgs) (economyRun, error) {
	before := e.Counters()
	res, out, err := runApply(ctx, b.cfg.bin, a)
	if err != nil {
		return economyRun{}, err
	}
	if res.Code != 0 || out.Status != "success" {
		return economyRun{}, fmt.Errorf("apply at %s ended %s, exit %d: %v", a.commit[:7], out.Status, res.Code, out.Problems)
	}
	after := e.Counters()
	return economyRun{res: res, status: out.Status, counts: diff(before, after), writes: after.Writes - before.Writes,
		limited: after.RateLimited - before.RateLimited}, nil
}

// economyWait applies n new templates with --wait to a fresh emulator with
// economyBuild builds, configured further by configure, and returns what it
// cost and, when lag is set, the time from the last build's finish to the
// step's end (asking the emulator for the finish times costs requests of
// its rate limit, so a limited run does not).
func (b *bench) economyWait(ctx context.Context, n int, configure func(*emulator.Options), lag bool) (economyRun, time.Duration, error) {
	dir, err := os.MkdirTemp(b.tmp, "economy-wait")
	if err != nil {
		return economyRun{}, 0, err
	}
	if err := writeWorkspace(dir, "ecow", n); err != nil {
		return economyRun{}, 0, err
	}
	e, err := b.newEmu(func(o *emulator.Options) {
		o.BuildDuration = economyBuild
		if configure != nil {
			configure(o)
		}
	}, nil)
	if err != nil {
		return economyRun{}, 0, err
	}
	defer e.close()
	before := e.Counters()
	res, out, err := runApply(ctx, b.cfg.bin, applyArgs{dir: dir, url: e.URL, commit: economyCommit1, wait: true, pollInterval: economyPoll})
	if err != nil {
		return economyRun{}, 0, err
	}
	if res.Code != 0 || out.Status != "success" {
		return economyRun{}, 0, fmt.Errorf("apply --wait ended %s, exit %d: %v", out.Status, res.Code, out.Problems)
	}
	after := e.Counters()
	run := economyRun{res: res, status: out.Status, counts: diff(before, after), writes: after.Writes - before.Writes,
		limited: after.RateLimited - before.RateLimited}
	if !lag {
		return run, 0, nil
	}
	var last time.Time
	for _, bd := range out.Builds {
		fin, err := e.buildFinished(bd.BuildID)
		if err != nil {
			return economyRun{}, 0, err
		}
		if fin.After(last) {
			last = fin
		}
	}
	return run, res.End.Sub(last), nil
}

// tableEconomy prints the request-economy section: each row with its
// target, in requests by the emulator's counters.
func (b *bench) tableEconomy(p func(string, ...any)) {
	ec := b.economy
	n := ec.n
	p("\n### Request economy: what a sync costs in requests (N = %d templates)\n\n", n)
	p("A Miosa key may be limited per minute (`rate_limit_rpm: 60`), so requests are what a sync costs. " +
		"Counts are the emulator's, per endpoint; 429 answers count as requests.\n\n")
	p("| # | case | requests | target | met |\n|---|---|---|---|---|\n")
	row := func(what, result, target string, met bool) {
		m := "no"
		if met {
			m = "yes"
		}
		p("| 8 | %s | %s | %s | %s |\n", what, result, target, m)
	}
	// Per run: schema, list, and one validate per distinct size (the
	// server's defaults: one size here).
	c := ec.created
	perTemplate := float64(c.requests()-3) / float64(n)
	row("N new templates", fmt.Sprintf("%d = 3 + %.1f per template: %s", c.requests(), perTemplate, kinds(c.counts)),
		"≤ 3 per template (+ 3 per run)", c.requests() <= 3+3*n)
	row("nothing changed (new commit, same files)", fmt.Sprintf("%d, %d writes: %s", ec.noop.requests(), ec.noop.writes, kinds(ec.noop.counts)),
		fmt.Sprintf("≤ 3 + N = %d", 3+n), ec.noop.requests() <= 3+n)
	row("one changed of N", fmt.Sprintf("%d, %d write: %s", ec.once.requests(), ec.once.writes, kinds(ec.once.counts)),
		fmt.Sprintf("≤ 6 + N = %d (its validate, the get confirming it by slug, its build)", 6+n), ec.once.requests() <= 6+n)

	w := ec.wait
	intervals := w.counts["list"] - 1 // the plan lists once; every other list is one wait interval
	waiting := w.requests() - (2 + 3*n)
	row(fmt.Sprintf("waiting: N new with `--wait`, builds of %s, `--poll-interval %s`", economyBuild, economyPoll),
		fmt.Sprintf("%d while waiting (%d intervals, %d build reads) of %d: %s; last build finished → step ended %s",
			waiting, intervals, waiting-intervals, w.requests(), kinds(w.counts), secs(ec.waitLag)),
		fmt.Sprintf("≤ intervals + 3 × builds = %d", intervals+3*n), waiting <= intervals+3*n)

	rate := b.cfg.economyLimit / 60
	for i, what := range []string{"not announced (429 + Retry-After only)", "announced (X-RateLimit-* headers)"} {
		r := ec.limited[i]
		accepted := r.requests() - r.limited
		floor := time.Duration(float64(accepted) / rate * float64(time.Second))
		allowed := float64(defaultConcurrency) + 0.05*float64(r.requests())
		ratio := ratio(r.res.Wall, floor)
		row(fmt.Sprintf("N new with `--wait` under a %g/m limit, %s", b.cfg.economyLimit, what),
			fmt.Sprintf("%d requests, %d answered 429; wall %s, floor %s (%d accepted / %g per min) = %.2fx",
				r.requests(), r.limited, secs(r.res.Wall), secs(floor), accepted, b.cfg.economyLimit, ratio),
			fmt.Sprintf("429s ≤ concurrency + 5%% = %.1f; wall ≤ 1.3x floor", allowed),
			float64(r.limited) <= allowed && ratio <= 1.3)
	}
	p("\nThe limit is the emulator's token bucket: %g requests a minute, a burst of %g. "+
		"The floor is the accepted requests divided by the rate; a run can beat it, as the bucket starts full.\n", b.cfg.economyLimit, b.cfg.economyLimit)
}
