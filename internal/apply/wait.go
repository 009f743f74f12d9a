package apply

import (
	"context"
	"fmt"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
)

// terminal reports whether a normalized build state is final.
func terminal(state string) bool {
	return state == "ready" || state == "failed" || state == "cancelled"
}

// wait polls this run's builds until each is terminal or the context ends,
// reporting every state change once.
func (r *run) wait(ctx context.Context) {
	pending := func() []int {
		var idx []int
		for i, b := range r.res.Builds {
			if b.BuildID != "" && !terminal(b.State) {
				idx = append(idx, i)
			}
		}
		return idx
	}
	if idx := pending(); len(idx) > 0 {
		r.rep.Info(fmt.Sprintf("Waiting for %d build(s), polling every %s", len(idx), r.cfg.PollInterval))
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		idx := pending()
		if len(idx) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			r.markUnfinished(ctx)
			return
		case <-timer.C:
		}
		r.poll(ctx, idx)
		timer.Reset(r.cfg.PollInterval)
	}
	for _, b := range r.res.Builds {
		if b.State == "failed" || b.State == "cancelled" {
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
}

func (r *run) poll(ctx context.Context, idx []int) {
	g := new(errgroup.Group)
	g.SetLimit(r.cfg.Concurrency)
	updates := make([]*miosa.Build, len(idx))
	for j, i := range idx {
		id := r.res.Builds[i].BuildID
		g.Go(func() error {
			b, err := r.api.GetBuild(ctx, id)
			if err != nil {
				if ctx.Err() == nil {
					r.warn(fmt.Sprintf("status of build %s: %v (will ask again)", id, err))
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
		if !terminal(b.State) && b.BuildID != "" {
			r.rep.Warn(fmt.Sprintf("%s: build %s still %s when the run stopped (%v)", b.Name, b.BuildID, b.State, context.Cause(ctx)))
		}
	}
}
