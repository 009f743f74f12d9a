package report

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Block is a piece of a Markdown document that Fit may leave out.
type Block struct {
	Text string
	// Rank orders what is left out: the highest rank first and, within a
	// rank, the last block first. Rank 0 is never left out.
	Rank int
}

// Section is a run of blocks between a Head and a Tail, which are always
// kept. When blocks are left out, Note(n) stands for the n of them, after
// the last block kept.
type Section struct {
	Name   string // what a block is, plural, for the cut line: "plan rows"
	Head   string
	Blocks []Block
	Note   func(n int) string // nil: no text stands for them
	Tail   string
}

// Count is how many blocks of a section were left out.
type Count struct {
	Name string
	N    int
}

// Fitted is a document fit within a limit.
type Fitted struct {
	Text string
	Cut  []Count // what was left out, by section, in order; empty when nothing was
}

// Fit joins sections into one document of at most limit bytes, leaving out
// blocks by rank until it fits (first any block too long to fit beside what
// is never left out, whatever its rank); a negative limit leaves out
// nothing. It returns more than limit bytes only when what is never left
// out is longer.
func Fit(sections []Section, limit int) Fitted {
	size := 0
	fixed := 0 // what is never left out
	type at struct{ sec, blk int }
	var cands []at
	for i, s := range sections {
		size += len(s.Head) + len(s.Tail)
		fixed += len(s.Head) + len(s.Tail)
		for j, b := range s.Blocks {
			size += len(b.Text)
			if b.Rank > 0 {
				cands = append(cands, at{i, j})
			} else {
				fixed += len(b.Text)
			}
		}
	}
	left := make([]int, len(sections))    // blocks left out, by section
	noteLen := make([]int, len(sections)) // the length of each section's note
	out := map[at]bool{}
	if limit >= 0 && size > limit {
		slices.SortFunc(cands, func(a, b at) int {
			return cmp.Or(
				cmp.Compare(sections[b.sec].Blocks[b.blk].Rank, sections[a.sec].Blocks[a.blk].Rank),
				cmp.Compare(b.sec, a.sec), cmp.Compare(b.blk, a.blk))
		})
		leave := func(c at) {
			s := sections[c.sec]
			out[c] = true
			size -= len(s.Blocks[c.blk].Text)
			left[c.sec]++
			if s.Note != nil {
				n := len(s.Note(left[c.sec]))
				size += n - noteLen[c.sec]
				noteLen[c.sec] = n
			}
		}
		// A block longer than the room beside what is never left out can
		// never be shown: it goes first, so that it does not take
		// everything ranked after it along.
		for _, c := range cands {
			if len(sections[c.sec].Blocks[c.blk].Text) > limit-fixed {
				leave(c)
			}
		}
		for _, c := range cands {
			if size <= limit {
				break
			}
			if !out[c] {
				leave(c)
			}
		}
	}
	var b strings.Builder
	b.Grow(min(size, limit) + 64)
	var f Fitted
	for i, s := range sections {
		b.WriteString(s.Head)
		for j, blk := range s.Blocks {
			if !out[at{i, j}] {
				b.WriteString(blk.Text)
			}
		}
		if left[i] > 0 {
			if s.Note != nil {
				b.WriteString(s.Note(left[i]))
			}
			f.Cut = append(f.Cut, Count{Name: s.Name, N: left[i]})
		}
		b.WriteString(s.Tail)
	}
	f.Text = b.String()
	return f
}

// CutRoom is room enough for a line that says what was left out (see
// FitNoted): its counts and where the whole text is.
const CutRoom = 1 << 10

// FitNoted is Fit with a line first that says what was left out, when
// anything was: line(cut), the sections being fit again into limit less
// room to make room for it. room must hold line's longest text.
func FitNoted(sections []Section, limit, room int, line func(cut []Count) string) string {
	f := Fit(sections, limit)
	if len(f.Cut) == 0 {
		return f.Text
	}
	f = Fit(sections, max(limit-room, 0))
	return line(f.Cut) + f.Text
}

// CutList says what was left out in words: "4,000 plan rows and 120 diffs".
func CutList(cut []Count) string {
	var parts []string
	for _, c := range cut {
		parts = append(parts, Number(c.N)+" "+c.Name)
	}
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// Number writes n with thousands separators: 12,345.
func Number(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// Plural is n and the noun, with an "s" unless n is 1: "1 file", "2 files".
func Plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%s %ss", Number(n), noun)
}
