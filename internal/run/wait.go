package run

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/miosa-dev/sandbox-templates-action/internal/buildfail"
	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
	"github.com/miosa-dev/sandbox-templates-action/internal/textsafe"
)

// wait is the Wait stage: it follows the builds until each is terminal or
// the context ends, reporting every state change once, and returns them
// with the failed ones as diagnostics. A build is read when its template's
// list row (status, image) changed, or, as a fallback for changes the list
// cannot show, after 3, 6, then every 8 intervals, spread over the
// intervals so that no interval reads more than an eighth of the builds
// that way. The list is read in an interval only when it costs fewer
// requests (its pages) than reading the builds it would tell about.
func (e *env) wait(ctx context.Context, l *loaded, o *observation, builds []BuildResult) ([]BuildResult, diag.List) {
	builds = slices.Clone(builds)
	pending := func() []int {
		var idx []int
		for i, b := range builds {
			if b.BuildID != "" && !miosa.TerminalState(b.State) {
				idx = append(idx, i)
			}
		}
		return idx
	}
	if idx := pending(); len(idx) > 0 {
		e.log.Info(fmt.Sprintf("Waiting for %d build(s), polling every %s", len(idx), e.cfg.PollInterval))
	}
	w := e.newWaiter(o, builds)
	// Polls start poll-interval apart, however long one takes.
	next := time.Now()
	for {
		idx := pending()
		if len(idx) == 0 {
			break
		}
		timer := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			timer.Stop()
			e.markUnfinished(ctx, builds)
			return builds, e.failures(ctx, l, builds)
		case <-timer.C:
		}
		next = time.Now().Add(e.cfg.PollInterval)
		w.poll(ctx, idx)
	}
	return builds, e.failures(ctx, l, builds)
}

// rowSig is what a list row shows of a template's builds.
type rowSig struct{ status, image string }

func sigOf(row miosa.ListRow) rowSig { return rowSig{row.Status, row.ImageID} }

// fallbackAfter is how many intervals pass before the n-th fallback read of
// a build whose template's row has not changed (n from 0): 3, 6, then 8.
func fallbackAfter(n int) int {
	return min(3<<n, fallbackSpread)
}

// fallbackSpread is the longest interval between fallback reads of one
// build; an interval makes at most 1/fallbackSpread of the pending builds'
// fallback reads, the most overdue first, so that builds started together
// are not all read in the same interval.
const fallbackSpread = 8

// failures turns every failed or cancelled build into a diagnostic, on
// the step's run: line when the message names a step, else on
// build_spec:, with its error code, message and log link; and reads the
// end of its log.
func (e *env) failures(ctx context.Context, l *loaded, builds []BuildResult) diag.List {
	var out diag.List
	for i := range builds {
		b := &builds[i]
		if !b.ended() {
			continue
		}
		msg := b.failure()
		if b.LogURL != "" {
			msg += " (log: " + b.LogURL + ")"
		}
		t := l.byName[b.Name]
		if t == nil {
			out = append(out, problem(RuleAPI, msg))
			continue
		}
		line, col, field := buildfail.Locate(t, b.ErrorCode, b.ErrorMessage)
		out = append(out, diag.Diagnostic{Path: t.File, Line: line, Col: col, Field: field,
			Message: textsafe.Truncate(msg, maxProblem), Rule: "build", Severity: diag.Error})
		if b.logURL != "" && ctx.Err() == nil {
			b.LogTail = e.logTail(ctx, b)
		}
	}
	return out
}

// logTail is the last lines of a failed build's log, or a line saying why
// there are none.
func (e *env) logTail(ctx context.Context, b *BuildResult) []string {
	lt, err := e.api.BuildLogTail(ctx, b.logURL, 0)
	var notFetched *miosa.LogNotFetchedError
	if errors.As(err, &notFetched) {
		return []string{textsafe.Line(notFetched.Error())}
	}
	if err != nil {
		return []string{textsafe.Line("(the build log could not be read: " + err.Error() + ")")}
	}
	return buildfail.Tail(lt.Text, lt.Partial, buildfail.TailLines)
}

// waiter polls build states. It asks for each build by id; where the server
// lacks that endpoint it reads the template's builds instead, newest first,
// as far as the build.
type waiter struct {
	*env
	builds []BuildResult   // the builds waited for, updated in place by the poll loop alone
	warned map[string]bool // builds whose status errors were reported once
	byList atomic.Bool     // GET /sandbox-template-builds/{id} answered 404
	// rows: template id -> the row last seen; due: build id -> intervals
	// left before its fallback read; reads: build id -> reads made.
	rows      map[string]rowSig
	due       map[string]int
	reads     map[string]int
	listError bool
}

// newWaiter returns a waiter of builds (which it updates in place) that
// knows the rows the observation read.
func (e *env) newWaiter(o *observation, builds []BuildResult) *waiter {
	w := &waiter{env: e, builds: builds, warned: map[string]bool{}, rows: map[string]rowSig{}, due: map[string]int{}, reads: map[string]int{}}
	for id, row := range o.rows {
		w.rows[id] = sigOf(row)
	}
	for _, b := range builds {
		if _, ok := w.rows[b.TemplateID]; !ok {
			w.rows[b.TemplateID] = rowSig{status: "draft"} // created by this run
		}
	}
	return w
}

// poll reads, of the pending builds at idx, the ones whose fallback read
// is due (at most an interval's share), and finds out about the others
// from the list, when the list costs fewer requests than reading them;
// otherwise, or when the list cannot be read, it reads them.
func (w *waiter) poll(ctx context.Context, idx []int) {
	var due []int
	for _, i := range idx {
		id := w.builds[i].BuildID
		if _, started := w.due[id]; !started {
			w.due[id] = fallbackAfter(0)
		}
		w.due[id]--
		if w.due[id] <= 0 {
			due = append(due, i)
		}
	}
	slices.SortStableFunc(due, func(a, b int) int { return w.due[w.builds[a].BuildID] - w.due[w.builds[b].BuildID] })
	read := due[:min(len(due), (len(idx)+fallbackSpread-1)/fallbackSpread)]
	fallback := make(map[int]bool, len(read))
	for _, i := range read {
		fallback[i] = true
	}
	var rest []int // the pending builds not read for their fallback
	for _, i := range idx {
		if !fallback[i] {
			rest = append(rest, i)
		}
	}
	if len(rest) > w.listCost() {
		changed, ok := w.changedRows(ctx, rest)
		if ok {
			rest = changed
		}
	}
	read = append(read, rest...)
	for _, i := range read {
		id := w.builds[i].BuildID
		w.reads[id]++
		w.due[id] = fallbackAfter(w.reads[id])
	}
	if len(read) > 0 {
		w.read(ctx, read)
	}
}

// listCost is how many requests a read of the list takes: its pages, as
// many as the rows last seen fill.
func (w *waiter) listCost() int {
	return max(1, (len(w.rows)+miosa.PageSize-1)/miosa.PageSize)
}

// changedRows reads the list and returns, of the builds at idx, those
// whose template's row changed since it was last seen. ok is false when
// the list could not be read.
func (w *waiter) changedRows(ctx context.Context, idx []int) (changed []int, ok bool) {
	rows, err := w.api.ListTemplates(ctx, false)
	if err != nil {
		if ctx.Err() == nil && !w.listError {
			w.listError = true
			w.log.Warn(fmt.Sprintf("list templates while waiting: %v (reading each build instead)", err))
		}
		return nil, false
	}
	seen := make(map[string]rowSig, len(rows))
	for _, row := range rows {
		seen[row.ID] = sigOf(row)
	}
	for _, i := range idx {
		b := w.builds[i]
		sig, ok := seen[b.TemplateID]
		if prev, had := w.rows[b.TemplateID]; ok && (!had || sig != prev) {
			changed = append(changed, i)
		}
	}
	for id, sig := range seen {
		w.rows[id] = sig
	}
	return changed, true
}

// read reads the builds at idx and reports their state changes.
func (w *waiter) read(ctx context.Context, idx []int) {
	g := new(errgroup.Group)
	g.SetLimit(w.cfg.Concurrency)
	updates := make([]*miosa.Build, len(idx))
	errs := make([]error, len(idx))
	for j, i := range idx {
		cur := w.builds[i]
		g.Go(func() error {
			updates[j], errs[j] = w.status(ctx, cur)
			return nil
		})
	}
	_ = g.Wait()
	for j, i := range idx {
		cur := &w.builds[i]
		if err := errs[j]; err != nil {
			if !w.warned[cur.BuildID] && ctx.Err() == nil {
				w.warned[cur.BuildID] = true
				w.log.Warn(fmt.Sprintf("status of build %s: %v (asking again every %s)", cur.BuildID, err, w.cfg.PollInterval))
			}
			continue
		}
		if b := updates[j]; b != nil && b.State != cur.State {
			cur.fill(b)
			w.log.Info(fmt.Sprintf("%s: build %s is %s", cur.Name, cur.BuildID, stateLine(cur)))
		}
	}
}

// status reads one build's current state.
func (w *waiter) status(ctx context.Context, cur BuildResult) (*miosa.Build, error) {
	if !w.byList.Load() {
		b, err := w.api.GetBuild(ctx, cur.BuildID)
		if !miosa.IsNotFound(err) {
			return b, err
		}
		w.byList.Store(true) // the endpoint is not there: the build list is
	}
	var found *miosa.Build
	err := w.api.EachBuild(ctx, cur.TemplateID, func(b miosa.Build) bool {
		if b.ID == cur.BuildID {
			found = &b
		}
		return found == nil
	})
	if err != nil {
		return nil, err
	}
	if found == nil {
		return nil, fmt.Errorf("build %s is not among the builds of template %s", cur.BuildID, cur.TemplateID)
	}
	return found, nil
}

func stateLine(b *BuildResult) string {
	parts := []string{b.State}
	if b.ErrorCode != "" {
		parts = append(parts, b.ErrorCode)
	}
	if b.ErrorMessage != "" {
		parts = append(parts, textsafe.Line(b.ErrorMessage))
	}
	return strings.Join(parts, ": ")
}

func (e *env) markUnfinished(ctx context.Context, builds []BuildResult) {
	for _, b := range builds {
		if !miosa.TerminalState(b.State) && b.BuildID != "" {
			e.log.warnUnrecorded(fmt.Sprintf("%s: build %s still %s when the run stopped (%v)", b.Name, b.BuildID, b.State, context.Cause(ctx)))
		}
	}
}
