package run

import (
	"context"
	"fmt"

	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
)

// Order is the authority on commit order: the deploy target's head, read
// from GitHub by the action and from local git by the CLI. A run writes a
// template only when its file's content is what the head holds.
type Order interface {
	// Order says, for each file, where this run's content of it stands
	// against the target's head. A file it says nothing of is unknown.
	Order(ctx context.Context, files []OrderFile) (OrderAnswer, error)
}

// OrderFile is one template file of the run: its repository-relative path
// and git's blob id of its content in the workspace.
type OrderFile struct{ Path, Blob string }

// OrderAnswer is the target's word on a run's files.
type OrderAnswer struct {
	Files map[string]plan.Order // by path
	// Notes are said once as notices (the target the files were compared
	// with, or that a remote-tracking ref may be stale).
	Notes []string
}

// order asks Config.Order about the files this run would write (in plan
// mode: would write, so that the plan shows what apply would do). When it cannot answer, the run falls back to the clock rule with a
// warning saying why, or, where Config.RefuseUnordered says so, refuses
// those writes.
func (e *env) order(ctx context.Context, o *observation, writes []*spec.Template) {
	if e.cfg.Order == nil || e.cfg.Mode == ModeValidate || len(writes) == 0 {
		if e.cfg.RefuseUnordered != "" && len(writes) > 0 {
			o.refuseUnordered = e.cfg.RefuseUnordered
		}
		return
	}
	files := make([]OrderFile, len(writes))
	for i, t := range writes {
		files[i] = OrderFile{Path: t.File, Blob: t.Blob}
	}
	a, err := e.cfg.Order.Order(ctx, files)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		if e.cfg.RefuseUnordered != "" {
			o.refuseUnordered = fmt.Sprintf("not written: %s (commit order: %v)", e.cfg.RefuseUnordered, err)
			e.log.Warn(fmt.Sprintf("commit order: %v; with no commit time to fall back on, templates that need a write are refused", err))
			return
		}
		e.log.Warn(fmt.Sprintf("commit order: %v; falling back to the commit's time (a build made after it is taken as newer)", err))
		return
	}
	for _, n := range a.Notes {
		e.log.Notice(n)
	}
	o.order = a.Files
}
