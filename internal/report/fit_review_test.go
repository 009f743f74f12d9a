package report

import (
	"strings"
	"testing"
)

// One block longer than the limit beside what is never left out goes
// alone: the blocks ranked after it stay when they fit.
func TestFitReviewOneBlockOverTheLimit(t *testing.T) {
	t.Parallel()
	note := func(n int) string { return "(" + Number(n) + " more)" }
	secs := []Section{
		{Name: "changes", Head: "# head\n", Note: note, Blocks: []Block{
			{Rank: RankChanged, Text: strings.Repeat("é", 600)}, // 1,200 bytes
			{Rank: RankChanged, Text: "small change\n"},
		}},
		{Name: "unchanged", Note: note, Blocks: []Block{{Rank: RankUnchanged, Text: "aaaaaaaaaa, "}, {Rank: RankUnchanged, Text: "bbbbbbbbbb"}}},
	}
	f := Fit(secs, 1000)
	if want := "# head\nsmall change\n(1 more)aaaaaaaaaa, bbbbbbbbbb"; f.Text != want {
		t.Errorf("Fit = %q, want %q", f.Text, want)
	}
	if len(f.Cut) != 1 || f.Cut[0] != (Count{Name: "changes", N: 1}) {
		t.Errorf("Cut = %v, want the one change", f.Cut)
	}
	// With room for everything but the unchanged names, those go first.
	if f := Fit(secs, 1230); strings.Contains(f.Text, "aaaa") || !strings.Contains(f.Text, "small change") || !strings.Contains(f.Text, "(2 more)") {
		t.Errorf("Fit = %q, want the unchanged names out and the changes in", f.Text)
	}
}
