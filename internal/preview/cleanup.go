package preview

import (
	"cmp"
	"slices"
)

// Row is a template as the server's list shows it. A list row carries no
// slug; a preview's name is its slug, as this tool creates it.
type Row struct {
	ID, Name, Description string
	BuiltIn               bool
}

// Candidate is a row that looks like one of the repository's previews: its
// name carries the repository's pattern and its description the mark for
// the same pull request. It is deleted only once the template read by id
// confirms it (Owns on its slug and description).
type Candidate struct {
	Row
	PR int
}

// Candidates are the rows of repo's previews, sorted by pull request and
// name; pr, when above 0, keeps only that pull request's.
func Candidates(rows []Row, repo string, pr int) []Candidate {
	var out []Candidate
	for _, r := range rows {
		if r.BuiltIn {
			continue
		}
		n, ok := Owns(r.Name, r.Description, repo)
		if !ok || (pr > 0 && n != pr) {
			continue
		}
		out = append(out, Candidate{Row: r, PR: n})
	}
	slices.SortFunc(out, func(a, b Candidate) int {
		return cmp.Or(cmp.Compare(a.PR, b.PR), cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// Numbers are the pull requests the candidates preview, ascending, once
// each: the ones whose state a clean-up asks GitHub for.
func Numbers(cands []Candidate) []int {
	var out []int
	for _, c := range cands {
		if !slices.Contains(out, c.PR) {
			out = append(out, c.PR)
		}
	}
	slices.Sort(out)
	return out
}

// State is a pull request's state as GitHub answered it.
type State int

// States of a pull request.
const (
	Unknown State = iota // GitHub did not answer: nothing of it is deleted
	Open
	Closed // closed or merged
)

// CleanupPlan is what a clean-up does with the candidates.
type CleanupPlan struct {
	Delete []Candidate // previews of closed pull requests
	Keep   []Candidate // previews of open pull requests
	// Unknown are previews of pull requests whose state GitHub did not
	// tell: kept, and said.
	Unknown []Candidate
}

// Plan decides a clean-up: the previews of the pull requests GitHub says
// are closed are deleted; every other one is kept.
func Plan(cands []Candidate, states map[int]State) CleanupPlan {
	var p CleanupPlan
	for _, c := range cands {
		switch states[c.PR] {
		case Closed:
			p.Delete = append(p.Delete, c)
		case Open:
			p.Keep = append(p.Keep, c)
		default:
			p.Unknown = append(p.Unknown, c)
		}
	}
	return p
}
