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
// with the failed ones as diagnostics. Each interval costs one list
// request: a build is read only when its template's row (status, image)
// changed, or, as a fallback for changes the list cannot show, after 3, 6,
// then every 8 intervals.
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
	w := &waiter{env: e, builds: builds, warned: map[string]bool{}, rows: map[string]rowSig{}, due: map[string]int{}, reads: map[string]int{}}
	for id, row := range o.rows {
		w.rows[id] = sigOf(row)
	}
	for _, b := range builds {
		if _, ok := w.rows[b.TemplateID]; !ok {
			w.rows[b.TemplateID] = rowSig{status: "draft"} // created by this run
		}
	}
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
	return min(3<<n, 8)
}

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
// lacks that endpoint it lists the template's builds instead.
type waiter struct {
	*env
	builds []BuildResult   // the builds waited for, updated in place by the poll loop alone
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
	rows, err := w.api.ListTemplates(ctx, false)
	if err != nil && ctx.Err() == nil && !w.listError {
		w.listError = true
		w.log.Warn(fmt.Sprintf("list templates while waiting: %v (reading each build instead)", err))
	}
	seen := map[string]rowSig{}
	for _, row := range rows {
		seen[row.ID] = sigOf(row)
	}
	var read []int
	for _, i := range idx {
		b := w.builds[i]
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
	builds, err := w.api.ListBuilds(ctx, cur.TemplateID)
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

func (e *env) markUnfinished(ctx context.Context, builds []BuildResult) {
	for _, b := range builds {
		if !miosa.TerminalState(b.State) && b.BuildID != "" {
			e.log.warnUnrecorded(fmt.Sprintf("%s: build %s still %s when the run stopped (%v)", b.Name, b.BuildID, b.State, context.Cause(ctx)))
		}
	}
}
