package apply

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
)

// wait polls this run's builds until each is terminal or the context ends,
// reporting every state change once, then reports the builds that failed.
func (r *run) wait(ctx context.Context) {
	defer r.reportFailures()
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
	w := &waiter{run: r, warned: map[string]bool{}}
	// Polls start poll-interval apart, however long one takes, so a build
	// that ends is seen within one interval.
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

// reportFailures turns every failed or cancelled build into a problem, with
// its error code, message and log link.
func (r *run) reportFailures() {
	for _, b := range r.res.Builds {
		if b.State != "failed" && b.State != "cancelled" {
			continue
		}
		msg := fmt.Sprintf("build %s of %s %s", b.BuildID, b.Name, b.State)
		if b.ErrorCode != "" {
			msg += ": " + b.ErrorCode
		}
		if b.ErrorMessage != "" {
			msg += ": " + b.ErrorMessage
		}
		if b.LogURL != "" {
			msg += " (log: " + b.LogURL + ")"
		}
		r.problem(msg)
	}
}

// waiter polls build states. It asks for each build by id; where the server
// lacks that endpoint it lists the template's builds instead.
type waiter struct {
	run    *run
	warned map[string]bool // builds whose status errors were reported once
	byList atomic.Bool     // GET /sandbox-template-builds/{id} answered 404
}

func (w *waiter) poll(ctx context.Context, idx []int) {
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
		parts = append(parts, b.ErrorMessage)
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
