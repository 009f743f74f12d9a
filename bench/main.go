package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/cli"
	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
)

// defaultConcurrency is the binary's default --concurrency, read from its
// help by build; the lower bound of the default run uses it.
var defaultConcurrency = 8

// concurrencyHelp finds the default in `apply --help`.
var concurrencyHelp = regexp.MustCompile(`-concurrency \S+\n[^\n]*\(default (\d+)\)`)

// config is what one bench run measures.
type config struct {
	files         int
	n             int
	latency       time.Duration
	buildDuration time.Duration
	pollInterval  time.Duration
	rateLimit     float64
	extraConc     int
	rlConc        int
	economyN      int
	economyLimit  float64
	requestsN     []int
	scaleN        []int
	bin           string
	keep          bool
	phases        map[string]bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := realMain(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func realMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c config
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quick := fs.Bool("quick", false, "scaled-down run (N=50, 5s builds, 2s polls, a 40/m economy limit), about 70 seconds")
	fs.IntVar(&c.files, "files", 1000, "template files for the offline validation phase")
	fs.IntVar(&c.n, "n", 200, "templates for the apply phases")
	fs.DurationVar(&c.latency, "latency", 50*time.Millisecond, "latency the emulator adds to every request")
	fs.DurationVar(&c.buildDuration, "build-duration", 20*time.Second, "how long each build takes in the wait phase")
	fs.DurationVar(&c.pollInterval, "poll-interval", 10*time.Second, "--poll-interval of the wait phase")
	fs.Float64Var(&c.rateLimit, "rate-limit", 20, "requests per second the emulator allows in the rate-limit phase")
	fs.IntVar(&c.extraConc, "extra-concurrency", 16, "also apply at this concurrency (0 = skip)")
	fs.IntVar(&c.rlConc, "rate-limit-concurrency", 0, "--concurrency of the rate-limit phase (0 = the default)")
	fs.IntVar(&c.economyN, "economy-n", 10, "templates for the request-economy phase")
	fs.Float64Var(&c.economyLimit, "economy-limit", 30, "requests per minute (and burst) the emulator allows in the request-economy phase's limited runs")
	fs.StringVar(&c.bin, "bin", "", "use this binary instead of building one")
	fs.BoolVar(&c.keep, "keep", false, "keep the temporary directory")
	requestsN := fs.String("requests-n", "10,1000", "comma-separated template counts of the requests-per-run phase")
	scaleN := fs.String("scale-n", "1000,10000", "comma-separated template file counts of the scale phase")
	phases := fs.String("phases", "1,2,3,4,5,6,7,8,9,10", "comma-separated phases to run (4 needs 2; 7 is measured in 2, 4, 5 and 6; 8 is request economy; 9 requests per run; 10 scale)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, f := range strings.Split(*requestsN, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("--requests-n: %q is not a positive count", f)
		}
		c.requestsN = append(c.requestsN, n)
	}
	var err error
	if c.scaleN, err = parseCounts(*scaleN); err != nil {
		return fmt.Errorf("--scale-n: %w", err)
	}
	if *quick {
		setDefault(fs, "n", func() { c.n = 50 })
		setDefault(fs, "build-duration", func() { c.buildDuration = 5 * time.Second })
		setDefault(fs, "poll-interval", func() { c.pollInterval = 2 * time.Second })
		setDefault(fs, "economy-limit", func() { c.economyLimit = 40 })
	}
	tmp, err := os.MkdirTemp("", "sandbox-templates-bench")
	if err != nil {
		return err
	}
	if !c.keep {
		defer os.RemoveAll(tmp)
	} else {
		fmt.Fprintln(stderr, "bench: keeping", tmp)
	}
	c.phases = map[string]bool{}
	for _, p := range strings.Split(*phases, ",") {
		c.phases[strings.TrimSpace(p)] = true
	}
	if c.phases["4"] {
		c.phases["2"] = true
	}
	b := &bench{cfg: c, tmp: tmp, log: stderr, started: time.Now()}
	if err := b.run(ctx); err != nil {
		return err
	}
	if _, err := io.WriteString(stdout, b.table()); err != nil {
		return err
	}
	return errors.Join(b.requestFailures(), b.scaleFailures())
}

// setDefault applies fn unless the flag name was set on the command line.
func setDefault(fs *flag.FlagSet, name string, fn func()) {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	if !set {
		fn()
	}
}

// bench holds the figures as the phases measure them.
type bench struct {
	cfg     config
	tmp     string
	log     io.Writer
	started time.Time
	binSize int64

	// 1. offline validation
	valWall              []time.Duration
	valRSS               int64
	valMallocs, valBytes uint64
	valInProc            time.Duration
	valCode              int

	// 2. apply of N new templates
	apply1, applyDef, applyExtra *runResult
	counts2                      map[string]int
	serial, perTemplate          int

	// 3. shell loop
	shell       *runResult
	shellCounts map[string]int

	// 4. no-op re-runs
	noops []noopRun

	// 5. wait
	wait       *runResult
	waitCounts map[string]int
	waitStart  time.Time
	lastFinish time.Time
	waitFailed int
	waitStatus string

	// 6. rate limit
	rl                *runResult
	rlCounts          map[string]int
	rl429, rlFailures int
	rlStatus          string

	// 8. request economy
	economy *economy

	// 9. requests per run
	requests []reqRun
	scale    []scaleRun

	// 7. start-up
	firstReq    []time.Duration
	firstReqOne []time.Duration // apply of a single template
	version     []time.Duration // `version`: start and exit of the process
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "[%5.1fs] %s\n", time.Since(b.started).Seconds(), fmt.Sprintf(format, args...))
}

func (b *bench) run(ctx context.Context) error {
	if err := b.build(ctx); err != nil {
		return err
	}
	steps := []struct {
		phase, name string
		fn          func(context.Context) error
	}{
		{"1", "offline validation", b.validation},
		{"2", "apply", b.apply},
		{"3", "shell loop", b.shellLoop},
		{"5", "wait", b.waitPhase},
		{"6", "rate limit", b.rateLimited},
		{"7", "start-up", b.startup},
		{"8", "request economy", b.economyPhase},
		{"9", "requests per run", b.requestsPhase},
		{"10", "scale", b.scalePhase},
	}
	for _, s := range steps {
		if !b.cfg.phases[s.phase] {
			continue
		}
		if err := s.fn(ctx); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return nil
}

// build builds the binary once, as a user's workflow gets it.
func (b *bench) build(ctx context.Context) error {
	if b.cfg.bin == "" {
		b.cfg.bin = filepath.Join(b.tmp, "sandbox-templates")
		b.logf("building %s", b.cfg.bin)
		cmd := exec.CommandContext(ctx, "go", "build", "-o", b.cfg.bin, ".")
		cmd.Stdout, cmd.Stderr = b.log, b.log
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build (run the bench from the module root): %w", err)
		}
	}
	st, err := os.Stat(b.cfg.bin)
	if err != nil {
		return err
	}
	b.binSize = st.Size()
	help, err := run(ctx, b.tmp, nil, b.cfg.bin, "apply", "--help")
	if err != nil {
		return err
	}
	m := concurrencyHelp.FindStringSubmatch(help.Stdout + help.Stderr)
	if m == nil {
		return fmt.Errorf("no default --concurrency in `apply --help`")
	}
	defaultConcurrency, _ = strconv.Atoi(m[1])
	return nil
}

// validation: offline validation of cfg.files generated files, as a
// subprocess (wall time, peak RSS) and in process (allocations).
func (b *bench) validation(ctx context.Context) error {
	dir := filepath.Join(b.tmp, "validate")
	if err := writeWorkspace(dir, "val", b.cfg.files); err != nil {
		return err
	}
	b.logf("validate: %d files", b.cfg.files)
	for range 3 {
		res, err := run(ctx, dir, nil, b.cfg.bin, "validate", "--dir", dir)
		if err != nil {
			return err
		}
		if res.Code != 0 {
			return fmt.Errorf("validate exited %d: %s", res.Code, lastLines(res.Stdout+res.Stderr, 5))
		}
		b.valWall = append(b.valWall, res.Wall)
		b.valRSS = max(b.valRSS, res.MaxRSSKiB)
	}
	// Allocations: the same command in this process.
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	b.valCode = cli.Main(ctx, []string{"validate", "--dir", dir}, io.Discard, io.Discard, func(string) string { return "" })
	b.valInProc = time.Since(start)
	runtime.ReadMemStats(&after)
	b.valMallocs, b.valBytes = after.Mallocs-before.Mallocs, after.TotalAlloc-before.TotalAlloc
	return nil
}

// newEmu starts an emulator with the bench's latency.
func (b *bench) newEmu(configure func(*emulator.Options), wrap func(http.Handler) http.Handler) (*emu, error) {
	opts := emulator.NewOptions()
	opts.Faults.Latency = b.cfg.latency
	opts.BuildDuration = 2 * time.Second
	opts.RequestLogSize = 1
	if configure != nil {
		configure(&opts)
	}
	return startEmu(opts, wrap)
}

// applyOnce applies the workspace dir to a fresh emulator (or e when not nil).
func (b *bench) applyOnce(ctx context.Context, e *emu, dir string, conc int) (*runResult, map[string]int, error) {
	before := e.Counters()
	e.resetFirst()
	res, out, err := runApply(ctx, b.cfg.bin, applyArgs{dir: dir, url: e.URL, commit: benchCommit, concurrency: conc})
	if err != nil {
		return nil, nil, err
	}
	if res.Code != 0 || out.Status != "success" {
		return nil, nil, fmt.Errorf("apply (concurrency %d) ended %s, exit %d: %v", conc, out.Status, res.Code, out.Problems)
	}
	b.noteFirst(e, res)
	return res, diff(before, e.Counters()), nil
}

// noteFirst records the time from the start of res to e's first request.
func (b *bench) noteFirst(e *emu, res *runResult) {
	if first := e.firstRequest(); !first.IsZero() {
		b.firstReq = append(b.firstReq, first.Sub(res.Start))
	}
}

// benchCommit is the commit the apply runs derive idempotency keys from.
const benchCommit = "0123456789abcdef0123456789abcdef01234567"

// apply: N new templates at concurrency 1, the default and cfg.extraConc;
// then the no-op re-run of the default run.
func (b *bench) apply(ctx context.Context) error {
	dir := filepath.Join(b.tmp, "apply")
	if err := writeWorkspace(dir, "bench", b.cfg.n); err != nil {
		return err
	}
	concs := []int{1, 0}
	if b.cfg.extraConc > 0 {
		concs = append(concs, b.cfg.extraConc)
	}
	var keep *emu
	for _, conc := range concs {
		e, err := b.newEmu(nil, nil)
		if err != nil {
			return err
		}
		b.logf("apply: %d new templates, concurrency %s, latency %s", b.cfg.n, concName(conc), b.cfg.latency)
		res, counts, err := b.applyOnce(ctx, e, dir, conc)
		if err != nil {
			e.close()
			return err
		}
		b.logf("  %s, requests %v", res.Wall.Round(time.Millisecond), counts)
		switch conc {
		case 1:
			b.apply1 = res
			e.close()
		case 0:
			b.applyDef, b.counts2, keep = res, counts, e
		default:
			b.applyExtra = res
			e.close()
		}
	}
	defer keep.close()
	// Once per run, one after the other: schema, list, and the validate
	// of each distinct size that gives the server's defaults (the
	// validates beyond one per template).
	b.serial = b.counts2["schema"] + b.counts2["list"] + max(0, b.counts2["validate"]-b.cfg.n)
	b.perTemplate = int(math.Round(float64(total(b.counts2)-b.serial) / float64(b.cfg.n)))

	if !b.cfg.phases["4"] {
		return nil
	}
	// Re-runs through the action's interface: a new workflow run at the same
	// commit (attempt 1) and a re-run of the same workflow run (attempt 2).
	for _, attempt := range []int{1, 2} {
		b.logf("no-op re-run of the default run as the action, GITHUB_RUN_ATTEMPT=%d", attempt)
		before := keep.Counters()
		keep.resetFirst()
		res, status, err := runAsAction(ctx, b.cfg.bin, dir, actionRun{url: keep.URL, commit: benchCommit, attempt: attempt})
		if err != nil {
			return err
		}
		if res.Code != 0 || status != "success" {
			return fmt.Errorf("re-run ended %q, exit %d: %s", status, res.Code, lastLines(res.Stdout, 5))
		}
		b.noteFirst(keep, res)
		after := keep.Counters()
		nr := noopRun{attempt: attempt, res: res, counts: diff(before, after), writes: after.Writes - before.Writes}
		b.noops = append(b.noops, nr)
		b.logf("  %s, requests %v, writes %d", res.Wall.Round(time.Millisecond), nr.counts, nr.writes)
	}
	return nil
}

// noopRun is one no-op re-run.
type noopRun struct {
	attempt int
	res     *runResult
	counts  map[string]int
	writes  int
}

func concName(c int) string {
	if c == 0 {
		return fmt.Sprintf("default (%d)", defaultConcurrency)
	}
	return fmt.Sprint(c)
}

// shellLoop runs scripts/bench-shell-loop.sh for the same N templates.
func (b *bench) shellLoop(ctx context.Context) error {
	bodies := filepath.Join(b.tmp, "bodies")
	if err := writeBodies(bodies, "bench", b.cfg.n); err != nil {
		return err
	}
	e, err := b.newEmu(nil, nil)
	if err != nil {
		return err
	}
	defer e.close()
	script, err := filepath.Abs(filepath.Join("scripts", "bench-shell-loop.sh"))
	if err != nil {
		return err
	}
	b.logf("shell loop: %d templates", b.cfg.n)
	res, err := run(ctx, b.tmp, []string{"MIOSA_API_KEY=" + benchKey}, "bash", script, e.URL, bodies)
	if err != nil {
		return err
	}
	if res.Code != 0 {
		return fmt.Errorf("shell loop exited %d: %s", res.Code, lastLines(res.Stderr, 5))
	}
	b.shell, b.shellCounts = res, diff(emulator.Counters{}, e.Counters())
	b.logf("  %s, requests %v", res.Wall.Round(time.Millisecond), b.shellCounts)
	return nil
}

// waitPhase applies N templates whose builds take cfg.buildDuration and
// waits for them.
func (b *bench) waitPhase(ctx context.Context) error {
	dir := filepath.Join(b.tmp, "wait")
	if err := writeWorkspace(dir, "wait", b.cfg.n); err != nil {
		return err
	}
	// The plan lists the templates once; the second list is the first poll.
	w := &nthOf{path: "/api/v1/sandbox-templates", n: 2}
	e, err := b.newEmu(func(o *emulator.Options) { o.BuildDuration = b.cfg.buildDuration }, w.wrap)
	if err != nil {
		return err
	}
	defer e.close()
	b.logf("wait: %d templates, builds of %s, --poll-interval %s", b.cfg.n, b.cfg.buildDuration, b.cfg.pollInterval)
	res, out, err := runApply(ctx, b.cfg.bin, applyArgs{dir: dir, url: e.URL, commit: benchCommit, wait: true, pollInterval: b.cfg.pollInterval})
	if err != nil {
		return err
	}
	b.noteFirst(e, res)
	b.wait, b.waitCounts, b.waitStatus, b.waitStart = res, diff(emulator.Counters{}, e.Counters()), out.Status, w.when()
	for _, bd := range out.Builds {
		if bd.State != "ready" {
			b.waitFailed++
		}
		fin, err := e.buildFinished(bd.BuildID)
		if err != nil {
			return err
		}
		if fin.After(b.lastFinish) {
			b.lastFinish = fin
		}
	}
	b.logf("  %s, status %s, requests %v", res.Wall.Round(time.Millisecond), out.Status, b.waitCounts)
	return nil
}

// rateLimited syncs N templates against an emulator that allows
// cfg.rateLimit requests per second and answers 429 with Retry-After beyond.
func (b *bench) rateLimited(ctx context.Context) error {
	dir := filepath.Join(b.tmp, "ratelimit")
	if err := writeWorkspace(dir, "rl", b.cfg.n); err != nil {
		return err
	}
	e, err := b.newEmu(func(o *emulator.Options) { o.RateLimit = b.cfg.rateLimit }, nil)
	if err != nil {
		return err
	}
	defer e.close()
	b.logf("rate limit: %d templates at %g requests/s", b.cfg.n, b.cfg.rateLimit)
	res, out, err := runApply(ctx, b.cfg.bin, applyArgs{dir: dir, url: e.URL, commit: benchCommit, concurrency: b.cfg.rlConc})
	if err != nil {
		return err
	}
	b.noteFirst(e, res)
	c := e.Counters()
	b.rl, b.rlCounts, b.rl429, b.rlStatus = res, diff(emulator.Counters{}, c), c.RateLimited, out.Status
	got := 0
	for _, bd := range out.Builds {
		if bd.BuildID != "" {
			got++
		}
	}
	b.rlFailures = b.cfg.n - got
	if res.Code != 0 && b.rlFailures == 0 {
		b.rlFailures = max(1, len(out.Problems))
	}
	b.logf("  %s, status %s, 429s %d, requests %v", res.Wall.Round(time.Millisecond), out.Status, b.rl429, b.rlCounts)
	return nil
}

// startup measures the process alone (`version`) and the time to the first
// request of an apply of one template, which has almost no files to read
// before it.
func (b *bench) startup(ctx context.Context) error {
	for range 5 {
		res, err := run(ctx, b.tmp, nil, b.cfg.bin, "version")
		if err != nil {
			return err
		}
		b.version = append(b.version, res.Wall)
	}
	dir := filepath.Join(b.tmp, "one")
	if err := writeWorkspace(dir, "one", 1); err != nil {
		return err
	}
	e, err := b.newEmu(nil, nil)
	if err != nil {
		return err
	}
	defer e.close()
	b.logf("start-up: `version` and apply of one template")
	for range 5 {
		e.resetFirst()
		res, _, err := runApply(ctx, b.cfg.bin, applyArgs{dir: dir, url: e.URL, commit: benchCommit})
		if err != nil {
			return err
		}
		if first := e.firstRequest(); !first.IsZero() {
			b.firstReqOne = append(b.firstReqOne, first.Sub(res.Start))
		}
	}
	return nil
}

// ---- the table ----

func (b *bench) table() string {
	c := b.cfg
	var sb strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&sb, format, args...) }
	p("## sandbox-templates benchmark\n\n")
	p("Machine: %s, %d CPUs (nproc), %s, %s/%s. Date: %s. Binary: %s.\n\n",
		cpuModel(), runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH,
		b.started.UTC().Format("2006-01-02 15:04 MST"), mib(b.binSize))
	p("Emulator in the bench process on 127.0.0.1, %s latency per request; N = %d templates.\n\n", c.latency, c.n)
	p("| # | measurement | result | target | met |\n|---|---|---|---|---|\n")
	row := func(num, what, result, target string, met *bool) {
		m := ""
		if met != nil {
			m = "no"
			if *met {
				m = "yes"
			}
		}
		p("| %s | %s | %s | %s | %s |\n", num, what, result, target, m)
	}
	yes := func(v bool) *bool { return &v }

	if b.valWall != nil {
		b.table1(row, yes)
	}
	if b.applyDef != nil {
		b.table2(row, yes)
	}
	if b.shell != nil && b.applyDef != nil {
		b.table3(row, yes)
	}
	if len(b.noops) > 0 {
		b.table4(row, yes)
	}
	if b.wait != nil {
		b.table5(row, yes)
	}
	if b.rl != nil {
		b.table6(row, yes)
	}
	if len(b.firstReq) > 0 {
		fr := median(b.firstReq)
		row("7", fmt.Sprintf("process start → first request, apply of N = %d (median of the apply runs)", b.cfg.n), fmt.Sprintf("%s (min %s, max %s, %d runs)", ms(fr), ms(slices.Min(b.firstReq)), ms(slices.Max(b.firstReq)), len(b.firstReq)), "< 50 ms", yes(fr < 50*time.Millisecond))
	}
	if len(b.firstReqOne) > 0 {
		fr := median(b.firstReqOne)
		row("7", "process start → first request, apply of 1 template (median of 5)", fmt.Sprintf("%s (min %s, max %s)", ms(fr), ms(slices.Min(b.firstReqOne)), ms(slices.Max(b.firstReqOne))), "< 50 ms", yes(fr < 50*time.Millisecond))
	}
	if len(b.version) > 0 {
		row("7", "`version`: process start → exit (median of 5)", ms(median(b.version)), "", nil)
	}
	row("7", "binary size", mib(b.binSize), "", nil)
	b.footnotes(p)
	if b.economy != nil {
		b.tableEconomy(p)
	}
	if len(b.requests) > 0 {
		b.tableRequests(p)
	}
	if len(b.scale) > 0 {
		b.tableScale(p)
	}
	return sb.String()
}

type rowFunc func(num, what, result, target string, met *bool)

func (b *bench) table1(row rowFunc, yes func(bool) *bool) {
	c := b.cfg
	med := median(b.valWall)
	row("1", fmt.Sprintf("offline `validate` of %d files: wall (median of 3 runs)", c.files), secs(med), "< 0.5 s", yes(med < 500*time.Millisecond))
	row("1", "  peak RSS (max of 3)", fmt.Sprintf("%.1f MiB", float64(b.valRSS)/1024), "", nil)
	row("1", "  allocations (same command in process)", fmt.Sprintf("%d allocs, %s, %s in process (exit %d)", b.valMallocs, mib(int64(b.valBytes)), secs(b.valInProc), b.valCode), "", nil)

}

func (b *bench) bound(conc int) time.Duration {
	return time.Duration(b.serial+ceilDiv(b.cfg.n, conc)*b.perTemplate) * b.cfg.latency
}

func (b *bench) table2(row rowFunc, yes func(bool) *bool) {
	c := b.cfg
	bound := b.bound
	bDef, b1 := bound(defaultConcurrency), bound(1)
	row("2", "`apply` N new, concurrency 1", fmt.Sprintf("%s (bound %s, %.2fx)", secs(b.apply1.Wall), secs(b1), ratio(b.apply1.Wall, b1)), "", nil)
	rDef := ratio(b.applyDef.Wall, bDef)
	row("2", fmt.Sprintf("`apply` N new, default concurrency %d", defaultConcurrency), secs(b.applyDef.Wall), "", nil)
	row("2", "  lower bound at the default ¹", fmt.Sprintf("%s = (%d + ⌈%d/%d⌉×%d) × %s", secs(bDef), b.serial, c.n, defaultConcurrency, b.perTemplate, c.latency), "", nil)
	row("2", "  default / bound", fmt.Sprintf("%.2fx", rDef), "≤ 1.3x", yes(rDef <= 1.3))
	row("2", "  concurrency 1 / default", fmt.Sprintf("%.1fx", ratio(b.apply1.Wall, b.applyDef.Wall)), "", nil)
	row("2", "  requests by kind (default run)", kinds(b.counts2), "", nil)
	if b.applyExtra != nil {
		bx := bound(c.extraConc)
		row("2", fmt.Sprintf("  for comparison: concurrency %d", c.extraConc), fmt.Sprintf("%s (bound %s, %.2fx)", secs(b.applyExtra.Wall), secs(bx), ratio(b.applyExtra.Wall, bx)), "", nil)
	}

}

func (b *bench) table3(row rowFunc, yes func(bool) *bool) {
	c := b.cfg
	rs := ratio(b.shell.Wall, b.applyDef.Wall)
	row("3", "bash+curl loop, same N (`scripts/bench-shell-loop.sh`)", fmt.Sprintf("%s; requests %s", secs(b.shell.Wall), kinds(b.shellCounts)), "", nil)
	row("3", "  shell loop / `apply` default", fmt.Sprintf("%.1fx", rs), "≥ 8x", yes(rs >= 8))
	shellBound := time.Duration(total(b.shellCounts)) * c.latency
	row("3", "  shell loop's own bound ² / `apply` bound at the default", fmt.Sprintf("%s / %s = %.1fx", secs(shellBound), secs(b.bound(defaultConcurrency)), ratio(shellBound, b.bound(defaultConcurrency))), "", nil)
	if b.applyExtra != nil {
		row("3", fmt.Sprintf("  shell loop / `apply` concurrency %d", c.extraConc), fmt.Sprintf("%.1fx", ratio(b.shell.Wall, b.applyExtra.Wall)), "", nil)
	}

}

func (b *bench) table4(row rowFunc, yes func(bool) *bool) {
	c := b.cfg
	for _, nr := range b.noops {
		reads := total(nr.counts) - nr.writes
		what := "no-op re-run as the action: new workflow run at the same commit (GITHUB_RUN_ATTEMPT=1)"
		if nr.attempt > 1 {
			what = fmt.Sprintf("no-op re-run as the action: re-run of the same workflow run (GITHUB_RUN_ATTEMPT=%d; the CLI reads the same)", nr.attempt)
		}
		row("4", what, fmt.Sprintf("%s; %d writes; %d reads: %s", secs(nr.res.Wall), nr.writes, reads, kinds(nr.counts)),
			fmt.Sprintf("0 writes, ≤ 3 + N = %d reads (schema, list, the defaults' validate)", 3+c.n), yes(nr.writes == 0 && reads <= 3+c.n))
	}
}

func (b *bench) table5(row rowFunc, yes func(bool) *bool) {
	c := b.cfg
	intervals := b.waitCounts["list"] - 1 // the plan lists once; every other list is one poll
	reads := b.waitCounts["get_build"] + b.waitCounts["list_builds"] - c.n
	waited := time.Duration(0)
	if !b.waitStart.IsZero() {
		waited = b.wait.End.Sub(b.waitStart)
	}
	lag := b.wait.End.Sub(b.lastFinish)
	row("5", fmt.Sprintf("`apply --wait`, N builds of %s, --poll-interval %s", c.buildDuration, c.pollInterval),
		fmt.Sprintf("%s, status %s, %d not ready; requests %s", secs(b.wait.Wall), b.waitStatus, b.waitFailed, kinds(b.waitCounts)), "", nil)
	row("5", "  requests while waiting", fmt.Sprintf("%d: %d polls (one list each) over %s, %d build reads (%.2f per build)",
		intervals+reads, intervals, secs(waited), reads, float64(reads)/float64(c.n)),
		fmt.Sprintf("≤ polls + 3 × builds = %d", intervals+3*c.n), yes(reads <= 3*c.n))
	row("5", "  last build finished → step ended", secs(lag), fmt.Sprintf("< %s", c.pollInterval), yes(lag < c.pollInterval))
}

func (b *bench) table6(row rowFunc, yes func(bool) *bool) {
	c := b.cfg
	accepted := total(b.rlCounts) - b.rl429
	thr := float64(accepted) / b.rl.Wall.Seconds()
	share := thr / c.rateLimit
	row("6", fmt.Sprintf("`apply` N new at a %g req/s limit (429 + Retry-After beyond), concurrency %s", c.rateLimit, concName(c.rlConc)),
		fmt.Sprintf("%s, status %s; %d accepted requests, %d answered 429", secs(b.rl.Wall), b.rlStatus, accepted, b.rl429), "", nil)
	row("6", "  failures", fmt.Sprint(b.rlFailures), "0", yes(b.rlFailures == 0))
	row("6", "  achieved throughput / limit", fmt.Sprintf("%.1f req/s = %.0f%%", thr, 100*share), "≥ 80%", yes(share >= 0.8))

}

func (b *bench) footnotes(p func(string, ...any)) {
	p("\n¹ Lower bound = (serial round trips + ⌈N/c⌉ × round trips per template) × latency. Serial: the requests made once per run, " +
		"one after the other (`schema`, `list`, and one `validate` per distinct size for the server's defaults). Per template: the requests each template needs in turn, counted from the default run's " +
		"requests by kind: `validate` in the validation pass, then `create` and the `list_builds` that adopts the build the server queued " +
		"(plus `create_build` when none appears). The validation pass ends before the first write, so with c workers each pass takes " +
		"⌈N/c⌉ rounds of its requests. Time spent in the process (start-up, YAML, schema) is not in the bound.\n")
	p("\n² The shell loop's requests are sequential: its bound is its request count × latency. The rest of its time is starting curl and jq " +
		"(3 curl and 2 jq processes per template).\n")
	p("\nRatios compare wall times of whole processes (start to exit) measured in this run.\n")
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return math.Inf(1)
	}
	return float64(a) / float64(b)
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// kinds renders requests by endpoint, sorted by name.
func kinds(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// cpuModel is the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}
