package plan

import (
	"fmt"
	"slices"
	"strings"
)

// Action is what a sync does to one template.
type Action int

// Actions, in the order a reader meets them.
const (
	Unchanged Action = iota
	Create
	Build
	Invalid
)

var actionNames = [...]string{"unchanged", "create", "build", "invalid"}

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

// BuildMode is the `build` input: when to trigger builds.
type BuildMode string

// Build modes.
const (
	BuildChanged BuildMode = "changed"
	BuildAlways  BuildMode = "always"
	BuildNever   BuildMode = "never"
)

// Desired is a template as the repository wants it.
type Desired struct {
	Name string
	File string
	// Digests identify the wanted spec: the local normalized digest first,
	// then any other form of the same spec (the server's normalized form).
	Digests []string
	// Problem is set when the template failed validation.
	Problem string
}

// RemoteBuild is a remote build as far as planning needs it.
type RemoteBuild struct {
	ID    string
	State string // normalized: queued, building, ..., ready, failed, cancelled
	// Digests identify the spec the build used (its build_spec, and the
	// digest this tool recorded in its metadata).
	Digests []string
	// Commit is what this tool recorded in the build's metadata; empty for
	// builds it did not make.
	Commit string
}

// Remote is a template that exists on the server.
type Remote struct {
	ID      string
	Name    string
	Slug    string
	Status  string
	BuiltIn bool
	// Builds, newest first. Nil when they were not fetched.
	Builds []RemoteBuild
	// SpecDigests identify the template's own build_spec, when known.
	SpecDigests []string
	// CreatedCommit is the commit recorded in the template's metadata at
	// create time, when the server keeps it.
	CreatedCommit string
}

// Options are the inputs that shape a plan.
type Options struct {
	Mode   BuildMode
	Commit string
}

// Item is the plan for one template.
type Item struct {
	Name       string `json:"name"`
	Action     Action `json:"action"`
	Reason     string `json:"reason"`
	TemplateID string `json:"template_id,omitempty"`
	File       string `json:"file,omitempty"`
	// Adopt names a build that this commit already made: a re-run reports it
	// instead of sending the request again.
	Adopt string `json:"-"`
	// Resume marks a create whose template an earlier attempt at this commit
	// made before it stopped: only the template's build is still to come.
	Resume bool `json:"-"`
}

// Done reports whether the item's change was already made at this commit.
func (it Item) Done() bool { return it.Adopt != "" }

// Plan is the whole plan: one item per desired template, sorted by name, and
// the remote templates that no file in the repository manages.
type Plan struct {
	Items     []Item   `json:"items"`
	Unmanaged []string `json:"unmanaged"`
}

// Changes counts the items that create or build at this commit, including
// ones a previous attempt at the same commit already made, so the count is
// the same on every re-run of a commit.
func (p Plan) Changes() int {
	n := 0
	for _, it := range p.Items {
		if it.Action == Create || it.Action == Build {
			n++
		}
	}
	return n
}

// Pending counts the changes not yet made on the server: the drift.
func (p Plan) Pending() int {
	n := 0
	for _, it := range p.Items {
		if (it.Action == Create || it.Action == Build) && !it.Done() {
			n++
		}
	}
	return n
}

// Changed lists the names of the templates that create or build.
func (p Plan) Changed() []string {
	names := []string{}
	for _, it := range p.Items {
		if it.Action == Create || it.Action == Build {
			names = append(names, it.Name)
		}
	}
	return names
}

// Compute is the pure planning function.
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
	matched := map[*Remote]bool{}
	p := Plan{Items: make([]Item, 0, len(desired)), Unmanaged: []string{}}
	for _, d := range desired {
		r := byKey[d.Name]
		if r != nil {
			matched[r] = true
		}
		p.Items = append(p.Items, decide(d, r, opts))
	}
	for i := range remote {
		r := &remote[i]
		if !r.BuiltIn && !matched[r] {
			p.Unmanaged = append(p.Unmanaged, cmpName(r))
		}
	}
	slices.SortFunc(p.Items, func(a, b Item) int { return strings.Compare(a.Name, b.Name) })
	slices.Sort(p.Unmanaged)
	p.Unmanaged = slices.Compact(p.Unmanaged)
	return p
}

func cmpName(r *Remote) string {
	if r.Name != "" {
		return r.Name
	}
	return r.Slug
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
		it.Action, it.Reason = Create, reasonNotFound
		return it
	}
	it.TemplateID = r.ID

	// A build made at this very commit for this spec: a re-run reports it
	// as the first attempt did.
	if i, ok := madeAtCommit(d, r, opts.Commit); ok {
		it.Adopt = r.Builds[i].ID
		it.Action, it.Reason = Build, replayReason(d, r.Builds[i+1:], opts.Mode)
		if r.CreatedCommit == opts.Commit {
			it.Action, it.Reason = Create, reasonNotFound
		}
		return it
	}

	if opts.Commit != "" && r.CreatedCommit == opts.Commit && len(r.Builds) == 0 &&
		(len(r.SpecDigests) == 0 || Overlaps(d.Digests, r.SpecDigests)) {
		it.Action, it.Reason, it.Resume = Create, reasonNotFound, true
		return it
	}

	newest, hasNewest := newestLive(r.Builds)
	switch {
	case opts.Mode == BuildAlways:
		it.Action, it.Reason = Build, "build: always"
	case hasNewest && Overlaps(d.Digests, newest.Digests):
		it.Action, it.Reason = Unchanged, "spec unchanged (build "+newest.ID+")"
	case len(r.Builds) == 0 && Overlaps(d.Digests, r.SpecDigests) && r.Status == "ready":
		it.Action, it.Reason = Unchanged, "spec unchanged (template ready)"
	case hasNewest && opaque(r.Builds) && Overlaps(d.Digests, r.SpecDigests):
		// The server's builds say nothing of their spec: the template's own
		// spec and its newest build stand in for them.
		it.Action, it.Reason = Unchanged, "spec unchanged (build "+newest.ID+")"
	case opts.Mode == BuildNever:
		it.Action, it.Reason = Unchanged, "needs a build, skipped (build: never)"
	case len(r.Builds) == 0:
		it.Action, it.Reason = Build, "no build yet"
	case lastFailedForSpec(d, r):
		it.Action, it.Reason = Build, "last build of this spec failed"
	default:
		it.Action, it.Reason = Build, reasonChanged
	}
	return it
}

// Reasons that a re-run repeats.
const (
	reasonChanged  = "spec changed"
	reasonNotFound = "not found"
)

// madeAtCommit finds a build of the wanted spec that this tool made at the
// given commit, or the build queued by creating the template at that commit,
// and returns its index.
func madeAtCommit(d Desired, r *Remote, commit string) (int, bool) {
	if commit == "" {
		return 0, false
	}
	for i, b := range r.Builds {
		if Overlaps(d.Digests, b.Digests) && b.Commit == commit {
			return i, true
		}
	}
	if r.CreatedCommit == commit {
		for i, b := range r.Builds {
			if b.Commit == "" && Overlaps(d.Digests, b.Digests) {
				return i, true
			}
		}
	}
	return 0, false
}

// replayReason is the reason the first attempt gave for a build, told again
// from the builds that were there before it.
func replayReason(d Desired, older []RemoteBuild, mode BuildMode) string {
	switch {
	case mode == BuildAlways:
		return "build: always"
	case len(older) == 0:
		return "no build yet"
	case older[0].State == "failed" && Overlaps(d.Digests, older[0].Digests):
		return "last build of this spec failed"
	}
	return reasonChanged
}

// newestLive is the newest build that is ready or still in progress: the
// one that serves the template, or will. Builds are newest first.
func newestLive(builds []RemoteBuild) (RemoteBuild, bool) {
	for _, b := range builds {
		if b.State != "failed" && b.State != "cancelled" {
			return b, true
		}
	}
	return RemoteBuild{}, false
}

func lastFailedForSpec(d Desired, r *Remote) bool {
	return len(r.Builds) > 0 && r.Builds[0].State == "failed" && Overlaps(d.Digests, r.Builds[0].Digests)
}

// opaque reports whether builds exist and none says which spec it used.
func opaque(builds []RemoteBuild) bool {
	for _, b := range builds {
		if len(b.Digests) > 0 {
			return false
		}
	}
	return len(builds) > 0
}

// Overlaps reports whether two lists of spec digests name a common spec.
func Overlaps(a, b []string) bool {
	for _, x := range a {
		if x != "" && slices.Contains(b, x) {
			return true
		}
	}
	return false
}
