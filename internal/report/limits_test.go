package report

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
	"github.com/miosa-dev/sandbox-templates-action/internal/golden"
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
	"github.com/miosa-dev/sandbox-templates-action/internal/run"
)

// atScale is an apply of n templates: every tenth created, every
// twentieth built (from another spec), the rest unchanged; each has its
// build and template id, and every fiftieth file has a problem.
func atScale(n int) *run.Result {
	res := &run.Result{Mode: run.ModeApply, Status: run.StatusFailed, Online: true, Files: n, Planned: true,
		Commit: "3fa9c1d2e4b5a6978877665544332211ffeeddcc", TemplateIDs: map[string]string{}, Changed: []string{}}
	for i := range n {
		name := fmt.Sprintf("template-%05d", i)
		it := plan.Item{Name: name, Action: plan.Unchanged, Reason: "served by build b-1 (ready)", File: "sandbox-templates/" + name + ".yaml"}
		action := "unchanged"
		switch {
		case i%10 == 0:
			it.Action, it.Reason, action = plan.Create, "not found", "create"
			it.Changes = plan.Diff(nil, map[string]any{"from": "node:22-bookworm", "steps": []any{map[string]any{"run": "npm ci --omit=dev"}}})
		case i%20 == 5:
			it.Action, it.Reason, action = plan.Build, "spec changed (build b-1 serves another spec)", "build"
			it.Changes = plan.Diff(map[string]any{"from": "node:20"}, map[string]any{"from": "node:22"})
		}
		if it.Action.Writes() {
			res.Changed = append(res.Changed, name)
		}
		res.Plan.Items = append(res.Plan.Items, it)
		id := fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
		res.TemplateIDs[name] = "t-" + id
		res.Builds = append(res.Builds, run.BuildResult{Name: name, TemplateID: "t-" + id, BuildID: "b-" + id, State: "ready", Action: action,
			Made: action != "unchanged", IdempotencyKey: map[bool]string{true: "k-" + id}[action != "unchanged"]})
		if i%50 == 0 {
			res.Diagnostics = append(res.Diagnostics, diag.Diagnostic{Path: it.File, Line: 3, Col: 7, Field: "build_spec.from",
				Message: "a problem of " + name, Rule: "schema", Severity: diag.Warning})
		}
	}
	return res
}

// At N=5000 and 10,000 the job summary stays under GitHub's 1 MiB, keeps
// every problem and every changed template's row, and says under its
// title what it left out and where everything is.
func TestSummaryAtScale(t *testing.T) {
	t.Parallel()
	for _, n := range []int{5000, 10000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			res := atScale(n)
			const planFile = "sandbox-templates-results/plan-42-sync.json"
			_, cuts := FitOutputs(res, MaxOutput)
			got := SummaryWithin(res, Room{Limit: MaxSummary, PlanFile: planFile, OutputCuts: cuts})
			if len(got) > MaxSummary || len(got) >= 1<<20 {
				t.Fatalf("summary of %d bytes, over %d", len(got), MaxSummary)
			}
			if full := len(SummaryWithin(res, Room{Limit: 1 << 30})); full <= MaxSummary {
				t.Fatalf("the whole summary is %d bytes: the test does not cut", full)
			}
			if n == 5000 {
				golden.Check(t, filepath.Join("testdata", "summary-5000-head.md"), strings.Join(strings.SplitAfter(got, "\n")[:24], ""))
			}
			cutLine := regexp.MustCompile(`(?m)^> ✂️ \*\*Cut to fit GitHub's limit of 1 MiB for a job summary:\*\* (.*) left out\. Everything is in the plan file ` +
				"`" + regexp.QuoteMeta(planFile) + "`").FindStringSubmatch(got)
			if cutLine == nil {
				t.Fatal("no line says what was cut and where everything is")
			}
			if !strings.Contains(got, "**Step outputs cut to fit GitHub's limit of 1 MB per output:**") {
				t.Error("the summary does not say which outputs were cut")
			}
			rowOf := map[string]bool{} // the first two cells of each table row
			for _, line := range strings.Split(got, "\n") {
				if cells := strings.SplitN(strings.TrimPrefix(line, "| "), " | ", 3); len(cells) == 3 {
					rowOf[cells[0]+" | "+cells[1]] = true
				}
			}
			for _, d := range res.Diagnostics {
				if !rowOf[fmt.Sprintf("`%s` | %d:%d", d.Path, d.Line, d.Col)] {
					t.Fatalf("problem of %s left out", d.Path)
				}
			}
			for i, it := range res.Plan.Items {
				if it.Action.Writes() && !rowOf[it.Name+" | "+ActionIcon(it.Action)+" "+it.Action.String()] {
					t.Fatalf("changed template %d, %s, has no plan row", i, it.Name)
				}
			}
			rows := strings.Count(got, " | ✔️ unchanged | ")
			more := regexp.MustCompile(`\| … \| \| ([0-9,]+) more templates, not shown \| \|`).FindStringSubmatch(got)
			switch {
			case more == nil && rows != n-len(res.Changed):
				t.Errorf("%d unchanged rows, and no row says how many are left out", rows)
			case more != nil && strings.ReplaceAll(more[1], ",", "") != fmt.Sprint(n-len(res.Changed)-rows):
				t.Errorf("%d unchanged rows kept; the table's last row says %s more", rows, more[1])
			case more != nil && !strings.Contains(cutLine[1], " plan rows"):
				t.Errorf("plan rows were cut, but the cut line says %q", cutLine[1])
			case n == 10000 && more == nil:
				t.Error("at 10,000 no plan row was cut: the test does not reach the plan table")
			}
		})
	}
}

// The Fit of a document that fits leaves it as it is: the summary of a
// small run is the same whatever the room.
func TestFitKeepsWhatFits(t *testing.T) {
	t.Parallel()
	res := hostile()
	if a, b := SummaryWithin(res, Room{Limit: MaxSummary}), SummaryWithin(res, Room{Limit: 1 << 30}); a != b || strings.Contains(a, "Cut to fit") {
		t.Errorf("a summary that fits was changed:\n%s", cmp.Diff(b, a))
	}
}

// Each output stays under GitHub's limit as valid JSON of its shape,
// keeping whole entries, the changed templates' first; an output that
// fits is what encoding/json writes.
func TestFitOutputs(t *testing.T) {
	t.Parallel()
	for _, n := range []int{10, 10000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			res := atScale(n)
			outs, cuts := FitOutputs(res, MaxOutput)
			whole := map[string]string{}
			for _, kv := range Outputs(res) {
				whole[kv[0]] = kv[1]
			}
			cut := map[string]OutputCut{}
			for _, c := range cuts {
				cut[c.Name] = c
			}
			for _, kv := range outs {
				name, v := kv[0], kv[1]
				if len(v) > MaxOutput || len(v) >= 1_000_000 {
					t.Errorf("%s is %d bytes", name, len(v))
				}
				c, wasCut := cut[name]
				if !wasCut {
					if v != whole[name] {
						t.Errorf("%s was changed, though it fits", name)
					}
					continue
				}
				var arr []json.RawMessage
				var obj map[string]json.RawMessage
				switch {
				case json.Unmarshal([]byte(v), &arr) == nil:
					if len(arr) != c.Kept {
						t.Errorf("%s holds %d entries, the cut says %d", name, len(arr), c.Kept)
					}
				case json.Unmarshal([]byte(v), &obj) == nil:
					if len(obj) != c.Kept {
						t.Errorf("%s holds %d entries, the cut says %d", name, len(obj), c.Kept)
					}
				default:
					t.Fatalf("%s is not JSON once cut", name)
				}
				if c.Kept >= c.Total || len(v) < MaxOutput-2000 {
					t.Errorf("%s: %+v in %d bytes", name, c, len(v))
				}
			}
			// Changed templates' entries are kept before unchanged ones.
			var items []PlanItem
			var builds []run.BuildResult
			for _, kv := range outs {
				switch kv[0] {
				case "plan":
					_ = json.Unmarshal([]byte(kv[1]), &items)
				case "builds":
					_ = json.Unmarshal([]byte(kv[1]), &builds)
				}
			}
			changed := 0
			for _, it := range items {
				if it.Action != plan.Unchanged {
					changed++
				}
			}
			made := 0
			for _, b := range builds {
				if b.Action != "unchanged" {
					made++
				}
			}
			if changed != len(res.Changed) || made != len(res.Changed) {
				t.Errorf("%d changed plan items and %d builds made kept, want all %d", changed, made, len(res.Changed))
			}
			if n == 10 && len(cuts) > 0 {
				t.Errorf("10 templates cut %v", cuts)
			}
			if n == 10000 && len(cuts) < 2 {
				t.Errorf("10,000 templates cut only %v", cuts)
			}
		})
	}
}

// The outputs of a run whose values fit are what encoding/json writes.
func TestOutputsAreEncodingJSON(t *testing.T) {
	t.Parallel()
	res := atScale(40)
	res.TemplateIDs["a\"<b>"] = "t-\u2028x"
	want := map[string]any{"plan": res.Plan.Items, "template-ids": res.TemplateIDs, "build-ids": res.BuildIDs(), "builds": res.Builds, "changed-templates": res.Changed}
	planItems := make([]PlanItem, len(res.Plan.Items))
	for i, it := range res.Plan.Items {
		planItems[i] = planItem(it)
	}
	want["plan"] = planItems
	for _, kv := range Outputs(res) {
		v, ok := want[kv[0]]
		if !ok {
			continue
		}
		raw, _ := json.Marshal(v)
		if string(raw) != kv[1] {
			t.Errorf("%s differs from encoding/json's:\n%s", kv[0], cmp.Diff(string(raw), kv[1]))
		}
	}
}

// FitNoted adds its line only when something is left out, and then makes
// room for it: the line comes first and the whole stays within the limit.
// With less than room to spare, everything that may go goes.
func TestFitNoted(t *testing.T) {
	t.Parallel()
	secs := []Section{{Name: "rows", Head: "# head\n", Blocks: []Block{
		{Rank: RankChanged, Text: strings.Repeat("a", 40) + "\n"},
		{Rank: RankChanged, Text: strings.Repeat("b", 40) + "\n"},
	}}}
	line := func(cut []Count) string { return "cut: " + CutList(cut) + "\n" }
	tests := []struct {
		limit, room int
		want        string
	}{
		{limit: 1000, room: 20, want: "# head\n" + strings.Repeat("a", 40) + "\n" + strings.Repeat("b", 40) + "\n"},
		{limit: 80, room: 20, want: "cut: 1 rows\n# head\n" + strings.Repeat("a", 40) + "\n"},
		{limit: 50, room: 20, want: "cut: 2 rows\n# head\n"},
		{limit: 50, room: 60, want: "cut: 2 rows\n# head\n"},
		{limit: -1, room: 20, want: "# head\n" + strings.Repeat("a", 40) + "\n" + strings.Repeat("b", 40) + "\n"},
	}
	for _, tt := range tests {
		got := FitNoted(secs, tt.limit, tt.room, line)
		if got != tt.want {
			t.Errorf("FitNoted(%d, room %d) = %q, want %q", tt.limit, tt.room, got, tt.want)
		}
		if tt.limit >= 0 && tt.room >= len(line([]Count{{"rows", 2}})) && len(got) > tt.limit {
			t.Errorf("FitNoted(%d, room %d) has %d bytes", tt.limit, tt.room, len(got))
		}
	}
}
