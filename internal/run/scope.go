package run

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
)

// Record is the record of what is deployed: the action keeps it as GitHub
// deployments. It says where the last run left every template serving its
// file (so that a run reads the builds of what changed since, and of rows
// that are not ready, and judges the others from the list row alone), and
// it is told before a run writes, so that no later run takes that older
// record for what the server serves while the writes are under way.
type Record interface {
	// Since says which of files (the template files that have a row) may
	// differ from what the last record's commit held, and which templates
	// that record's run had left building. It never fails: an answer it
	// cannot give is a full read, with the reason. It is asked once by every
	// run, before the first build is read, even when the run reads every
	// build whatever it says (files empty: build: always, or no template has
	// a row): the Record notes then what other runs had recorded, so that it
	// never records this run's view as served when another run marked
	// writes after it (they may have changed what this run read).
	Since(ctx context.Context, files []OrderFile) ScopeAnswer
	// Writing is told, once, before the run's first write, what the run
	// is about to do. It reports nothing: what it could not record is the
	// Record's to say.
	Writing(ctx context.Context, w Writes)
}

// Writes is what an apply is about to do, as its Record is told before the
// first write.
type Writes struct {
	// Templates are the names of the run's templates.
	Templates []string
	// Pending are the templates whose builds are not ready when the run
	// writes: those it creates or builds, and those it found building.
	Pending []string
	// Complete says every template either serves its file's spec, is
	// building it, or is written: no template is left alone (superseded,
	// off the target, refused, invalid, unreadable, skipped by build:
	// never, or outside the templates input).
	Complete bool
}

// ScopeAnswer is a Record's word on a run's files.
type ScopeAnswer struct {
	// Base is the commit of the last record, whose run found every
	// template serving its file, or writing it; "" reads every template's
	// builds.
	Base string
	// Changed are the paths whose content may differ from Base's: their
	// builds are read.
	Changed map[string]bool
	// Pending are the templates whose builds Base's run started, or found
	// in progress, and did not see ready: their builds are read.
	Pending map[string]bool
	// Why says why every template is read, when Base is "".
	Why string
}

// narrow is the Record's part of the Observe stage: it takes out of reads
// (row index -> template name) the rows judged from the list alone, whose
// file is unchanged since the last record, whose builds that record's run
// left none in progress, whose row is ready, and whose display name no
// other row shares (list rows carry no slug: a row matched by its display
// name alone is read, and confirmed, when another template has that name);
// it marks them so in o. It says once in the log which scope was used and
// why.
func (e *env) narrow(ctx context.Context, l *loaded, o *observation, reads map[int]string) {
	if e.cfg.Record == nil {
		return
	}
	total := len(reads)
	files := make([]OrderFile, 0, total)
	if e.cfg.BuildMode != plan.BuildAlways {
		for _, name := range reads {
			t := l.byName[name]
			files = append(files, OrderFile{Path: t.File, Blob: t.Blob})
		}
		slices.SortFunc(files, func(a, b OrderFile) int { return strings.Compare(a.Path, b.Path) })
	}
	a := e.cfg.Record.Since(ctx, files)
	switch {
	case ctx.Err() != nil || total == 0:
		return
	case e.cfg.BuildMode == plan.BuildAlways:
		e.log.Info(fmt.Sprintf("Scope: the builds of all %d template(s) are read: build: always rebuilds each one from its builds", total))
		return
	case a.Base == "":
		e.log.Info(fmt.Sprintf("Scope: the builds of all %d template(s) are read: %s", total, a.Why))
		return
	}
	shown := map[string]int{} // display name -> rows of the account that show it
	for _, r := range o.remote {
		if !r.BuiltIn {
			shown[r.Name]++
		}
	}
	since := plan.ShortSHA(a.Base)
	changed, pending, notReady, twins := 0, 0, 0, 0
	for i, name := range reads {
		r := &o.remote[i]
		switch {
		case a.Changed[l.byName[name].File]:
			changed++
		case a.Pending[name]:
			pending++
		case r.Status != miosa.StateReady:
			notReady++
		case o.byNameOnly[name] && shown[r.Name] > 1:
			twins++
		default:
			r.Listed = fmt.Sprintf("judged from the template list: its file is unchanged since the deployment of %s and the template is ready (scope: auto)", since)
			delete(reads, i)
		}
	}
	why := fmt.Sprintf("%d changed since the deployment of %s", changed, since)
	if pending > 0 {
		why += fmt.Sprintf(", %d building when it was recorded", pending)
	}
	if twins > 0 {
		why += fmt.Sprintf(", %d whose display name another template shows too", twins)
	}
	e.log.Notice(fmt.Sprintf("Scope: the builds of %d of %d template(s) are read (%s, %d not ready); "+
		"the others are judged from the template list alone (scope: auto)", len(reads), total, why, notReady))
}

// announce tells the Record, before the first write, what the run writes.
func (e *env) announce(ctx context.Context, l *loaded, o *observation, p plan.Plan) {
	if e.cfg.Record == nil || e.cfg.Mode != ModeApply || p.Changes() == 0 {
		return
	}
	w := Writes{Complete: len(e.cfg.Templates) == 0}
	for _, t := range l.Templates {
		w.Templates = append(w.Templates, t.Name)
	}
	for _, it := range p.Items {
		r, _ := o.remoteOf(it.Name)
		switch {
		case it.Action == plan.Describe:
		case it.Action.Writes():
			w.Pending = append(w.Pending, it.Name)
		case it.Action != plan.Unchanged:
			w.Complete = false
		case it.Serving != "" && it.ServingState != miosa.StateReady:
			w.Pending = append(w.Pending, it.Name)
		case it.Serving == "" && r.Listed == "":
			w.Complete = false // left serving another spec (build: never)
		}
	}
	e.cfg.Record.Writing(ctx, w)
}
