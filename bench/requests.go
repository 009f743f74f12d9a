package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
	"github.com/miosa-dev/sandbox-templates-action/internal/github/githubtest"
)

// Shape of the requests-per-run section.
const (
	ghBenchToken        = "ghs_bench0000000000000000000000000000" // the fake GitHub's token
	requestsConcurrency = 64                                      // input concurrency of its runs
	maxGitHub           = 10                                      // GitHub requests a run may make, whatever N
)

// listPages is how many pages of 100 rows the template list takes for an
// account with own templates of its own next to Miosa's 22 built-in ones.
func listPages(own int) int { return (22 + own + 99) / 100 }

// reqRun is one run of the requests-per-run section.
type reqRun struct {
	what    string
	n       int
	res     *runResult
	miosa   map[string]int // Miosa requests by endpoint
	writes  int
	github  map[string]int // GitHub requests by endpoint
	refused int            // GitHub requests answered 400 or more
	want    int            // Miosa requests the formula gives
	formula string         // the formula, with its terms' values
	noop    bool           // nothing changed: the run must not write
}

// requestsPhase runs the action, as the runner does, against a fresh
// emulator and a fake GitHub for each of cfg.requestsN template files:
// all new, a new commit with nothing changed, and one file changed. Each
// run's files are pushed to main first, so the run is the head's.
func (b *bench) requestsPhase(ctx context.Context) error {
	for _, n := range b.cfg.requestsN {
		runs, err := b.requestsFor(ctx, n)
		if err != nil {
			return fmt.Errorf("%d template files: %w", n, err)
		}
		b.requests = append(b.requests, runs...)
	}
	return nil
}

// requestsFor measures the three runs of n template files.
func (b *bench) requestsFor(ctx context.Context, n int) ([]reqRun, error) {
	dir := filepath.Join(b.tmp, fmt.Sprintf("requests-%d", n))
	if err := writeWorkspace(dir, "req", n); err != nil {
		return nil, err
	}
	opts := emulator.NewOptions()
	opts.BuildDuration = 0
	opts.RequestLogSize = 1
	e, err := startEmu(opts, nil)
	if err != nil {
		return nil, err
	}
	defer e.close()
	gh := githubtest.New(githubtest.Options{Repository: "bench/bench"})
	gh.SetToken(ghBenchToken)
	defer gh.Close()

	sz := sizes(n)
	// The list's pages: the client asks for 100 rows a page; Miosa's 22
	// built-in templates are rows too, and the first run finds no own one.
	first, later := listPages(0), listPages(n)
	fixed := func(pages int) string { return fmt.Sprintf("1 + %d + %d", pages, sz) } // schema, the list's pages, a validate per size
	steps := []struct {
		what, formula string
		want          int
		noop          bool
		edit          func() error
	}{
		{"all new", fmt.Sprintf("1 + P + S + 3N = %s + %d", fixed(first), 3*n), 1 + first + sz + 3*n, false, nil},
		{"no-op at a new commit", fmt.Sprintf("1 + P + S = %s", fixed(later)), 1 + later + sz, true, nil},
		{"one file changed", fmt.Sprintf("1 + P + S + 1 + 3 = %s + 1 + 3", fixed(later)), 1 + later + sz + 1 + 3, false,
			func() error { return changeTemplate(dir, "req", 0) }},
	}
	var runs []reqRun
	for _, s := range steps {
		if s.edit != nil {
			if err := s.edit(); err != nil {
				return nil, err
			}
		}
		b.logf("requests per run: N = %d, %s", n, s.what)
		r, err := b.requestsRun(ctx, e, gh, dir)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.what, err)
		}
		r.what, r.n, r.want, r.formula, r.noop = s.what, n, s.want, s.formula, s.noop
		b.logf("  %s, Miosa %v, writes %d, GitHub %v", r.res.Wall.Round(time.Millisecond), r.miosa, r.writes, r.github)
		runs = append(runs, r)
	}
	return runs, nil
}

// requestsRun pushes the workspace dir to main and runs the action at that
// commit, counting what it asked of e and gh.
func (b *bench) requestsRun(ctx context.Context, e *emu, gh *githubtest.Server, dir string) (reqRun, error) {
	files, err := treeOf(dir)
	if err != nil {
		return reqRun{}, err
	}
	sha := gh.Push("main", files)
	before, ghBefore, depBefore := e.Counters(), gh.Counts(), deploymentCounts(gh)
	res, status, err := runAsAction(ctx, b.cfg.bin, dir, actionRun{url: e.URL, commit: sha, attempt: 1,
		github: gh.URL(), token: ghBenchToken, concurrency: requestsConcurrency})
	if err != nil {
		return reqRun{}, err
	}
	if res.Code != 0 || status != "success" {
		return reqRun{}, fmt.Errorf("run ended %q, exit %d: %s", status, res.Code, lastLines(res.Stdout+res.Stderr, 5))
	}
	after, ghAfter := e.Counters(), gh.Counts()
	github := ghDiff(ghBefore, ghAfter)
	ghDeployments(gh, depBefore, github)
	return reqRun{res: res, miosa: diff(before, after), writes: after.Writes - before.Writes,
		github: github, refused: ghAfter.Refused - ghBefore.Refused}, nil
}

// treeOf is the files under dir, by slash-separated relative path, with
// their contents: what a commit of the workspace holds.
func treeOf(dir string) (map[string]string, error) {
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		raw, err := os.ReadFile(p)
		files[filepath.ToSlash(rel)] = string(raw)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read workspace: %w", err)
	}
	return files, nil
}

// ghDiff returns after minus before, per endpoint of the fake GitHub,
// without zero entries.
func ghDiff(before, after githubtest.Counts) map[string]int {
	out := map[string]int{}
	add := func(op githubtest.Op, b, a int) {
		if a != b {
			out[string(op)] = a - b
		}
	}
	add(githubtest.OpRepo, before.Repo, after.Repo)
	add(githubtest.OpCommit, before.Commit, after.Commit)
	add(githubtest.OpContents, before.Contents, after.Contents)
	add(githubtest.OpTree, before.Tree, after.Tree)
	add(githubtest.OpCompare, before.Compare, after.Compare)
	add(githubtest.OpLatestRelease, before.LatestRelease, after.LatestRelease)
	add(githubtest.OpList, before.List, after.List)
	add(githubtest.OpCreate, before.Create, after.Create)
	add(githubtest.OpUpdate, before.Update, after.Update)
	add(githubtest.OpPull, before.Pull, after.Pull)
	return out
}

// ghDeployments adds to counts the deployment requests gh answered since
// before (a map of Op to count taken with deploymentCounts).
func ghDeployments(gh *githubtest.Server, before map[githubtest.Op]int, counts map[string]int) {
	for op, n := range deploymentCounts(gh) {
		if d := n - before[op]; d > 0 {
			counts[string(op)] = d
		}
	}
}

// deploymentCounts is how many requests of each deployment endpoint gh
// has answered.
func deploymentCounts(gh *githubtest.Server) map[githubtest.Op]int {
	out := map[githubtest.Op]int{}
	for _, op := range []githubtest.Op{githubtest.OpDeployments, githubtest.OpCreateDeployment, githubtest.OpStatuses, githubtest.OpCreateStatus} {
		out[op] = gh.Count(op)
	}
	return out
}

// requestFailures is an error naming every run that made more than
// maxGitHub GitHub requests and every no-op run that wrote; nil when none.
func (b *bench) requestFailures() error {
	var errs []error
	for _, r := range b.requests {
		if got := total(r.github); got > maxGitHub {
			errs = append(errs, fmt.Errorf("requests per run: %s, N = %d: %d GitHub requests (%s), more than %d", r.what, r.n, got, kinds(r.github), maxGitHub))
		}
		if r.noop && r.writes > 0 {
			errs = append(errs, fmt.Errorf("requests per run: %s, N = %d: %d writes, want none", r.what, r.n, r.writes))
		}
	}
	return errors.Join(errs...)
}

// tableRequests prints the requests-per-run section.
func (b *bench) tableRequests(p func(string, ...any)) {
	p("\n### Requests per run: Miosa and GitHub (the action as the runner runs it, concurrency %d)\n\n", requestsConcurrency)
	p("Counts are the emulator's (builds of 0 s, no added latency) and the fake GitHub's, per endpoint, for a push to main " +
		"whose files were pushed to main first.\n\n")
	p("| # | case | N | Miosa requests | writes | expected Miosa | GitHub requests | GitHub target | wall | met |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range b.requests {
		gh := fmt.Sprint(total(r.github))
		if len(r.github) > 0 {
			gh += ": " + kinds(r.github)
		}
		if r.refused > 0 {
			gh += fmt.Sprintf(" (%d refused)", r.refused)
		}
		met := total(r.miosa) == r.want && total(r.github) <= maxGitHub && !(r.noop && r.writes > 0)
		p("| 9 | %s | %d | %d: %s | %d | %s = %d | %s | ≤ %d | %s | %s |\n", r.what, r.n, total(r.miosa), kinds(r.miosa), r.writes,
			r.formula, r.want, gh, maxGitHub, secs(r.res.Wall), yesNo(met))
	}
	p("\nExpected Miosa requests (scope auto): 1 `schema`; P list pages (one per 100 rows, Miosa's 22 built-in templates included); "+
		"S distinct `size`s of the templates (one `validate` each, for the server's defaults); per new template a `validate`, a `create` "+
		"and the `list_builds` that adopts the build it queued; per template whose file changed since the last deployment a "+
		"`list_builds`, and for a changed spec its `validate`, the `get` that confirms the template found by its display name, and a "+
		"`create_build`. Templates whose files did not change are judged from the list alone. GitHub: the commit order (the head "+
		"commit, the blob listing of the templates' directory, a comparison only when a file differs from the head), the scope (the "+
		"last deployment and its status, a comparison) and the deployment record (one deployment per commit, its statuses): a "+
		"number that does not grow with N. The bench exits 1 when a run makes more than %d GitHub requests or a no-op run writes.\n", maxGitHub)
}

// yesNo renders a met column.
func yesNo(v bool) string {
	if v {
		return "yes"
	}
	return "no"
}
