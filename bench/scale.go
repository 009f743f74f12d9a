package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
	"github.com/miosa-dev/sandbox-templates-action/internal/github/githubtest"
)

// Shape of the scale section.
const (
	scaleConcurrency = 64 // input concurrency of its runs
	scaleLatency     = 20 * time.Millisecond
	scaleRate        = 60        // requests per minute of the rate-limited case
	scaleRSSLimit    = 100 << 10 // KiB: the most a run may hold
	summaryLimit     = 1 << 20   // bytes: GitHub drops a larger job summary
	outputLimit      = 1 << 20   // bytes: GitHub's limit on one step output (1 MB)
	accountSize      = 10000     // templates already in the account
	historySize      = 10000     // builds of one template
	rateLimitedN     = 1000      // template files of the rate-limited case
	rateWallTarget   = time.Minute
	rateRatioTarget  = 1.3
)

// scaleRun is one row of the scale section.
type scaleRun struct {
	what      string
	n         int
	res       *runResult
	status    string
	floor     time.Duration
	miosa     map[string]int
	limited   int // answers 429
	github    int
	conns     int64
	summary   int
	outputs   map[string]int // bytes by output name
	badJSON   []string       // outputs that should be JSON and are not
	checks    []string       // targets missed
	rateFloor bool           // floor is the rate limit's, not the latency's
}

// scalePhase runs the action, as the runner does, at sizes far above the
// other sections': cfg.scaleN template files (all new, a no-op at a new
// commit, one file changed), 10 files in an account of 10,000 templates, a
// template with 10,000 builds, and one changed file of 1,000 under a limit
// of 60 requests a minute that the server does not announce.
func (b *bench) scalePhase(ctx context.Context) error {
	for _, n := range b.cfg.scaleN {
		if err := b.scaleFiles(ctx, n); err != nil {
			return fmt.Errorf("%d template files: %w", n, err)
		}
	}
	if err := b.scaleAccount(ctx); err != nil {
		return fmt.Errorf("account of %d templates: %w", accountSize, err)
	}
	if err := b.scaleHistory(ctx); err != nil {
		return fmt.Errorf("template with %d builds: %w", historySize, err)
	}
	if err := b.scaleRateLimited(ctx); err != nil {
		return fmt.Errorf("%d per minute: %w", scaleRate, err)
	}
	return nil
}

// scaleEnv is one emulator and one fake GitHub holding a workspace's
// history.
type scaleEnv struct {
	e   *emu
	gh  *githubtest.Server
	dir string
}

func (b *bench) newScaleEnv(name string, configure func(*emulator.Options)) (*scaleEnv, error) {
	opts := emulator.NewOptions()
	opts.BuildDuration = 0
	opts.RequestLogSize = 1
	opts.Faults.Latency = scaleLatency
	if configure != nil {
		configure(&opts)
	}
	e, err := startEmu(opts, nil)
	if err != nil {
		return nil, err
	}
	gh := githubtest.New(githubtest.Options{Repository: "bench/bench"})
	gh.SetToken(ghBenchToken)
	return &scaleEnv{e: e, gh: gh, dir: filepath.Join(b.tmp, name)}, nil
}

func (s *scaleEnv) close() { s.e.close(); s.gh.Close() }

// scaleFiles measures the three runs of n template files.
func (b *bench) scaleFiles(ctx context.Context, n int) error {
	s, err := b.newScaleEnv(fmt.Sprintf("scale-%d", n), nil)
	if err != nil {
		return err
	}
	defer s.close()
	if err := writeWorkspace(s.dir, "sc", n); err != nil {
		return err
	}
	for _, step := range []struct {
		what string
		edit func() error
		// writes is how many writes the run must make (-1: any)
		writes int
	}{
		{"all new", nil, -1},
		{"no-op at a new commit", nil, 0},
		{"one file changed", func() error { return changeTemplate(s.dir, "sc", n/2) }, 1},
	} {
		if step.edit != nil {
			if err := step.edit(); err != nil {
				return err
			}
		}
		before := s.e.Counters()
		r, err := b.scaleRun(ctx, s, step.what, n, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", step.what, err)
		}
		if w := s.e.Counters().Writes - before.Writes; step.writes >= 0 && w != step.writes {
			r.checks = append(r.checks, fmt.Sprintf("%d writes, want %d", w, step.writes))
		}
		b.scale = append(b.scale, r)
	}
	return nil
}

// scaleAccount measures 10 new template files, then a no-op, in an account
// that already holds 10,000 templates of other repositories.
func (b *bench) scaleAccount(ctx context.Context) error {
	s, err := b.newScaleEnv("scale-account", nil)
	if err != nil {
		return err
	}
	defer s.close()
	b.logf("scale: seeding %d templates", accountSize)
	for i := range accountSize {
		if _, err := s.e.SeedTemplate(emulator.TemplateSeed{Name: templateName("other", i), BuildSpec: templateSpec(i)}); err != nil {
			return err
		}
	}
	if err := writeWorkspace(s.dir, "acct", 10); err != nil {
		return err
	}
	for _, what := range []string{"10 new in an account of 10,000", "no-op in an account of 10,000"} {
		r, err := b.scaleRun(ctx, s, what, 10, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		r.checks = append(r.checks, rssCheck(r)...)
		b.scale = append(b.scale, r)
	}
	return nil
}

// scaleHistory measures a full read of a template with 10,000 builds, the
// newest of its file's spec, then one change to its file.
func (b *bench) scaleHistory(ctx context.Context) error {
	s, err := b.newScaleEnv("scale-history", nil)
	if err != nil {
		return err
	}
	defer s.close()
	name := templateName("hist", 0)
	if _, err := s.e.SeedTemplate(emulator.TemplateSeed{Name: name, BuildSpec: templateSpec(0),
		Description: "Generated template 0 for the benchmark", Metadata: map[string]any{"team": "bench"}}); err != nil {
		return err
	}
	for range historySize - 1 {
		if _, err := s.e.SeedBuild(name, emulator.BuildSeed{}); err != nil {
			return err
		}
	}
	if err := writeWorkspace(s.dir, "hist", 1); err != nil {
		return err
	}
	steps := []struct {
		what  string
		edit  func() error
		extra []string
	}{
		{"10,000 builds, full read", nil, []string{"INPUT_SCOPE=all"}},
		{"10,000 builds, file changed", func() error { return changeTemplate(s.dir, "hist", 0) }, []string{"INPUT_SCOPE=all"}},
	}
	for _, st := range steps {
		if st.edit != nil {
			if err := st.edit(); err != nil {
				return err
			}
		}
		r, err := b.scaleRun(ctx, s, st.what, 1, st.extra)
		if err != nil {
			return fmt.Errorf("%s: %w", st.what, err)
		}
		r.checks = append(r.checks, rssCheck(r)...)
		b.scale = append(b.scale, r)
	}
	return nil
}

// scaleRateLimited syncs 1,000 files without a limit, then measures a push
// that changes one of them under a limit of 60 requests a minute that the
// server enforces with 429s and never announces (a bucket of one request).
func (b *bench) scaleRateLimited(ctx context.Context) error {
	s, err := b.newScaleEnv("scale-rate", nil)
	if err != nil {
		return err
	}
	defer s.close()
	if err := writeWorkspace(s.dir, "rl", rateLimitedN); err != nil {
		return err
	}
	// The first sync and the run that sees its builds ready leave a
	// deployment whose every template serves its file.
	for _, what := range []string{"setup: all new", "setup: builds ready"} {
		if _, err := b.scaleRun(ctx, s, what, rateLimitedN, nil); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	if err := changeTemplate(s.dir, "rl", 7); err != nil {
		return err
	}
	s.e.Configure(func(o *emulator.Options) {
		o.RateLimit = scaleRate / 60.0
		o.RateBurst = 1
		o.RateLimitNoRetryAfter = false
		o.RateLimitHeaders = false
		o.Faults.Latency = 0
	})
	r, err := b.scaleRun(ctx, s, fmt.Sprintf("one of %d changed at %d/min", rateLimitedN, scaleRate), rateLimitedN, nil)
	if err != nil {
		return err
	}
	accepted := total(r.miosa) - r.limited // the emulator counts a request it answers 429 under its endpoint too
	r.floor = time.Duration(float64(accepted) / scaleRate * float64(time.Minute))
	r.rateFloor = true
	if r.res.Wall >= rateWallTarget {
		r.checks = append(r.checks, fmt.Sprintf("wall %s, want under %s", secs(r.res.Wall), secs(rateWallTarget)))
	}
	if q := ratio(r.res.Wall, r.floor); q > rateRatioTarget {
		r.checks = append(r.checks, fmt.Sprintf("%.2fx the floor, want at most %.1fx", q, rateRatioTarget))
	}
	b.scale = append(b.scale, r)
	return nil
}

// scaleRun pushes the workspace to main and runs the action at that commit
// with scope auto (unless extra says otherwise), measuring it.
func (b *bench) scaleRun(ctx context.Context, s *scaleEnv, what string, n int, extra []string) (scaleRun, error) {
	b.logf("scale: %s (N = %d)", what, n)
	files, err := treeOf(s.dir)
	if err != nil {
		return scaleRun{}, err
	}
	sha := s.gh.Push("main", files)
	before, ghBefore, connsBefore := s.e.Counters(), ghTotal(s.gh), s.e.conns.Load()
	r := scaleRun{what: what, n: n, outputs: map[string]int{}}
	var keepErr error
	res, status, err := runAsAction(ctx, b.cfg.bin, s.dir, actionRun{url: s.e.URL, commit: sha, attempt: 1,
		github: s.gh.URL(), token: ghBenchToken, concurrency: scaleConcurrency, extra: extra,
		keep: func(output, summary string) {
			if st, err := os.Stat(summary); err == nil {
				r.summary = int(st.Size())
			}
			keepErr = r.readOutputs(output)
		}})
	if err != nil {
		return r, err
	}
	if keepErr != nil {
		return r, keepErr
	}
	if res.Code != 0 || status != "success" {
		return r, fmt.Errorf("run ended %q, exit %d: %s", status, res.Code, lastLines(res.Stdout+res.Stderr, 5))
	}
	after := s.e.Counters()
	r.res, r.status = res, status
	r.miosa = diff(before, after)
	r.limited = after.RateLimited - before.RateLimited
	delete(r.miosa, "rate_limited")
	r.github = ghTotal(s.gh) - ghBefore
	r.conns = s.e.conns.Load() - connsBefore
	// The latency's floor: the list's pages and the schema one after the
	// other, then every other request spread over the workers.
	pages := r.miosa["list"]
	rest := max(0, total(r.miosa)-pages-1)
	r.floor = time.Duration(1+pages+ceilDiv(rest, scaleConcurrency)) * scaleLatency
	if r.summary >= summaryLimit {
		r.checks = append(r.checks, fmt.Sprintf("summary %d bytes, GitHub drops one over %d", r.summary, summaryLimit))
	}
	for name, size := range r.outputs {
		if size >= outputLimit {
			r.checks = append(r.checks, fmt.Sprintf("output %s %d bytes, GitHub's limit is %d", name, size, outputLimit))
		}
	}
	if len(r.badJSON) > 0 {
		r.checks = append(r.checks, "outputs not valid JSON: "+strings.Join(r.badJSON, ", "))
	}
	b.logf("  %s (floor %s), Miosa %d %v, 429s %d, GitHub %d, RSS %s, %d connections, summary %d B",
		res.Wall.Round(time.Millisecond), r.floor.Round(time.Millisecond), total(r.miosa), r.miosa, r.limited, r.github,
		mib(res.MaxRSSKiB<<10), r.conns, r.summary)
	return r, nil
}

// readOutputs reads a GITHUB_OUTPUT file: each output's size, and whether
// the ones that hold JSON parse.
func (r *scaleRun) readOutputs(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("action outputs: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var name, delim string
	var val strings.Builder
	for sc.Scan() {
		line := sc.Text()
		switch {
		case delim != "" && line == delim:
			r.output(name, val.String())
			name, delim = "", ""
			val.Reset()
		case delim != "":
			if val.Len() > 0 {
				val.WriteByte('\n')
			}
			val.WriteString(line)
		default:
			if n, d, ok := strings.Cut(line, "<<"); ok {
				name, delim = n, d
			} else if n, v, ok := strings.Cut(line, "="); ok {
				r.output(n, v)
			}
		}
	}
	return sc.Err()
}

func (r *scaleRun) output(name, val string) {
	r.outputs[name] = len(val)
	if strings.HasPrefix(val, "{") || strings.HasPrefix(val, "[") {
		if !json.Valid([]byte(val)) {
			r.badJSON = append(r.badJSON, name)
		}
	}
}

// largestOutput names the largest output and its size.
func (r scaleRun) largestOutput() string {
	var best string
	for name, size := range r.outputs {
		if best == "" || size > r.outputs[best] || size == r.outputs[best] && name < best {
			best = name
		}
	}
	if best == "" {
		return "none"
	}
	return fmt.Sprintf("%s %s", best, bytesText(r.outputs[best]))
}

// rssCheck is the memory target of a run.
func rssCheck(r scaleRun) []string {
	if r.res.MaxRSSKiB > scaleRSSLimit {
		return []string{fmt.Sprintf("peak RSS %s, want at most %s", mib(r.res.MaxRSSKiB<<10), mib(scaleRSSLimit<<10))}
	}
	return nil
}

// ghTotal is every request the fake GitHub has answered, deployments
// included.
func ghTotal(gh *githubtest.Server) int {
	c := gh.Counts()
	n := c.Repo + c.Commit + c.Contents + c.Tree + c.Compare + c.LatestRelease + c.List + c.Create + c.Update + c.Delete + c.Pull + c.User
	for _, op := range []githubtest.Op{githubtest.OpDeployments, githubtest.OpCreateDeployment, githubtest.OpStatuses, githubtest.OpCreateStatus} {
		n += gh.Count(op)
	}
	return n
}

// scaleFailures is an error naming every target a scale run missed.
func (b *bench) scaleFailures() error {
	var errs []error
	for _, r := range b.scale {
		for _, c := range r.checks {
			errs = append(errs, fmt.Errorf("scale: %s, N = %d: %s", r.what, r.n, c))
		}
	}
	return errors.Join(errs...)
}

// tableScale prints the scale section.
func (b *bench) tableScale(p func(string, ...any)) {
	p("\n### Scale: thousands of files, a large account, a long history, a per-minute limit\n\n")
	p("The action as the runner runs it (concurrency %d, scope auto unless said), against the emulator serving pages of 100 "+
		"with %s latency per request and builds of 0 s, and a fake GitHub that records deployments.\n\n", scaleConcurrency, ms(scaleLatency))
	p("| # | case | N | wall | floor | ratio | Miosa requests | 429s | GitHub | peak RSS | connections | summary | largest output | met |\n")
	p("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range b.scale {
		met := "yes"
		if len(r.checks) > 0 {
			met = "no: " + strings.Join(r.checks, "; ")
		}
		p("| 10 | %s | %d | %s | %s%s | %.2fx | %d: %s | %d | %d | %s | %d | %s | %s | %s |\n", r.what, r.n, secs(r.res.Wall),
			secs(r.floor), map[bool]string{true: " ³", false: ""}[r.rateFloor], ratio(r.res.Wall, r.floor), total(r.miosa), kinds(r.miosa),
			r.limited, r.github, mib(r.res.MaxRSSKiB<<10), r.conns, bytesText(r.summary), r.largestOutput(), met)
	}
	p("\nFloor: the list's pages and the schema one after the other, then the other requests spread over the %d workers, "+
		"each taking the latency. ³ Under the limit the floor is the accepted requests at %d a minute. Targets: the summary under "+
		"1 MiB and every output under 1 MB and valid JSON; at most 100 MiB peak RSS in the account of %d and the history of %d; "+
		"one changed file of %d under %d/min in under %s and within %.1fx its floor. The no-op runs must not write, a changed file "+
		"must write once. The bench exits 1 when a target is missed.\n", scaleConcurrency, scaleRate, accountSize, historySize,
		rateLimitedN, scaleRate, rateWallTarget, rateRatioTarget)
}

// bytesText renders a size in bytes the way the table reads best.
func bytesText(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// parseCounts reads a comma-separated list of positive counts.
func parseCounts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		var n int
		if _, err := fmt.Sscan(strings.TrimSpace(f), &n); err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive count", f)
		}
		out = append(out, n)
	}
	return slices.Compact(out), nil
}
