package plan

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
)

// Action is what a sync does to one template.
type Action int

// Actions, in the order a reader meets them.
const (
	Unchanged Action = iota
	Create
	Build
	Invalid
	// Refused is a build this run will not make without consent: the served
	// build may come from a newer commit, so replacing it may roll back.
	Refused
	// Describe is a description change, which no API call can apply to an
	// existing template: reported, never written.
	Describe
	// Unreadable is a template whose builds could not be read: nothing is
	// decided for it.
	Unreadable
	// Superseded is a write this run leaves to a newer commit: the deploy
	// target's head holds other content for the file, and descends from
	// this run's commit. Nothing is written; it is no failure.
	Superseded
	// OffTarget is a write this run skips because its commit is not on the
	// deploy target's history (a force-push reset, a rewritten history):
	// nothing is written, with a warning.
	OffTarget
)

var actionNames = [...]string{"unchanged", "create", "build", "invalid", "refused", "description", "unreadable", "superseded", "off-target"}

// String returns the action's lowercase name.
func (a Action) String() string {
	if a < 0 || int(a) >= len(actionNames) {
		return fmt.Sprintf("action(%d)", int(a))
	}
	return actionNames[a]
}

// MarshalText encodes the action as its name.
func (a Action) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText decodes an action name.
func (a *Action) UnmarshalText(b []byte) error {
	i := slices.Index(actionNames[:], string(b))
	if i < 0 {
		return fmt.Errorf("unknown action %q", b)
	}
	*a = Action(i)
	return nil
}

// Writes reports whether the action sends a write to the API.
func (a Action) Writes() bool { return a == Create || a == Build }

// BuildMode is the `build` input: when to trigger builds.
type BuildMode string

// Build modes.
const (
	BuildChanged BuildMode = "changed"
	BuildAlways  BuildMode = "always"
	BuildNever   BuildMode = "never"
)

// Build states the plan distinguishes (normalized by the client).
const (
	StateReady     = "ready"
	StateFailed    = "failed"
	StateCancelled = "cancelled"
)

// Desired is a template as the repository wants it at this commit.
type Desired struct {
	Name        string
	File        string
	Description string
	// Digests identify the wanted spec: the local normalized digest first,
	// then the server's normalized form of it when the validate endpoint
	// told it.
	Digests []string
	// Written is the build spec as the file writes it (no defaults filled):
	// a served spec that differs from it only in keys it does not set
	// differs by the server's defaults alone.
	Written map[string]any
	// Validated marks Digests as holding the server's normalized form.
	Validated bool
	// Wanted is the spec as the server serves it once built: the server's
	// normalized form of the file's spec, or the file's spec filled with
	// the server's defaults. Nil when the server could not say (no validate
	// endpoint): then fields the file does not set count as defaults.
	Wanted map[string]any
	// Order is what the deploy target says of this file's content.
	Order Order
	// Match is the id of the remote template the caller matched to this
	// one, when Options.Matched; "" for none (create).
	Match string
	// Problem is set when the template failed validation.
	Problem string
}

// OrderState is where this run's content of a file stands against the
// deploy target's head.
type OrderState int

// Order states.
const (
	// OrderUnknown: no evidence from git; the clock rule guards writes.
	OrderUnknown OrderState = iota
	// OrderAtHead: the target's head holds this content: write it,
	// whatever is served.
	OrderAtHead
	// OrderSuperseded: the head holds other content and descends from this
	// commit: a newer commit deploys it.
	OrderSuperseded
	// OrderOffTarget: the head holds other content and does not descend
	// from this commit.
	OrderOffTarget
)

// Order is the deploy target's word on one file.
type Order struct {
	State OrderState
	// Evidence names what decided, for the plan: "main at 1a2b3c4 holds
	// this file".
	Evidence string
	// Why says why a write is skipped, for Superseded and OffTarget.
	Why string
}

// RemoteBuild is a remote build as far as planning needs it.
type RemoteBuild struct {
	ID    string
	State string // normalized: queued, building, ..., ready, failed, cancelled
	// Digest identifies the spec the build used; empty when the server did
	// not say.
	Digest string
	// Spec is the build's (server-normalized) build_spec.
	Spec map[string]any
	// ErrorCode and ErrorMessage are why a failed build failed.
	ErrorCode    string
	ErrorMessage string
	// LogURL is where the build's log is, when the server says.
	LogURL string
	// InsertedAt is when the server made the build; zero when unknown.
	InsertedAt time.Time
	// Commit and CommitTime are what this tool wrote into the build's
	// metadata, when the server keeps client metadata (it may not).
	Commit     string
	CommitTime time.Time
}

// Remote is a template that exists on the server.
type Remote struct {
	ID          string
	Name        string
	Slug        string
	Status      string
	Description string
	BuiltIn     bool
	// Builds, newest first. Nil when they were not read. Set them with
	// SetBuilds, which also says which one serves.
	Builds []RemoteBuild
	// Serving is the build that decides what the template serves (see
	// Served); HasServing is false when no build does.
	Serving    RemoteBuild
	HasServing bool
	// ReadError says why the builds could not be read.
	ReadError string
	// Listed, when set, says why the builds were not read and the list row
	// alone shows the template serving its file's spec (the run's scope):
	// the item is unchanged, with this reason.
	Listed string
}

// SetBuilds records a template's builds, newest first, and the build that
// serves it: the one place that decides which build serves.
func (r *Remote) SetBuilds(builds []RemoteBuild) {
	r.Builds = builds
	r.Serving, r.HasServing = Served(builds)
}

// Options are the inputs that shape a plan.
type Options struct {
	Mode   BuildMode
	Commit string
	// CommitTime is when this run's commit was made; zero when the run
	// cannot tell, which disables the rollback guard.
	CommitTime time.Time
	// AllowRollback lets a build replace a served build that may come from a
	// newer commit.
	AllowRollback bool
	// Managed are the names the repository's files hold, filtered out or
	// not: remote templates with these names are never "unmanaged".
	Managed []string
	// Matched says the caller matched every desired template to its remote
	// row (Desired.Match): Compute then matches nothing by name or slug.
	Matched bool
	// RefuseUnordered, when set, refuses every write whose order is
	// unknown, with this reason: an event with no commit time, where the
	// deploy target could not be asked.
	RefuseUnordered string
}

// Item is the plan for one template.
type Item struct {
	Name       string `json:"name"`
	Action     Action `json:"action"`
	Reason     string `json:"reason"`
	TemplateID string `json:"template_id,omitempty"`
	File       string `json:"file,omitempty"`
	// Serving is the build of the wanted spec that serves the template, or
	// is in progress towards it, when nothing is to be done.
	Serving string `json:"-"`
	// ServingState is that build's state.
	ServingState string `json:"-"`
	// Base is the build that this item's write replaces ("" for none): part
	// of the write's idempotency key.
	Base string `json:"-"`
	// Always marks a build made only because of `build: always`.
	Always bool `json:"-"`
	// Changes are the fields this item's write changes (or, refused, would
	// change), from the served spec to the wanted one, both normalized.
	Changes []Change `json:"changes,omitempty"`
	// Evidence says what decided the commit order of a write: the deploy
	// target's head, or the clock.
	Evidence string `json:"evidence,omitempty"`
	// DefaultsOnly lists the keys in which the served spec differs from the
	// file only where the file sets nothing: a server default, or a field
	// the file no longer sets. The server's normalized form decides, when
	// it can be had.
	DefaultsOnly []string `json:"-"`
}

// Plan is the whole plan: one item per desired template (and one more for
// each description change), sorted by name, and the remote templates that no
// file in the repository manages.
type Plan struct {
	Items     []Item   `json:"items"`
	Unmanaged []string `json:"unmanaged"`
}

// Changes counts the items that create or build.
func (p Plan) Changes() int {
	n := 0
	for _, it := range p.Items {
		if it.Action.Writes() {
			n++
		}
	}
	return n
}

// Pending counts what differs between the repository and the server that a
// run could change: the writes and the refused builds. fail-on-changes
// fails when it is not zero. A description change is not counted: no call
// can apply it.
func (p Plan) Pending() int {
	n := 0
	for _, it := range p.Items {
		switch it.Action {
		case Create, Build, Refused:
			n++
		}
	}
	return n
}

// Changed lists the names of the templates that create or build.
func (p Plan) Changed() []string {
	names := []string{}
	for _, it := range p.Items {
		if it.Action.Writes() {
			names = append(names, it.Name)
		}
	}
	return names
}

// Count counts the items with the action.
func (p Plan) Count(a Action) int {
	n := 0
	for _, it := range p.Items {
		if it.Action == a {
			n++
		}
	}
	return n
}

// Compute is the pure planning function: for each desired template it
// compares the wanted spec with what the server serves now.
func Compute(desired []Desired, remote []Remote, opts Options) Plan {
	if opts.Mode == "" {
		opts.Mode = BuildChanged
	}
	byKey := map[string]*Remote{}
	for i := range remote {
		r := &remote[i]
		if r.BuiltIn {
			continue
		}
		for _, k := range []string{r.Slug, r.Name} {
			if k != "" {
				if _, dup := byKey[k]; !dup {
					byKey[k] = r
				}
			}
		}
	}
	managed := map[*Remote]bool{}
	wanted := map[string]bool{}
	for _, d := range desired {
		wanted[d.Name] = opts.Matched
	}
	for _, n := range opts.Managed {
		if r := byKey[n]; r != nil && !wanted[n] {
			managed[r] = true // a file the templates filter left out
		}
	}
	p := Plan{Items: make([]Item, 0, len(desired)), Unmanaged: []string{}}
	byID := map[string]*Remote{}
	for i := range remote {
		byID[remote[i].ID] = &remote[i]
	}
	for _, d := range desired {
		r := byKey[d.Name]
		if opts.Matched {
			r = byID[d.Match]
		}
		if r != nil {
			managed[r] = true
		}
		it := ordered(decide(d, r, opts), d, opts)
		switch it.Action {
		case Create:
			it.Changes = Diff(nil, d.Written)
		case Build, Refused, Superseded, OffTarget:
			if r != nil && r.HasServing {
				it.Changes = Diff(spec.Prune(r.Serving.Spec), spec.Prune(d.wanted()))
			} else if r == nil {
				it.Changes = Diff(nil, d.Written)
			}
		}
		p.Items = append(p.Items, it)
		if r != nil && d.Problem == "" && d.Description != r.Description {
			p.Items = append(p.Items, describe(d, r))
		}
	}
	for i := range remote {
		r := &remote[i]
		if !r.BuiltIn && !managed[r] {
			p.Unmanaged = append(p.Unmanaged, cmpName(r))
		}
	}
	slices.SortStableFunc(p.Items, func(a, b Item) int { return strings.Compare(a.Name, b.Name) })
	slices.Sort(p.Unmanaged)
	p.Unmanaged = slices.Compact(p.Unmanaged)
	return p
}

// wanted is the spec the template should serve, as far as it is known.
func (d Desired) wanted() map[string]any {
	if d.Wanted != nil {
		return d.Wanted
	}
	return d.Written
}

// ordered applies the deploy target's word to a write: a write whose file
// the target's head holds goes ahead; one a newer commit supersedes, or
// one off the target's history, is skipped unless rollbacks are allowed;
// one with no order evidence is refused when the run must not guess.
func ordered(it Item, d Desired, opts Options) Item {
	if !it.Action.Writes() {
		return it
	}
	switch d.Order.State {
	case OrderAtHead:
		it.Evidence = d.Order.Evidence
	case OrderSuperseded, OrderOffTarget:
		it.Evidence = d.Order.Evidence
		if opts.AllowRollback {
			it.Reason += "; " + d.Order.Why + " (allow-rollback: true)"
			return it
		}
		it.Action, it.Reason, it.Base, it.Always = Superseded, d.Order.Why, "", false
		if d.Order.State == OrderOffTarget {
			it.Action = OffTarget
		}
	default:
		if opts.RefuseUnordered != "" && !opts.AllowRollback {
			it.Action, it.Reason, it.Evidence = Refused, opts.RefuseUnordered, "none"
		} else if !opts.CommitTime.IsZero() {
			it.Evidence = "commit time"
		}
	}
	return it
}

func cmpName(r *Remote) string {
	if r.Name != "" {
		return r.Name
	}
	return r.Slug
}

// describe is the item of a description change.
func describe(d Desired, r *Remote) Item {
	return Item{Name: d.Name, File: d.File, TemplateID: r.ID, Action: Describe,
		Reason: fmt.Sprintf("changed from %q to %q; Miosa has no update call for templates, so it applies only when the template is created again",
			clip(r.Description), clip(d.Description))}
}

func clip(s string) string {
	const max = 60
	if r := []rune(s); len(r) > max {
		return string(r[:max]) + "…"
	}
	return s
}

// newestID is the newest build of any state: the base a write's key names,
// so that a cancelled build, which serves nothing, still makes the next
// write a new one.
func newestID(builds []RemoteBuild) string {
	if len(builds) == 0 {
		return ""
	}
	return builds[0].ID
}

// Served is the build that decides what a template serves: the newest build
// that was not cancelled (the server's current build, or the build in
// progress that will become it). ok is false when there is none.
func Served(builds []RemoteBuild) (RemoteBuild, bool) {
	for _, b := range builds {
		if b.State != StateCancelled {
			return b, true
		}
	}
	return RemoteBuild{}, false
}

func decide(d Desired, r *Remote, opts Options) Item {
	it := Item{Name: d.Name, File: d.File}
	if d.Problem != "" {
		it.Action, it.Reason = Invalid, d.Problem
		if r != nil {
			it.TemplateID = r.ID
		}
		return it
	}
	if r == nil {
		it.Action, it.Reason = Create, "not found"
		return it
	}
	it.TemplateID = r.ID
	if r.Builds == nil && r.ReadError != "" {
		it.Action, it.Reason = Unreadable, "its builds could not be read: "+r.ReadError
		return it
	}
	if r.Builds == nil && r.Listed != "" {
		it.Action, it.Reason = Unchanged, r.Listed
		return it
	}
	served, ok := r.Serving, r.HasServing
	if !ok {
		if opts.Mode == BuildNever {
			it.Action, it.Reason = Unchanged, "no build yet; skipped (build: never)"
			return it
		}
		it.Action, it.Reason = Build, "no build yet"
		return it
	}
	keys, match := Matched(d, served)
	it.DefaultsOnly = keys
	switch {
	case match && served.State == StateFailed:
		if opts.Mode == BuildNever {
			it.Action, it.Reason = Unchanged, fmt.Sprintf("build %s of this spec failed; skipped (build: never)", served.ID)
			return it
		}
		it.Action, it.Base = Build, newestID(r.Builds)
		it.Reason = fmt.Sprintf("build %s of this spec failed%s: rebuild", served.ID, codeSuffix(served.ErrorCode))
		return it
	case match && opts.Mode == BuildAlways && served.State == StateReady:
		// A build of this spec in progress is as fresh as a new one: build:
		// always adds none (two racing runs make one build).
		it.Action, it.Reason, it.Always = Build, "build: always", true
		// The base is the newest build of another spec: re-runs of this
		// commit send one key (one build), and a build of another spec
		// since then makes the next always-build a new one.
		for _, b := range r.Builds {
			if _, same := Matched(d, b); !same {
				it.Base = b.ID
				break
			}
		}
		return it
	case match:
		it.Action, it.Serving, it.ServingState = Unchanged, served.ID, served.State
		it.Reason = fmt.Sprintf("served by build %s (%s)", served.ID, served.State)
		if served.State != StateReady {
			it.Reason = fmt.Sprintf("build %s of this spec is %s", served.ID, served.State)
		}
		return it
	case opts.Mode == BuildNever:
		it.Action, it.Reason = Unchanged, fmt.Sprintf("build %s serves another spec; skipped (build: never)", served.ID)
		return it
	}
	it.Base = newestID(r.Builds)
	why := ""
	if d.Order.State == OrderUnknown {
		why = Rollback(d, served, opts) // the clock rule, without the target's word
	}
	if why != "" && !opts.AllowRollback {
		it.Action, it.Reason = Refused, why
		return it
	}
	it.Action = Build
	switch {
	case served.State == StateFailed:
		it.Reason = fmt.Sprintf("spec changed (build %s of another spec failed%s)", served.ID, codeSuffix(served.ErrorCode))
	case why != "":
		it.Reason = fmt.Sprintf("rollback allowed: build %s, made after this commit, serves another spec (allow-rollback: true)", served.ID)
	case d.Order.State != OrderUnknown:
		it.Reason = fmt.Sprintf("spec changed (build %s serves another spec)", served.ID)
	case newerThanCommit(served, opts) && served.Commit != "" && served.Commit == opts.Commit:
		it.Reason = fmt.Sprintf("spec changed at this commit (build %s serves another spec)", served.ID)
	case newerThanCommit(served, opts):
		it.Reason = fmt.Sprintf("spec changed (build %s, made after this commit, serves a spec of older history)", served.ID)
	default:
		it.Reason = fmt.Sprintf("spec changed (build %s serves another spec)", served.ID)
	}
	return it
}

// Matched reports whether a served build is of the wanted spec. With the
// server's normalized form (Wanted), the two must mean the same in every
// field, so removing a field and drift that adds one both differ. Without
// it, the keys in which the served spec differs only where the file sets
// nothing are taken as defaults and returned.
func Matched(d Desired, served RemoteBuild) (defaultsOnly []string, ok bool) {
	if d.Wanted != nil && served.Spec != nil {
		return nil, spec.Same(d.Wanted, served.Spec)
	}
	if Matches(d.Digests, served.Digest) {
		return nil, true
	}
	if served.Digest == "" {
		return nil, false
	}
	// The served spec differs only where the file sets nothing: the
	// server's defaults, unless a field was removed. Until the server's
	// normalized form says otherwise, that is no change.
	return spec.DefaultsOnly(d.Written, served.Spec)
}

func codeSuffix(code string) string {
	if code == "" {
		return ""
	}
	return ", " + code
}

// Rollback is the clock rule, for runs the deploy target could not order:
// it says why replacing served may roll the template back to an older
// commit's spec, or "" when it may not. Evidence, strongest first: the
// commit metadata this tool wrote into the build (when the server keeps
// it), then the build's creation time against this commit's time.
func Rollback(d Desired, served RemoteBuild, opts Options) string {
	if opts.CommitTime.IsZero() {
		return ""
	}
	if served.Commit != "" && served.Commit == opts.Commit {
		return "" // made at this very commit: a re-run repairs it
	}
	if !served.CommitTime.IsZero() {
		if served.CommitTime.After(opts.CommitTime) {
			return fmt.Sprintf("possible rollback: build %s serves another spec from commit %s, made %s, after this commit (%s); set allow-rollback: true to replace it",
				served.ID, ShortSHA(served.Commit), stamp(served.CommitTime), stamp(opts.CommitTime))
		}
		return ""
	}
	if newerThanCommit(served, opts) {
		return fmt.Sprintf("possible rollback: build %s serves another spec and was made %s, after this commit (%s): a newer commit or a build made by hand; set allow-rollback: true to replace it",
			served.ID, stamp(served.InsertedAt), stamp(opts.CommitTime))
	}
	return ""
}

func newerThanCommit(b RemoteBuild, opts Options) bool {
	return !opts.CommitTime.IsZero() && !b.InsertedAt.IsZero() && b.InsertedAt.After(opts.CommitTime)
}

// ShortSHA is a commit SHA shortened to 12 characters, for messages.
func ShortSHA(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Matches reports whether a build's spec digest is one of the wanted ones.
func Matches(wanted []string, digest string) bool {
	return digest != "" && slices.Contains(wanted, digest)
}
