package run

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
	"github.com/miosa-dev/sandbox-templates-action/internal/plan"
)

// recordFunc is a Record that answers with a function, and keeps what it
// was asked and told.
type recordFunc struct {
	answer func(files []OrderFile) ScopeAnswer
	asked  *[][]OrderFile
	told   *[]Writes
	// writes is how many writes the server had seen when the record was told.
	writes func() int
	seen   *[]int
}

func (r recordFunc) Since(_ context.Context, files []OrderFile) ScopeAnswer {
	*r.asked = append(*r.asked, files)
	return r.answer(files)
}

func (r recordFunc) Writing(_ context.Context, w Writes) {
	*r.told = append(*r.told, w)
	*r.seen = append(*r.seen, r.writes())
}

// logged keeps what a run says.
type logged struct {
	quiet
	mu             sync.Mutex
	infos, notices []string
}

func (l *logged) Info(m string)   { l.mu.Lock(); defer l.mu.Unlock(); l.infos = append(l.infos, m) }
func (l *logged) Notice(m string) { l.mu.Lock(); defer l.mu.Unlock(); l.notices = append(l.notices, m) }

// A Record narrows which templates' builds a run reads: those whose files
// changed since the last deployment, and those whose row is not ready. The
// others are unchanged from their list row alone, with no build read, no
// validate and no commit order asked, and their builds output entries come
// from the row. The run says once which scope it used.
func TestScopeNarrowsBuildReads(t *testing.T) {
	t.Parallel()
	names := []string{"a", "b", "c", "d"}
	spec := func(n, step string) string {
		return "build_spec:\n  from: node:22\n  steps:\n    - run: echo " + n + step + "\n"
	}
	const base = "0123456789abcdef0123456789abcdef01234567"
	tests := []struct {
		name     string
		answer   ScopeAnswer
		build    plan.BuildMode
		edit     string // a template whose file this commit changes
		failing  string // a template whose builds fail: its row is not ready
		asked    bool   // the Scope is asked
		reads    int    // list_builds
		listed   []string
		changed  []string
		sayNotes string // in the notice, or the info line of a full read
	}{
		{name: "no change", answer: ScopeAnswer{Base: base, Changed: map[string]bool{}}, asked: true, reads: 0,
			listed: names, sayNotes: "the builds of 0 of 4 template(s) are read (0 changed since the deployment of 0123456789ab, 0 not ready)"},
		{name: "one changed", answer: ScopeAnswer{Base: base, Changed: map[string]bool{"sandbox-templates/b.yaml": true}}, edit: "b",
			asked: true, reads: 1, listed: []string{"a", "c", "d"}, changed: []string{"b"},
			sayNotes: "the builds of 1 of 4 template(s) are read (1 changed since the deployment of 0123456789ab, 0 not ready)"},
		{name: "building when recorded", answer: ScopeAnswer{Base: base, Changed: map[string]bool{}, Pending: map[string]bool{"d": true}},
			asked: true, reads: 1, listed: []string{"a", "b", "c"},
			sayNotes: "(0 changed since the deployment of 0123456789ab, 1 building when it was recorded, 0 not ready)"},
		{name: "row not ready", answer: ScopeAnswer{Base: base, Changed: map[string]bool{}}, failing: "c",
			asked: true, reads: 1, listed: []string{"a", "b", "d"}, changed: []string{"c"},
			sayNotes: "(0 changed since the deployment of 0123456789ab, 1 not ready)"},
		{name: "full read", answer: ScopeAnswer{Why: "a schedule run reads every template"}, asked: true, reads: 4,
			sayNotes: "the builds of all 4 template(s) are read: a schedule run reads every template"},
		{name: "build always", answer: ScopeAnswer{Base: base, Changed: map[string]bool{}}, build: plan.BuildAlways, asked: true, reads: 4,
			changed: names, sayNotes: "build: always"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := emulator.NewOptions()
			opts.BuildDuration = 0
			if tt.failing != "" {
				opts.Outcomes = map[string]emulator.Outcome{tt.failing: {ErrorCode: "BUILD_STEP_FAILED", FailFirst: 1}}
			}
			emu := emulator.New(opts)
			srv := httptest.NewServer(emu)
			defer srv.Close()
			files := map[string]string{}
			for _, n := range names {
				files["sandbox-templates/"+n+".yaml"] = spec(n, "")
			}
			root := writeFiles(t, files)
			cfg := Config{Root: root, Mode: ModeApply, APIKey: "msk_test", APIURL: srv.URL + "/api/v1", Commit: "c1", Repository: "acme/x", Wait: true}
			if res, _ := Do(context.Background(), cfg, quiet{}); tt.failing == "" && res.Status != StatusSuccess {
				t.Fatalf("first run: %s %v", res.Status, res.Problems())
			}
			if tt.edit != "" {
				p := filepath.Join(root, "sandbox-templates", tt.edit+".yaml")
				if err := os.WriteFile(p, []byte(spec(tt.edit, " changed")), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var asked [][]OrderFile
			var told []Writes
			var seen []int
			cfg.Commit, cfg.BuildMode = "c2", tt.build
			cfg.Record = recordFunc{answer: func([]OrderFile) ScopeAnswer { return tt.answer }, asked: &asked, told: &told,
				writes: func() int { return emu.Counters().Writes }, seen: &seen}
			before := emu.Counters()
			log := &logged{}
			res, err := Do(context.Background(), cfg, log)
			if err != nil || res.Status != StatusSuccess {
				t.Fatalf("run: %v %s %v", err, res.Status, res.Problems())
			}
			if got := len(asked) == 1; got != tt.asked {
				t.Errorf("asked %d times, want asked %v", len(asked), tt.asked)
			}
			// Asked by every run, before any build is read: about every
			// template with a row, or none when the run reads them all
			// anyway (build: always).
			if want := map[bool]int{false: len(names), true: 0}[tt.build == plan.BuildAlways]; tt.asked && len(asked[0]) != want {
				t.Errorf("asked about %v, want %d files", asked[0], want)
			}
			if got := emu.Counters().Requests["list_builds"] - before.Requests["list_builds"]; got != tt.reads {
				t.Errorf("%d build reads, want %d", got, tt.reads)
			}
			if tt.name == "no change" {
				// The schema, the list, the server's defaults: nothing per template.
				delta := map[string]int{}
				for k, v := range emu.Counters().Requests {
					if d := v - before.Requests[k]; d != 0 {
						delta[k] = d
					}
				}
				if diff := cmp.Diff(map[string]int{"schema": 1, "list": 1, "validate": 1}, delta); diff != "" {
					t.Errorf("requests of a no-op run (-want +got):\n%s", diff)
				}
			}
			var listed, changed []string
			for _, it := range res.Plan.Items {
				switch {
				case it.Action == plan.Unchanged && strings.Contains(it.Reason, "judged from the template list"):
					listed = append(listed, it.Name)
					if it.TemplateID == "" || !strings.Contains(it.Reason, "0123456789ab") {
						t.Errorf("%s: %+v", it.Name, it)
					}
				case it.Action == plan.Build:
					changed = append(changed, it.Name)
				}
			}
			if diff := cmp.Diff(tt.listed, listed); diff != "" {
				t.Errorf("judged from the list (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.changed, changed); diff != "" {
				t.Errorf("built (-want +got):\n%s", diff)
			}
			// The record hears of the writes before the first one, once;
			// of a run that writes nothing, never.
			switch {
			case len(changed) == 0 && len(told) != 0:
				t.Errorf("a run that writes nothing told the record %v", told)
			case len(changed) > 0 && (len(told) != 1 || !cmp.Equal(told[0], Writes{Templates: names, Pending: changed, Complete: true})):
				t.Errorf("told the record %+v, want once: %v, pending %v, complete", told, names, changed)
			case len(changed) > 0 && seen[0] != before.Writes:
				t.Errorf("the record was told after %d write(s) of this run, want before the first", seen[0]-before.Writes)
			}
			for _, b := range res.Builds {
				fromList := slices.Contains(listed, b.Name)
				if fromList != (b.Source == SourceList) || fromList && (b.BuildID != "" || b.State != "ready" || b.TemplateID == "") {
					t.Errorf("builds entry %+v", b)
				}
			}
			if len(res.Builds) != len(names) || len(res.TemplateIDs) != len(names) {
				t.Errorf("%d builds entries, %d template ids; want %d each", len(res.Builds), len(res.TemplateIDs), len(names))
			}
			said := append(slices.Clone(log.notices), log.infos...)
			n := 0
			for _, s := range said {
				if strings.HasPrefix(s, "Scope: ") {
					n++
					if !strings.Contains(s, tt.sayNotes) {
						t.Errorf("said %q, want %q in it", s, tt.sayNotes)
					}
				}
			}
			if n != 1 {
				t.Errorf("the scope was said %d times, want once: %q", n, said)
			}
			noticed := slices.ContainsFunc(log.notices, func(s string) bool { return strings.HasPrefix(s, "Scope: ") })
			if narrowed := tt.answer.Base != "" && tt.build != plan.BuildAlways; narrowed != noticed {
				t.Errorf("notices %q: a narrowed scope is a notice, a full read an info line", log.notices)
			}
		})
	}
}

// orderFunc is an Order whose answer is superseded for the files named.
type orderFunc map[string]bool

func (o orderFunc) Order(_ context.Context, files []OrderFile) (OrderAnswer, error) {
	a := OrderAnswer{Files: map[string]plan.Order{}}
	for _, f := range files {
		a.Files[f.Path] = plan.Order{State: plan.OrderAtHead, Evidence: "head"}
		if o[f.Path] {
			a.Files[f.Path] = plan.Order{State: plan.OrderSuperseded, Evidence: "head", Why: "a newer commit"}
		}
	}
	return a, nil
}

// Before its first write the Record hears which templates are pending
// (written, or found building) and whether the run leaves none alone.
func TestAnnounce(t *testing.T) {
	t.Parallel()
	opts := emulator.NewOptions()
	opts.BuildDuration = 0
	emu := emulator.New(opts)
	srv := httptest.NewServer(emu)
	defer srv.Close()
	spec := func(n, step string) string {
		return "build_spec:\n  from: node:22\n  steps:\n    - run: echo " + n + step + "\n"
	}
	root := writeFiles(t, map[string]string{
		"sandbox-templates/a.yaml": spec("a", ""), "sandbox-templates/b.yaml": spec("b", ""), "sandbox-templates/c.yaml": spec("c", ""),
	})
	write := func(n, step string) {
		if err := os.WriteFile(filepath.Join(root, "sandbox-templates", n+".yaml"), []byte(spec(n, step)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := Config{Root: root, Mode: ModeApply, APIKey: "msk_test", APIURL: srv.URL + "/api/v1", Commit: "c1", Repository: "acme/x"}
	if res, _ := Do(context.Background(), cfg, quiet{}); res.Status != StatusSuccess {
		t.Fatalf("first run: %s %v", res.Status, res.Problems())
	}
	emu.Configure(func(o *emulator.Options) { o.BuildDuration = time.Hour })
	var told []Writes
	var asked [][]OrderFile
	cfg.Record = recordFunc{answer: func([]OrderFile) ScopeAnswer { return ScopeAnswer{Why: "full"} }, asked: &asked, told: &told,
		writes: func() int { return 0 }, seen: new([]int)}
	// a is built; c, changed too, is superseded by a newer commit.
	write("a", " 2")
	write("c", " 2")
	cfg.Commit, cfg.Order = "c2", orderFunc{"sandbox-templates/c.yaml": true}
	if res, _ := Do(context.Background(), cfg, quiet{}); res.Status != StatusSuccess {
		t.Fatalf("second run: %s %v", res.Status, res.Problems())
	}
	// b is built; a is still building.
	write("c", "")
	write("b", " 2")
	cfg.Commit, cfg.Order = "c3", nil
	if res, _ := Do(context.Background(), cfg, quiet{}); res.Status != StatusSuccess {
		t.Fatalf("third run: %s %v", res.Status, res.Problems())
	}
	want := []Writes{
		{Templates: []string{"a", "b", "c"}, Pending: []string{"a"}, Complete: false},
		{Templates: []string{"a", "b", "c"}, Pending: []string{"a", "b"}, Complete: true},
	}
	if diff := cmp.Diff(want, told); diff != "" {
		t.Errorf("told (-want +got):\n%s", diff)
	}
}
