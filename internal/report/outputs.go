package report

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
	"github.com/miosa-dev/sandbox-templates-action/internal/run"
)

// MaxOutput is the longest value FitOutputs gives a step output, in bytes:
// under GitHub's limit of 1 MB per output.
const MaxOutput = 900_000

// Outputs are the step outputs of a run, in order: single-line JSON or plain
// words, whole. The Actions adapter writes FitOutputs to GITHUB_OUTPUT; the
// CLI prints them.
func Outputs(res *run.Result) [][2]string {
	outs, _ := FitOutputs(res, -1)
	return outs
}

// OutputCut says how much of a JSON output FitOutputs kept.
type OutputCut struct {
	Name        string
	Kept, Total int // entries
}

// FitOutputs returns the step outputs with each value at most limit bytes
// (a negative limit keeps everything). A JSON array or object too long
// keeps whole entries, those of templates that change (or have a problem)
// before unchanged ones, in their order, so it stays valid JSON of the
// same shape; each one cut is in the list returned.
func FitOutputs(res *run.Result, limit int) ([][2]string, []OutputCut) {
	ids := res.BuildIDs()
	buildID := ""
	if len(ids) == 1 {
		for _, id := range ids {
			buildID = id
		}
	}
	quiet := unchangedNames(res)
	items := make([]entry, len(res.Plan.Items))
	for i, it := range res.Plan.Items {
		items[i] = entry{mustJSON(planItem(it)), it.Action == plan.Unchanged}
	}
	builds := make([]entry, len(res.Builds))
	for i, b := range res.Builds {
		builds[i] = entry{mustJSON(b), quiet[b.Name] && b.Action == "unchanged"}
	}
	changed := make([]entry, len(res.Changed))
	for i, n := range res.Changed {
		changed[i] = entry{mustJSON(n), false}
	}
	values := []struct {
		name    string
		plain   string
		entries []entry
		object  bool
	}{
		{name: "status", plain: res.Status},
		{name: "has-changes", plain: strconv.FormatBool(len(res.Changed) > 0)},
		{name: "changes-count", plain: strconv.Itoa(len(res.Changed))},
		{name: "plan", entries: items},
		{name: "template-ids", entries: objectEntries(res.TemplateIDs, quiet), object: true},
		{name: "build-ids", entries: objectEntries(ids, quiet), object: true},
		{name: "builds", entries: builds},
		{name: "build-id", plain: buildID},
		{name: "changed-templates", entries: changed},
	}
	outs := make([][2]string, len(values))
	var cuts []OutputCut
	for i, v := range values {
		if v.entries == nil {
			outs[i] = [2]string{v.name, v.plain}
			continue
		}
		open, end := "[", "]"
		if v.object {
			open, end = "{", "}"
		}
		text, kept := fitJSON(v.entries, open, end, limit)
		outs[i] = [2]string{v.name, text}
		if kept < len(v.entries) {
			cuts = append(cuts, OutputCut{Name: v.name, Kept: kept, Total: len(v.entries)})
		}
	}
	return outs, cuts
}

// entry is one element of a JSON array, or one member of an object, as
// JSON; quiet ones (of unchanged templates) are left out first.
type entry struct {
	json  string
	quiet bool
}

// fitJSON joins entries between open and end in at most limit bytes,
// keeping whole entries: every one that is not quiet before any quiet one,
// each kind in order. It returns the text and how many entries it holds.
func fitJSON(entries []entry, open, end string, limit int) (string, int) {
	size := len(open) + len(end) + max(len(entries)-1, 0)
	for _, e := range entries {
		size += len(e.json)
	}
	keep := make([]bool, len(entries))
	kept := 0
	if limit < 0 || size <= limit {
		for i := range keep {
			keep[i] = true
		}
		kept = len(entries)
	} else {
		size = len(open) + len(end)
		for _, quiet := range []bool{false, true} {
			for i, e := range entries {
				if e.quiet != quiet {
					continue
				}
				n := len(e.json)
				if kept > 0 {
					n++ // the comma
				}
				if size+n > limit {
					continue
				}
				size += n
				keep[i] = true
				kept++
			}
		}
	}
	var b strings.Builder
	b.Grow(size)
	b.WriteString(open)
	first := true
	for i, e := range entries {
		if !keep[i] {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(e.json)
	}
	b.WriteString(end)
	return b.String(), kept
}

// objectEntries are the members of a JSON object of names, sorted by name
// as encoding/json writes a map.
func objectEntries(m map[string]string, quiet map[string]bool) []entry {
	out := make([]entry, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, entry{mustJSON(k) + ":" + mustJSON(m[k]), quiet[k]})
	}
	return out
}

// unchangedNames are the templates whose every plan item is unchanged,
// and that this run did not change.
func unchangedNames(res *run.Result) map[string]bool {
	quiet := map[string]bool{}
	for _, it := range res.Plan.Items {
		if _, seen := quiet[it.Name]; !seen || it.Action != plan.Unchanged {
			quiet[it.Name] = it.Action == plan.Unchanged
		}
	}
	for _, n := range res.Changed {
		quiet[n] = false
	}
	return quiet
}
