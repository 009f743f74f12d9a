package run

import (
	"context"
	"slices"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/miosa"
	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
)

// A template's build list is read only as far as the decision needs (see
// buildKeeper): a template rebuilt on every push holds thousands of builds,
// and the decision looks at a few of the newest.

// readBuilds reads the builds of a template that the decision needs,
// newest first: the newest, the one that serves (the newest not
// cancelled), and, with always, the newest of another spec than the one
// that serves. The server gives its builds newest first: reading stops at
// the page where those are found. A list that shows another order is read
// to its end, keeping only those.
func readBuilds(ctx context.Context, api remoteAPI, templateID string, always bool) ([]miosa.Build, error) {
	k := &buildKeeper{always: always}
	if err := api.EachBuild(ctx, templateID, k.add); err != nil {
		return nil, err
	}
	return k.kept, nil
}

// buildKeeper keeps, of a template's builds as they are read, the shortest
// run of the newest ones that decides the template (plan.Served and what
// the plan reads next to it): up to the newest build not cancelled, and
// with always up to a build of another spec than that one. Its builds are
// sorted newest first by creation time, the server's order kept among
// equal times and where a build lacks one; what sorts after the run that
// decides is dropped, so the memory it holds stays small however long the
// list. Adding a build can only move the end of that run closer (a newer
// build that is not cancelled serves instead), so nothing dropped is ever
// needed again.
type buildKeeper struct {
	always bool
	kept   []miosa.Build
	// last is the creation time of the build read last; untimed is set
	// once a build without one was read.
	last    *time.Time
	untimed bool
	// unordered: a build was newer than the one read before it, so the
	// list is not newest first and must be read to its end.
	unordered bool
}

// add takes the next build of the list and reports whether to read on.
func (k *buildKeeper) add(b miosa.Build) bool {
	if b.State == miosa.StateCancelled && !k.always {
		// Of a cancelled build the decision reads the id alone.
		b.BuildSpec, b.Metadata = nil, nil
	}
	if b.InsertedAt == nil {
		k.untimed = true
	} else if k.last != nil && b.InsertedAt.After(*k.last) {
		k.unordered = true
	}
	if b.InsertedAt != nil {
		k.last = b.InsertedAt
	}
	i := len(k.kept)
	if !k.untimed {
		for i > 0 && b.InsertedAt.After(*k.kept[i-1].InsertedAt) {
			i--
		}
	}
	k.kept = append(k.kept, miosa.Build{})
	copy(k.kept[i+1:], k.kept[i:])
	k.kept[i] = b
	end, decided := k.decides()
	if decided {
		clear(k.kept[end:])
		k.kept = k.kept[:end]
	} else if k.always {
		k.dropSameAsServed()
	}
	return !decided || k.unordered
}

// dropSameAsServed drops, while build: always looks for a build of another
// spec, the builds older than the served one and of its spec, which can
// never be that build (nor the newest, nor the served one): memory stays
// flat however many builds of one spec there are.
func (k *buildKeeper) dropSameAsServed() {
	served := slices.IndexFunc(k.kept, func(b miosa.Build) bool { return b.State != miosa.StateCancelled })
	if served < 0 {
		return
	}
	s := k.kept[served].BuildSpec
	if s == nil {
		return
	}
	older := slices.DeleteFunc(k.kept[served+1:], func(b miosa.Build) bool {
		return b.BuildSpec != nil && spec.Same(s, b.BuildSpec)
	})
	k.kept = k.kept[:served+1+len(older)]
}

// decides returns the length of the run of kept builds that decides the
// template, and whether the kept builds hold one.
func (k *buildKeeper) decides() (int, bool) {
	served := -1
	for i, b := range k.kept {
		if b.State != miosa.StateCancelled {
			served = i
			break
		}
	}
	if served < 0 {
		return 0, false
	}
	if !k.always {
		return served + 1, true
	}
	// build: always replaces the newest build of another spec: the
	// builds before the served one are cancelled, and any of them, or one
	// after it, may be that build.
	s := k.kept[served].BuildSpec
	for i, b := range k.kept {
		if i != served && (s == nil || b.BuildSpec == nil || !spec.Same(s, b.BuildSpec)) {
			return max(served, i) + 1, true
		}
	}
	return 0, false
}
