package apply

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/miosa-dev/sandbox-templates-action/internal/buildfail"
	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
	"github.com/miosa-dev/sandbox-templates-action/internal/textsafe"
)

// wait follows this run's builds until each is terminal or the context
// ends, reporting every state change once, then reports the builds that
// failed. Each interval costs one list request: a build is read only when
// its template's row (status, image) changed, or, as a fallback for changes
// the list cannot show, after 3, 6, then every 8 intervals.
func (r *run) wait(ctx context.Context) {
	defer r.reportFailures(ctx)
	pending := func() []int {
		var idx []int
		for i, b := range r.res.Builds {
			if b.BuildID != "" && !miosa.TerminalState(b.State) {
				idx = append(idx, i)
			}
		}
		return idx
	}
	if idx := pending(); len(idx) > 0 {
		r.rep.Info(fmt.Sprintf("Waiting for %d build(s), polling every %s", len(idx), r.cfg.PollInterval))
	}
	w := &waiter{run: r, warned: map[string]bool{}, rows: map[string]rowSig{}, due: map[string]int{}, reads: map[string]int{}}
	for _, rt := range r.allRemote {
		w.rows[rt.row.ID] = sigOf(rt.row)
	}
	for _, b := range r.res.Builds {
		if _, ok := w.rows[b.TemplateID]; !ok {
			w.rows[b.TemplateID] = rowSig{status: "draft"} // created by this run
		}
	}
	// Polls start poll-interval apart, however long one takes.
	next := time.Now()
	for {
		idx := pending()
		if len(idx) == 0 {
			return
		}
		timer := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			timer.Stop()
			r.markUnfinished(ctx)
			return
		case <-timer.C:
		}
		next = time.Now().Add(r.cfg.PollInterval)
		w.poll(ctx, idx)
	}
}

// rowSig is what a list row shows of a template's builds.
type rowSig struct{ status, image string }

func sigOf(row miosa.ListRow) rowSig { return rowSig{row.Status, row.ImageID} }

// fallbackAfter is how many intervals pass before the n-th fallback read of
// a build whose template's row has not changed (n from 0): 3, 6, then 8.
func fallbackAfter(n int) int {
	return min(3<<n, 8)
}

// reportFailures turns every failed or cancelled build into a problem, with
// its error code, message and log link.
func (r *run) reportFailures(ctx context.Context) {
	for i := range r.res.Builds {
		b := &r.res.Builds[i]
		if !b.ended() {
			continue
		}
		msg := b.failure()
		if b.LogURL != "" {
			msg += " (log: " + b.LogURL + ")"
		}
		t := r.byName[b.Name]
		if t == nil {
			r.problem(msg)
			continue
		}
		// On the step's run: line when the message names a step, else on
		// build_spec:.
		line, col, field := buildfail.Locate(t, b.ErrorCode, b.ErrorMessage)
		r.mu.Lock()
		r.res.Diagnostics = append(r.res.Diagnostics, diag.Diagnostic{Path: t.File, Line: line, Col: col, Field: field,
			Message: textsafe.Truncate(msg, maxProblem), Rule: "build", Severity: diag.Error})
		r.mu.Unlock()
		if b.LogURL != "" && ctx.Err() == nil {
			b.LogTail = r.logTail(ctx, b)
		}
	}
}

// logTail is the last lines of a failed build's log, or a line saying why
// there are none.
func (r *run) logTail(ctx context.Context, b *BuildResult) []string {
	lt, err := r.api.BuildLogTail(ctx, b.LogURL, 0)
	if err != nil {
		return []string{textsafe.Line("(the build log could not be read: " + err.Error() + ")")}
	}
	return buildfail.Tail(lt.Text, lt.Partial, buildfail.TailLines)
}

// waiter polls build states. It asks for each build by id; where the server
// lacks that endpoint it lists the template's builds instead.
type waiter struct {
	run    *run
	warned map[string]bool // builds whose status errors were reported once
	byList atomic.Bool     // GET /sandbox-template-builds/{id} answered 404
	// rows: template id -> the row last seen; due: build id -> intervals
	// left before its fallback read; reads: build id -> fallback reads made.
	rows      map[string]rowSig
	due       map[string]int
	reads     map[string]int
	listError bool
}

// poll reads the list once and the builds whose rows changed or whose
// fallback is due; when the list cannot be read, it reads every build.
func (w *waiter) poll(ctx context.Context, idx []int) {
	r := w.run
	rows, err := r.api.ListTemplates(ctx, false)
	if err != nil && ctx.Err() == nil && !w.listError {
		w.listError = true
		r.warn(fmt.Sprintf("list templates while waiting: %v (reading each build instead)", err))
	}
	seen := map[string]rowSig{}
	for _, row := range rows {
		seen[row.ID] = sigOf(row)
	}
	var read []int
	for _, i := range idx {
		b := r.res.Builds[i]
		sig, ok := seen[b.TemplateID]
		prev, had := w.rows[b.TemplateID]
		if _, started := w.due[b.BuildID]; !started {
			w.due[b.BuildID] = fallbackAfter(0)
		}
		w.due[b.BuildID]--
		switch {
		case err != nil, ok && (!had || sig != prev):
			read = append(read, i)
		case w.due[b.BuildID] <= 0:
			w.reads[b.BuildID]++
			w.due[b.BuildID] = fallbackAfter(w.reads[b.BuildID])
			read = append(read, i)
		}
	}
	for id, sig := range seen {
		w.rows[id] = sig
	}
	if len(read) > 0 {
		w.read(ctx, read)
	}
}

// read reads the builds at idx and reports their state changes.
func (w *waiter) read(ctx context.Context, idx []int) {
	r := w.run
	g := new(errgroup.Group)
	g.SetLimit(r.cfg.Concurrency)
	updates := make([]*miosa.Build, len(idx))
	var mu sync.Mutex
	for j, i := range idx {
		cur := r.res.Builds[i]
		g.Go(func() error {
			b, err := w.status(ctx, cur)
			if err != nil {
				mu.Lock()
				first := !w.warned[cur.BuildID]
				w.warned[cur.BuildID] = true
				mu.Unlock()
				if first && ctx.Err() == nil {
					r.warn(fmt.Sprintf("status of build %s: %v (asking again every %s)", cur.BuildID, err, r.cfg.PollInterval))
				}
				return nil
			}
			updates[j] = b
			return nil
		})
	}
	_ = g.Wait()
	for j, i := range idx {
		b := updates[j]
		if b == nil {
			continue
		}
		cur := &r.res.Builds[i]
		if b.State != cur.State {
			fillState(cur, b)
			r.rep.Info(fmt.Sprintf("%s: build %s is %s", cur.Name, cur.BuildID, stateLine(cur)))
		}
	}
}

// status reads one build's current state.
func (w *waiter) status(ctx context.Context, cur BuildResult) (*miosa.Build, error) {
	if !w.byList.Load() {
		b, err := w.run.api.GetBuild(ctx, cur.BuildID)
		if !miosa.IsNotFound(err) {
			return b, err
		}
		w.byList.Store(true) // the endpoint is not there: the build list is
	}
	builds, err := w.run.api.ListBuilds(ctx, cur.TemplateID)
	if err != nil {
		return nil, err
	}
	for _, b := range builds {
		if b.ID == cur.BuildID {
			return &b, nil
		}
	}
	return nil, fmt.Errorf("build %s is not among the builds of template %s", cur.BuildID, cur.TemplateID)
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

func (r *run) markUnfinished(ctx context.Context) {
	for _, b := range r.res.Builds {
		if !miosa.TerminalState(b.State) && b.BuildID != "" {
			r.rep.Warn(fmt.Sprintf("%s: build %s still %s when the run stopped (%v)", b.Name, b.BuildID, b.State, context.Cause(ctx)))
		}
	}
}
