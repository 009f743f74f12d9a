package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/miosa-dev/sandbox-templates-action/internal/github/githubtest"
	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
)

// GitHub's limits, as its documentation states them.
const (
	summaryLimit = 1 << 20   // a job summary larger than 1 MiB is dropped
	outputLimit  = 1_000_000 // an output holds at most 1 MB
	commentLimit = 65536     // characters of an issue comment
	annotateMax  = 10        // annotations of each kind shown per step
)

// wideTemplates are n template files whose specs run many long steps, so
// that their plan, its diffs and the summary outgrow GitHub's limits.
func wideTemplates(n int) map[string]string {
	files := map[string]string{}
	for i := range n {
		var b strings.Builder
		fmt.Fprintf(&b, "name: wide-%05d\ndescription: wide template %d\nbuild_spec:\n  from: node:22-bookworm\n  steps:\n", i, i)
		for s := range 8 {
			fmt.Fprintf(&b, "    - run: echo step %d of template %d && %s\n", s, i, strings.Repeat("x", 90))
		}
		files[fmt.Sprintf("sandbox-templates/wide-%05d.yaml", i)] = b.String()
	}
	return files
}

// annotations counts the annotation lines of each kind in a step log.
func annotations(log string) map[string]int {
	n := map[string]int{}
	for _, line := range strings.Split(log, "\n") {
		for _, kind := range []string{"error", "warning", "notice"} {
			if strings.HasPrefix(line, "::"+kind+" ") || strings.HasPrefix(line, "::"+kind+"::") {
				n[kind]++
			}
		}
	}
	return n
}

// limitsN is how many templates TestGitHubLimitsAtScale plans: 1,000,
// wide enough to outgrow every limit, or LIMITS_N (.ci/run sets 5000).
func limitsN(t *testing.T) int {
	n := 1000
	if v := os.Getenv("LIMITS_N"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("LIMITS_N=%q is not a number of templates", v)
		}
	}
	return min(n, spec.DefaultMaxFiles)
}

// A pull request's plan of 1,000 wide templates (LIMITS_N=5000 in
// .ci/run), run by the binary as the runner runs it: the job summary, each
// output and the comment stay within GitHub's limits and say what they
// cut, and the plan file holds every template.
func TestGitHubLimitsAtScale(t *testing.T) {
	t.Parallel()
	n := limitsN(t)
	gh := githubtest.New(githubtest.Options{Prefix: githubtest.GHESPrefix})
	t.Cleanup(gh.Close)
	gh.SetToken(ghToken)
	gh.SetPullHead("acme/platform", 7, shaB)
	e := startEmulator(t, nil)
	w := newWorkspace(t, wideTemplates(n))
	s := runAction(t, w, prEnv(t, gh, shaB), apiInputs(e, map[string]string{"github-token": ghToken, "comment-label": "prod"}))
	if s.Code != 0 || s.Outputs["status"] != "success" {
		t.Fatalf("exit %d, status %q\n%.3000s", s.Code, s.Outputs["status"], s.log())
	}

	t.Logf("N=%d: summary %d bytes", n, len(s.Summary))
	if len(s.Summary) >= summaryLimit || !strings.Contains(s.Summary, "**Cut to fit GitHub's limit of 1 MiB for a job summary:**") {
		t.Errorf("summary of %d bytes; it says what was cut: %v", len(s.Summary), strings.Contains(s.Summary, "Cut to fit"))
	}
	for name, v := range s.Outputs {
		t.Logf("output %s: %d bytes", name, len(v))
		if len(v) >= outputLimit {
			t.Errorf("output %s is %d bytes", name, len(v))
		}
		if strings.HasPrefix(v, "[") || strings.HasPrefix(v, "{") {
			if !json.Valid([]byte(v)) {
				t.Errorf("output %s is not valid JSON", name)
			}
		}
	}
	var planned []planOut
	s.json(t, "plan", &planned)
	kept := fmt.Sprintf("plan keeps %s of %s entries", number(len(planned)), number(n))
	if len(planned) >= n || !strings.Contains(s.Stdout, "outputs cut to fit GitHub's limit of 1 MB per output") ||
		!strings.Contains(s.Stdout, kept) || !strings.Contains(s.Summary, "`"+strings.Replace(kept, " ", "` ", 1)) {
		t.Errorf("the plan output holds %d of %d entries; the log and the summary must say %q", len(planned), n, kept)
	}

	// The plan file, in the workspace, holds every template.
	rel := s.Outputs["plan-file"]
	if rel != "sandbox-templates-results/plan-42-plan-prod.json" {
		t.Fatalf("plan-file = %q", rel)
	}
	raw, err := os.ReadFile(filepath.Join(w.dir, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Plan struct {
			Items []planOut `json:"items"`
		} `json:"plan"`
		Outputs map[string]string `json:"outputs"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("plan file: %v", err)
	}
	var whole []planOut
	if err := json.Unmarshal([]byte(doc.Outputs["plan"]), &whole); err != nil || len(doc.Plan.Items) != n || len(whole) != n {
		t.Errorf("plan file: %d items, %d in its plan output (%v); want %d", len(doc.Plan.Items), len(whole), err, n)
	}
	t.Logf("plan file %d bytes; the plan output keeps %d of %d entries, %d of %d bytes", len(raw), len(planned), n, len(s.Outputs["plan"]), len(doc.Outputs["plan"]))

	// The comment: one, within GitHub's limit, cut by the action itself.
	comments := gh.Comments("acme/platform", 7)
	if len(comments) != 1 {
		t.Fatalf("%d comments, want 1", len(comments))
	}
	body := comments[0].Body
	t.Logf("comment %d characters", utf8.RuneCountInString(body))
	if utf8.RuneCountInString(body) > commentLimit || !strings.Contains(body, fmt.Sprintf("### Sandbox templates (prod): %s to create\n", number(n))) ||
		!strings.Contains(body, "Cut to fit GitHub's limit of 65,536 characters for a comment") || !strings.Contains(body, rel) {
		t.Errorf("comment of %d characters:\n%.800s", utf8.RuneCountInString(body), body)
	}
}

// number writes n as the comment does: 1,000.
func number(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// Forty invalid files: at most 10 error annotations, the last counting the
// rest, and every problem in the log.
func TestAnnotationsCappedAtTen(t *testing.T) {
	t.Parallel()
	files := map[string]string{}
	for i := range 40 {
		files[fmt.Sprintf("sandbox-templates/bad-%02d.yaml", i)] = fmt.Sprintf("name: bad-%02d\nbuild_spec:\n  from: node:22\n  size: enormous\n", i)
	}
	w := newWorkspace(t, files)
	s := runAction(t, w, nil, map[string]string{"mode": "validate"})
	if s.Code != 1 {
		t.Fatalf("exit %d, want 1\n%s", s.Code, s.log())
	}
	got := annotations(s.Stdout)
	if got["error"] != annotateMax || got["warning"] > annotateMax || got["notice"] > annotateMax {
		t.Errorf("annotations %v, want %d errors and at most %d of the others", got, annotateMax, annotateMax)
	}
	if !strings.Contains(s.Stdout, "::error::31 more problems not annotated") {
		t.Errorf("no annotation counts the 31 problems left:\n%s", s.Stdout)
	}
	for i := range 40 {
		if !strings.Contains(s.Stdout, fmt.Sprintf("sandbox-templates/bad-%02d.yaml:4:9: build_spec.size:", i)) {
			t.Errorf("the problem of bad-%02d is not in the log", i)
		}
	}
}

// Two steps with their own comment-label on one pull request keep a
// comment each; a re-run edits its own in place.
func TestCommentLabels(t *testing.T) {
	t.Parallel()
	gh := githubtest.New(githubtest.Options{Prefix: githubtest.GHESPrefix})
	t.Cleanup(gh.Close)
	gh.SetToken(ghToken)
	gh.SetPullHead("acme/platform", 7, shaB)
	e := startEmulator(t, nil)
	w := newWorkspace(t, threeTemplates)
	ids := map[string]int64{}
	for _, label := range []string{"staging", "prod", "prod"} {
		s := runAction(t, w, prEnv(t, gh, shaB), apiInputs(e, map[string]string{"github-token": ghToken, "comment-label": label}))
		if s.Code != 0 {
			t.Fatalf("%s: exit %d\n%s", label, s.Code, s.log())
		}
		for _, c := range gh.Comments("acme/platform", 7) {
			if strings.Contains(c.Body, "### Sandbox templates ("+label+"): 3 to create\n") {
				if id, seen := ids[label]; seen && id != c.ID {
					t.Errorf("the re-run of %s made comment %d, its comment is %d", label, c.ID, id)
				}
				ids[label] = c.ID
			}
		}
	}
	if all := gh.Comments("acme/platform", 7); len(all) != 2 || len(ids) != 2 || ids["staging"] == ids["prod"] {
		t.Errorf("%d comments, by label %v; want one each for staging and prod", len(all), ids)
	}
	if c := gh.Counts(); c.Create != 2 {
		t.Errorf("%d comments created, want 2", c.Create)
	}
}
