package e2e

// The reliability suite: the built binary against the emulator under
// crashes, lost responses, expired keys, fault bursts, a hostile server and a
// hostile repository, asserting from the emulator's own counters and state.
// Every case records its figures; with RELIABILITY_REPORT=path each figure is
// appended to that file as one JSON line (scripts/reliability sums them up).

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
)

// fiveTemplates is the repository of the kill-point sweep and most fault
// scenarios: five small templates, sorted by name.
var fiveTemplates = map[string]string{
	"sandbox-templates/alpha.yaml":  "build_spec:\n  from: node:22-bookworm\n  steps:\n    - run: npm ci\n",
	"sandbox-templates/bravo.yaml":  "description: Python\nbuild_spec:\n  from: python:3.12-slim\n  size: small\n",
	"sandbox-templates/charlie.yml": "build_spec:\n  runtime: go\n  version: \"1.23\"\n  packages: [git]\n",
	"sandbox-templates/delta.yaml":  "metadata:\n  team: data\nbuild_spec:\n  from: debian:bookworm\n  env:\n    LANG: C.UTF-8\n",
	"sandbox-templates/echo-1.yaml": "name: echo-1\nbuild_spec:\n  from: alpine:3.20\n  steps:\n    - run: apk add curl\n",
}

// fiveNames are the template names of fiveTemplates.
var fiveNames = []string{"alpha", "bravo", "charlie", "delta", "echo-1"}

// outputNames are every output the action writes; any other name in
// GITHUB_OUTPUT is an injected one.
var outputNames = []string{"status", "has-changes", "changes-count", "plan", "template-ids", "build-ids", "builds", "build-id", "changed-templates", "plan-file"}

const (
	shaA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	shaB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	// relKey is the API key of the reliability runs; the secrets scenario
	// uses its own canary.
	relKey = "msk_u_rel_5b0c8e1d2f3a4b6c7d9e0f1a"
)

// raiseParallel lets more parallel cases run at once than the default of
// GOMAXPROCS, unless -parallel was given: the cases mostly wait, on child
// processes and on the emulator's delays and deadlines, not on the CPU.
func raiseParallel() {
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if !given {
		_ = flag.Set("test.parallel", strconv.Itoa(max(16, 8*runtime.GOMAXPROCS(0))))
	}
}

// seeds are the emulator seeds the fault scenarios repeat over:
// RELIABILITY_SEEDS="1,2,3" or a count such as "10". The default is seed 1
// alone, so `go test ./...` stays fast; .ci/run sets three seeds.
func seeds(t *testing.T) []int64 {
	t.Helper()
	v := os.Getenv("RELIABILITY_SEEDS")
	if v == "" {
		return []int64{1}
	}
	if n, err := strconv.Atoi(v); err == nil && !strings.Contains(v, ",") {
		out := make([]int64, n)
		for i := range out {
			out[i] = int64(i + 1)
		}
		return out
	}
	var out []int64
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
		if err != nil {
			t.Fatalf("RELIABILITY_SEEDS=%q: %v", v, err)
		}
		out = append(out, n)
	}
	return out
}

// clientMetadata runs every reliability scenario against an emulator that
// keeps client metadata (RELIABILITY_CLIENT_METADATA=1), instead of the
// default that renders like Miosa's server (no template metadata, build
// metadata holding only the server's events). .ci/run runs both.
var clientMetadata = os.Getenv("RELIABILITY_CLIENT_METADATA") == "1"

// figure is what one case measured; it becomes one JSON line of the report.
type figure struct {
	Scenario        string `json:"scenario"`
	Case            string `json:"case"`
	Seed            int64  `json:"seed"`
	ClientMetadata  bool   `json:"client_metadata,omitempty"`
	Pass            bool   `json:"pass"`
	Skipped         bool   `json:"skipped,omitempty"`
	Runs            int    `json:"runs"`
	DupTemplates    int    `json:"dup_templates"`
	DupBuilds       int    `json:"dup_builds"`
	ConvergeChecked bool   `json:"converge_checked"`
	Converged       bool   `json:"converged"`
	LeakedSecrets   int    `json:"leaked_secrets"`
	InjectedOutputs int    `json:"injected_outputs"`
	// DeadlineMS and OverrunMS are set by the deadline scenarios: the run's
	// timeout input and how far past it the process ended (0 when within).
	DeadlineMS int64  `json:"deadline_ms,omitempty"`
	ElapsedMS  int64  `json:"elapsed_ms,omitempty"`
	OverrunMS  *int64 `json:"overrun_ms,omitempty"`
}

var reportMu sync.Mutex

// writeFigure appends f to $RELIABILITY_REPORT, when set.
func writeFigure(t *testing.T, f figure) {
	path := os.Getenv("RELIABILITY_REPORT")
	if path == "" {
		return
	}
	line, err := json.Marshal(f)
	if err != nil {
		t.Errorf("report: %v", err)
		return
	}
	reportMu.Lock()
	defer reportMu.Unlock()
	fh, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Errorf("report: %v", err)
		return
	}
	defer fh.Close()
	if _, err := fh.Write(append(line, '\n')); err != nil {
		t.Errorf("report: %v", err)
	}
}

// rcase is one case of a scenario: it runs the action, scans every run for
// leaked keys and injected outputs, and reports its figure when it ends.
type rcase struct {
	t    *testing.T
	fig  figure
	key  string
	emus []*emu
}

func newCase(t *testing.T, scenario string, seed int64) *rcase {
	t.Helper()
	c := &rcase{t: t, key: relKey, fig: figure{Scenario: scenario, Case: t.Name(), Seed: seed, ClientMetadata: clientMetadata}}
	t.Cleanup(func() {
		for _, e := range c.emus {
			c.scanRequests(e)
		}
		c.fig.Skipped = t.Skipped()
		c.fig.Pass = !t.Failed() && !t.Skipped()
		writeFigure(t, c.fig)
	})
	return c
}

// emulator starts an emulator with the case's seed whose request log is
// scanned for the key when the case ends.
func (c *rcase) emulator(configure func(*emulator.Options)) *emu {
	c.t.Helper()
	e := startEmulator(c.t, func(o *emulator.Options) {
		o.Seed = c.fig.Seed
		o.ClientMetadata = clientMetadata
		if configure != nil {
			configure(o)
		}
	})
	c.emus = append(c.emus, e)
	return e
}

// inputs are the API inputs for e with the case's key, plus more.
func (c *rcase) inputs(e *emu, more map[string]string) map[string]string {
	in := map[string]string{"api-key": c.key, "api-url": e.URL}
	for k, v := range more {
		in[k] = v
	}
	return in
}

// run runs the action to its end and scans what it wrote.
func (c *rcase) run(w *workspace, env, inputs map[string]string) step {
	c.t.Helper()
	s := runAction(c.t, w, env, inputs)
	c.scan(s)
	return s
}

// runKilledAt runs the action; k.hook, the emulator's OnHandled, SIGKILLs it
// right after the emulator handled its k.at-th API request, before the
// response is written.
func (c *rcase) runKilledAt(w *workspace, k *killer, env, inputs map[string]string) step {
	c.t.Helper()
	p := startAction(c.t.Context(), c.t, w, env, inputs)
	k.p = p
	close(k.ready)
	s := p.wait(c.t)
	close(k.exited)
	c.scan(s)
	return s
}

// killer SIGKILLs a started action from the emulator's OnHandled hook.
type killer struct {
	at     int
	p      *process
	ready  chan struct{} // closed once p is set
	exited chan struct{} // closed once p has exited
}

func newKiller(at int) *killer {
	return &killer{at: at, ready: make(chan struct{}), exited: make(chan struct{})}
}

func (k *killer) hook(rec emulator.RequestRecord) {
	if rec.Seq != k.at {
		return
	}
	<-k.ready
	_ = k.p.cmd.Process.Kill()
	<-k.exited
}

// scan counts leaked keys and injected outputs or workflow commands in one run.
func (c *rcase) scan(s step) {
	c.t.Helper()
	c.fig.Runs++
	if n := leaks(c.key, s); len(n) > 0 {
		c.fig.LeakedSecrets += len(n)
		c.t.Errorf("the API key leaked: %s", strings.Join(n, "; "))
	}
	if n := injections(c.key, s); len(n) > 0 {
		c.fig.InjectedOutputs += len(n)
		c.t.Errorf("injected outputs or workflow commands: %s", strings.Join(n, "; "))
	}
	if strings.Contains(s.Stderr, "panic:") || strings.Contains(s.Stderr, "goroutine ") {
		c.t.Errorf("the binary panicked:\n%s", s.Stderr)
	}
}

// scanRequests looks for the key in everything the emulator logged of the
// requests it received (paths, idempotency keys, bodies; the Authorization
// header is never logged).
func (c *rcase) scanRequests(e *emu) {
	c.t.Helper()
	for _, r := range e.Requests() {
		for _, n := range leakForms(c.key) {
			if strings.Contains(r.Path, n) || strings.Contains(r.Body, n) || strings.Contains(r.IdempotencyKey, n) {
				c.fig.LeakedSecrets++
				c.t.Errorf("request %d (%s %s) carries %q of the key outside the Authorization header", r.Seq, r.Method, r.Endpoint, n)
			}
		}
	}
}

// leaks lists where a form of key appears in what a run wrote. The mask
// command on the first line is the one place the key belongs: the runner
// consumes it.
func leaks(key string, s step) []string {
	stdout := strings.Replace(s.Stdout, "::add-mask::"+key+"\n", "", 1)
	var out []string
	for _, where := range []struct{ name, text string }{
		{"stdout", stdout}, {"stderr", s.Stderr}, {"GITHUB_OUTPUT", s.rawOut}, {"summary", s.Summary},
	} {
		for _, n := range leakForms(key) {
			if strings.Contains(where.text, n) {
				out = append(out, fmt.Sprintf("%s holds %q", where.name, n))
			}
		}
	}
	return out
}

// injections lists GITHUB_OUTPUT entries that are not the action's own
// outputs, and log lines that are workflow commands the action did not mean
// to issue (another add-mask than the key's and the GitHub token's, or a
// command smuggled in by server text).
func injections(key string, s step) []string {
	out := append([]string{}, s.OutputProblems...)
	for name := range s.Outputs {
		if !slices.Contains(outputNames, name) {
			out = append(out, fmt.Sprintf("GITHUB_OUTPUT has an unknown output %q", name))
		}
	}
	for i, line := range strings.Split(s.Stdout, "\n") {
		switch {
		case i == 0 && line == "::add-mask::"+key:
		case i <= 1 && line == "::add-mask::"+ghToken: // the github-token input, masked next
		case strings.HasPrefix(line, "::add-mask::"), strings.HasPrefix(line, "::set-output"),
			strings.HasPrefix(line, "::stop-commands"), strings.HasPrefix(line, "::save-state"),
			strings.HasPrefix(line, "::error::hostile-id"):
			out = append(out, fmt.Sprintf("log line %d is a workflow command: %q", i+1, line))
		}
	}
	return out
}

// remote checks the emulator's state against the repository's names: each
// name one template with exactly wantBuilds builds. It fails the case on a
// difference and adds the duplicates to the case's figure.
func (c *rcase) remote(e *emu, names []string, wantBuilds int) (dupTemplates, dupBuilds int) {
	c.t.Helper()
	dupTemplates, dupBuilds, problems := c.countRemote(e, names, wantBuilds)
	for _, p := range problems {
		c.t.Error(p)
	}
	return dupTemplates, dupBuilds
}

// countRemote is remote without failing the case.
func (c *rcase) countRemote(e *emu, names []string, wantBuilds int) (dupTemplates, dupBuilds int, problems []string) {
	st := e.State()
	tpls, builds := map[string]int{}, map[string]int{}
	for _, tp := range st.Templates {
		tpls[tp.Name]++
	}
	for _, b := range st.Builds {
		builds[b.TemplateName]++
	}
	for _, n := range names {
		switch {
		case tpls[n] == 0:
			problems = append(problems, fmt.Sprintf("template %s does not exist", n))
		case tpls[n] > 1:
			dupTemplates += tpls[n] - 1
			problems = append(problems, fmt.Sprintf("template %s exists %d times", n, tpls[n]))
		}
		if builds[n] != wantBuilds {
			dupBuilds += max(builds[n]-wantBuilds, 0)
			problems = append(problems, fmt.Sprintf("template %s has %d builds, want %d", n, builds[n], wantBuilds))
		}
	}
	if len(tpls) != len(names) {
		problems = append(problems, fmt.Sprintf("the emulator holds templates %v, want exactly %v", tpls, names))
	}
	c.fig.DupTemplates += dupTemplates
	c.fig.DupBuilds += dupBuilds
	return dupTemplates, dupBuilds, problems
}

// matchesState reports differences between a run's id outputs and the
// emulator's state (the newest build of each template).
func matchesState(t *testing.T, e *emu, s step) []string {
	t.Helper()
	st := e.State()
	wantT, wantB := map[string]string{}, map[string]string{}
	for _, tp := range st.Templates {
		wantT[tp.Name] = tp.ID
	}
	for _, b := range st.Builds {
		wantB[b.TemplateName] = b.ID
	}
	var tids, bids map[string]string
	var out []string
	if err := json.Unmarshal([]byte(s.Outputs["template-ids"]), &tids); err != nil {
		out = append(out, "template-ids: "+err.Error())
	}
	if err := json.Unmarshal([]byte(s.Outputs["build-ids"]), &bids); err != nil {
		out = append(out, "build-ids: "+err.Error())
	}
	if d := cmp.Diff(wantT, tids); d != "" {
		out = append(out, "template-ids vs the emulator (-emulator +output):\n"+d)
	}
	if d := cmp.Diff(wantB, bids); d != "" {
		out = append(out, "build-ids vs the emulator (-emulator +output):\n"+d)
	}
	return out
}

// sameOutputs reports how got's outputs differ from want's in what stays
// the same on every attempt of a commit: the status, the ids and what each
// build is. What this run did (has-changes, plan, action, made, replayed,
// keys) depends on what earlier attempts left, so it is not compared. With
// ids false the ids are left out (emulators whose creations happened in
// another order).
func sameOutputs(t *testing.T, want, got step, ids bool) []string {
	t.Helper()
	var out []string
	names := []string{"status"}
	if ids {
		names = append(names, "template-ids", "build-ids", "build-id")
	}
	for _, name := range names {
		if want.Outputs[name] != got.Outputs[name] {
			out = append(out, fmt.Sprintf("%s = %s, the clean run said %s", name, got.Outputs[name], want.Outputs[name]))
		}
	}
	var wb, gb []buildOut
	if err := json.Unmarshal([]byte(want.Outputs["builds"]), &wb); err != nil {
		return append(out, "clean run's builds: "+err.Error())
	}
	if err := json.Unmarshal([]byte(got.Outputs["builds"]), &gb); err != nil {
		return append(out, "builds: "+err.Error())
	}
	ignore := []string{"Action", "Made", "IdempotencyKey", "Replayed"}
	if !ids {
		ignore = append(ignore, "TemplateID", "BuildID")
	}
	if d := cmp.Diff(wb, gb, cmpopts.IgnoreFields(buildOut{}, ignore...)); d != "" {
		out = append(out, "builds (-clean +this):\n"+d)
	}
	return out
}

// endedWithin records a deadline case's timing and checks the stated
// bound: the run ends within its deadline plus 5 s.
func (c *rcase) endedWithin(deadline, elapsed time.Duration) {
	c.t.Helper()
	over := max(elapsed-deadline, 0).Milliseconds()
	c.fig.DeadlineMS, c.fig.ElapsedMS, c.fig.OverrunMS = deadline.Milliseconds(), elapsed.Milliseconds(), &over
	if elapsed > deadline+5*time.Second {
		c.t.Errorf("the run took %s, past its %s deadline plus 5s", elapsed.Round(time.Millisecond), deadline)
	}
}

// attempt2 is the environment of a re-run of the same workflow run.
func attempt2(sha string) map[string]string {
	return map[string]string{"GITHUB_SHA": sha, "GITHUB_RUN_ATTEMPT": "2"}
}

// errorLines are the ::error:: lines of a run's log.
func errorLines(s step) string {
	var out []string
	for _, l := range strings.Split(s.Stdout, "\n") {
		if strings.HasPrefix(l, "::error") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
