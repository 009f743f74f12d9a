package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
)

// The reconcile scenarios: each decision comes from what the server serves
// now, never from what the action believes it wrote. Every scenario runs
// against the emulator's default (Miosa's rendering: no template metadata,
// build metadata holding only the server's events) and against an emulator
// that keeps client metadata.

// metadataModes are the two emulator settings every scenario runs under.
var metadataModes = []struct {
	name string
	keep bool
}{{"server-default", false}, {"client-metadata", true}}

// clock is an emulator clock that a test moves: the real time shifted by an
// offset, so builds still advance while the test sets "when" each run is.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// at makes the emulator's now t.
func (c *clock) at(t time.Time) { c.offset.Store(int64(time.Until(t))) }

// timeline is a history of commits one hour apart, ten hours ago.
type timeline struct {
	base time.Time
}

func newTimeline() timeline {
	return timeline{base: time.Now().Add(-10 * time.Hour).Truncate(time.Second)}
}

// commit i's SHA and time.
func (tl timeline) sha(i int) string         { return strings.Repeat(fmt.Sprintf("%x", i+10), 20) }
func (tl timeline) time(i int) time.Time     { return tl.base.Add(time.Duration(i) * time.Hour) }
func (tl timeline) during(i int) time.Time   { return tl.time(i).Add(time.Minute) }
func (tl timeline) afterAll(n int) time.Time { return tl.time(n).Add(30 * time.Minute) }

// pushEnv is the runner environment of a push of commit i, with a push
// payload that says when the commit was made.
func (tl timeline) pushEnv(t *testing.T, i int) map[string]string {
	t.Helper()
	ev := map[string]any{"head_commit": map[string]any{"id": tl.sha(i), "timestamp": tl.time(i).Format(time.RFC3339)}}
	raw, _ := json.Marshal(ev)
	p := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return map[string]string{"GITHUB_SHA": tl.sha(i), "GITHUB_EVENT_PATH": p}
}

// gitTimeline is a history of pushes to main, one hour apart, ten hours
// ago, held by a fake GitHub that the runs ask for the commit order.
type gitTimeline struct {
	timeline
	g     *gitHub
	shas  []string
	files []map[string]string
}

func newGitTimeline(t *testing.T) *gitTimeline {
	return &gitTimeline{timeline: newTimeline(), g: newGitHub(t)}
}

// push commits files (the whole tree) to main and returns the commit's
// index.
func (h *gitTimeline) push(files map[string]string) int {
	h.shas = append(h.shas, h.g.commit("main", files))
	h.files = append(h.files, files)
	return len(h.shas) - 1
}

// env is the runner environment of the push of commit i: GitHub's payload
// says when the commit was made and pushed.
func (h *gitTimeline) env(t *testing.T, i int) map[string]string {
	t.Helper()
	return h.g.env(t, "push", h.shas[i], map[string]any{
		"head_commit": map[string]any{"id": h.shas[i], "timestamp": h.time(i).Format(time.RFC3339)},
	})
}

// checkout is a workspace holding commit i's files.
func (h *gitTimeline) checkout(t *testing.T, i int) *workspace { return newWorkspace(t, h.files[i]) }

func nodeTemplate(from string) map[string]string {
	return map[string]string{"sandbox-templates/app.yaml": "description: app\nbuild_spec:\n  from: " + from + "\n  steps:\n    - run: npm ci\n"}
}

// servedSpec is the `from` of the build that serves the template now (the
// newest build that was not cancelled), and how many builds it has.
func servedSpec(t *testing.T, e *emu, name string) (from string, builds int) {
	t.Helper()
	st := e.State()
	for _, b := range st.Builds {
		if b.TemplateName != name {
			continue
		}
		builds++
		if b.State != "cancelled" {
			from, _ = b.BuildSpec["from"].(string)
		}
	}
	return from, builds
}

func reconcileEmulator(t *testing.T, keep bool, c *clock, configure func(*emulator.Options)) *emu {
	t.Helper()
	return startEmulator(t, func(o *emulator.Options) {
		o.ClientMetadata = keep
		if c != nil {
			o.Clock = c.now
		}
		if configure != nil {
			configure(o)
		}
	})
}

func planItems(t *testing.T, s step) []planOut {
	t.Helper()
	var items []planOut
	s.json(t, "plan", &items)
	return items
}

// 1. A re-run of an older commit never rolls a template back: GitHub says
// main's head holds other content for the file and descends from it, so
// the write is superseded (green, nothing built) unless allow-rollback.
func TestReliabilityReconcileNoSilentRollback(t *testing.T) {
	t.Parallel()
	for _, m := range metadataModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			newCase(t, "reconcile: no silent rollback", 1)
			c, h := &clock{}, newGitTimeline(t)
			e := reconcileEmulator(t, m.keep, c, nil)
			h.push(nodeTemplate("node:18"))
			c.at(h.during(0))
			if s := runAction(t, h.checkout(t, 0), h.env(t, 0), ghInputs(e, nil)); s.Code != 0 {
				t.Fatalf("c0: exit %d\n%s", s.Code, s.log())
			}
			// c1 fails before any write: the API is not reachable.
			h.push(nodeTemplate("node:22"))
			c.at(h.during(1))
			w1 := h.checkout(t, 1)
			if s := runAction(t, w1, h.env(t, 1), map[string]string{"api-key": "msk_test_e2e", "api-url": "http://127.0.0.1:1/api/v1", "timeout": "3s", "github-token": ghToken}); s.Code == 0 {
				t.Fatalf("c1 against a closed port succeeded\n%s", s.log())
			}
			h.push(nodeTemplate("node:24"))
			c.at(h.during(2))
			if s := runAction(t, h.checkout(t, 2), h.env(t, 2), ghInputs(e, nil)); s.Code != 0 {
				t.Fatalf("c2: exit %d\n%s", s.Code, s.log())
			}
			// "Re-run failed jobs" on c1, after c2 applied.
			c.at(h.afterAll(2))
			again := runAction(t, w1, h.env(t, 1), ghInputs(e, nil))
			if again.Code != 0 || again.Outputs["status"] != "success" || again.Outputs["has-changes"] != "false" {
				t.Fatalf("re-run of c1: exit %d status %q has-changes %q, want 0, success, false\n%s", again.Code, again.Outputs["status"], again.Outputs["has-changes"], again.log())
			}
			items := planItems(t, again)
			if len(items) != 1 || items[0].Action != "superseded" || !strings.Contains(items[0].Reason, "main at "+h.shas[2][:12]) {
				t.Errorf("plan %+v, want one superseded item naming main's head", items)
			}
			if !strings.Contains(again.Stdout, "::notice::sandbox-templates/app.yaml: not written") {
				t.Errorf("no notice saying the file was not written:\n%s", again.Stdout)
			}
			if from, n := servedSpec(t, e, "app"); from != "node:24" || n != 2 {
				t.Errorf("after the superseded re-run: serves %s with %d builds, want node:24 and 2", from, n)
			}
			// With consent it builds c1's spec, once.
			for range 2 {
				ok := runAction(t, w1, h.env(t, 1), ghInputs(e, map[string]string{"allow-rollback": "true"}))
				if ok.Code != 0 {
					t.Fatalf("allow-rollback: exit %d\n%s", ok.Code, ok.log())
				}
			}
			if from, n := servedSpec(t, e, "app"); from != "node:22" || n != 3 {
				t.Errorf("after allow-rollback twice: serves %s with %d builds, want node:22 and 3", from, n)
			}
		})
	}
}

// 2. Two commits with different specs are pushed, one right after the
// other, and their runs race to create the template: only the head's run
// writes; the older one is superseded and reports no build as its own.
func TestReliabilityReconcileCreateRace(t *testing.T) {
	t.Parallel()
	for _, m := range metadataModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			newCase(t, "reconcile: create race", 1)
			c, h := &clock{}, newGitTimeline(t)
			e := reconcileEmulator(t, m.keep, c, func(o *emulator.Options) {
				o.Faults.Latency = 300 * time.Millisecond
				o.BuildDuration = 2 * time.Second
			})
			c.at(h.during(1))
			froms := []string{"node:22", "node:24"}
			for _, from := range froms {
				h.push(nodeTemplate(from))
			}
			steps := make([]step, 2)
			var wg sync.WaitGroup
			for i := range froms {
				wg.Add(1)
				go func() {
					defer wg.Done()
					steps[i] = runAction(t, h.checkout(t, i), h.env(t, i), ghInputs(e, nil))
				}()
			}
			wg.Wait()
			st := e.State()
			specOf := map[string]string{}
			for _, b := range st.Builds {
				specOf[b.ID], _ = b.BuildSpec["from"].(string)
			}
			for i, s := range steps {
				if s.Code != 0 {
					t.Fatalf("run %d: exit %d\n%s", i, s.Code, s.log())
				}
			}
			if items := planItems(t, steps[0]); len(items) != 1 || items[0].Action != "superseded" || steps[0].Outputs["build-ids"] != "{}" {
				t.Errorf("the older commit's run: plan %+v build-ids %s, want superseded and no build", items, steps[0].Outputs["build-ids"])
			}
			var builds []buildOut
			steps[1].json(t, "builds", &builds)
			if len(builds) != 1 || specOf[builds[0].BuildID] != "node:24" {
				t.Errorf("the head's run reports builds %+v, want one build of node:24", builds)
			}
			if len(st.Templates) != 1 || len(st.Builds) != 1 {
				t.Errorf("%d templates and %d builds, want 1 and 1", len(st.Templates), len(st.Builds))
			}
		})
	}
}

// 3. Drift at the applied commit (a build made by hand) is visible to plan,
// counted by fail-on-changes, and repaired by apply, once: main's head holds
// the file, so the head's spec is what must serve, whoever built since.
func TestReliabilityReconcileDriftAtAppliedCommit(t *testing.T) {
	t.Parallel()
	for _, m := range metadataModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			newCase(t, "reconcile: drift at the applied commit", 1)
			c, h := &clock{}, newGitTimeline(t)
			e := reconcileEmulator(t, m.keep, c, nil)
			i := h.push(nodeTemplate("node:22"))
			w := h.checkout(t, i)
			c.at(h.during(i))
			first := runAction(t, w, h.env(t, i), ghInputs(e, nil))
			if first.Code != 0 {
				t.Fatalf("apply: exit %d\n%s", first.Code, first.log())
			}
			var tids map[string]string
			first.json(t, "template-ids", &tids)
			c.at(h.afterAll(i))
			buildByHand(t, e, tids["app"], map[string]any{"from": "node:20", "user": "nobody"})
			// Full reads, as the nightly run makes: a push's scope auto
			// judges a file unchanged since the deployment from the list.
			full := map[string]string{"scope": "all"}
			plan := runAction(t, w, h.env(t, i), ghInputs(e, map[string]string{"mode": "plan", "fail-on-changes": "true", "scope": "all"}))
			if plan.Code != 1 || !strings.Contains(plan.log(), "fail-on-changes") {
				t.Errorf("scheduled plan at the applied commit: exit %d, want 1 with fail-on-changes\n%s", plan.Code, plan.log())
			}
			if items := planItems(t, plan); len(items) != 1 || items[0].Action != "build" || !strings.Contains(fmt.Sprint(items[0].Changes), "build_spec.user") {
				t.Errorf("plan %+v, want the drift as a build naming the user field added by hand", items)
			}
			for range 2 {
				if s := runAction(t, w, h.env(t, i), ghInputs(e, full)); s.Code != 0 {
					t.Fatalf("repair: exit %d\n%s", s.Code, s.log())
				}
			}
			if from, n := servedSpec(t, e, "app"); from != "node:22" || n != 3 {
				t.Errorf("after repairing twice: serves %s with %d builds, want node:22 and 3 (one repair build)", from, n)
			}
			if s := runAction(t, w, h.env(t, i), ghInputs(e, map[string]string{"mode": "plan", "fail-on-changes": "true", "scope": "all"})); s.Code != 0 {
				t.Errorf("plan after the repair: exit %d, want 0\n%s", s.Code, s.log())
			}
		})
	}
}

// The CLI with a fixed --commit-sha builds each edit once: A→B→A→B gives
// four builds, and the same edit again gives none.
func TestReliabilityReconcileCLIEditsAtOneCommit(t *testing.T) {
	t.Parallel()
	for _, m := range metadataModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			newCase(t, "reconcile: CLI edits at one commit", 1)
			e := reconcileEmulator(t, m.keep, nil, nil)
			w := newWorkspace(t, nil)
			for i, from := range []string{"node:22", "node:24", "node:22", "node:24", "node:24"} {
				w.write(t, "sandbox-templates/app.yaml", nodeTemplate(from)["sandbox-templates/app.yaml"])
				cliApply(t, e, w, "--commit-sha", "fixedsha")
				want := min(i+1, 4)
				if got, n := servedSpec(t, e, "app"); got != from || n != want {
					t.Fatalf("edit %d (%s): serves %s with %d builds, want %s and %d", i, from, got, n, from, want)
				}
			}
		})
	}
}

// 4. A failed build is rebuilt by the next apply, a re-run at the same commit
// included, once per failed build however many re-runs race.
func TestReliabilityReconcileFailedBuildIsRetried(t *testing.T) {
	t.Parallel()
	for _, m := range metadataModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			newCase(t, "reconcile: failed build retried", 1)
			e := reconcileEmulator(t, m.keep, nil, func(o *emulator.Options) {
				o.Outcomes = map[string]emulator.Outcome{"app": {ErrorCode: "REGISTRY_TIMEOUT", FailFirst: 1}}
			})
			w := newWorkspace(t, nodeTemplate("node:22"))
			wait := apiInputs(e, map[string]string{"wait": "true", "poll-interval": "1s"})
			first := runAction(t, w, withSHA(shaA), wait)
			if first.Code != 1 || !strings.Contains(first.log(), "REGISTRY_TIMEOUT") {
				t.Fatalf("first attempt: exit %d, want 1 with REGISTRY_TIMEOUT\n%s", first.Code, first.log())
			}
			steps := make([]step, 2)
			var wg sync.WaitGroup
			for i := range steps {
				wg.Add(1)
				go func() {
					defer wg.Done()
					steps[i] = runAction(t, w, attempt2(shaA), wait)
				}()
			}
			wg.Wait()
			for i, s := range steps {
				if s.Code != 0 {
					t.Errorf("racing re-run %d: exit %d\n%s", i, s.Code, s.log())
				}
			}
			if from, n := servedSpec(t, e, "app"); from != "node:22" || n != 2 {
				t.Errorf("after two racing re-runs: %d builds, want 2 (one retry)", n)
			}
			if steps[0].Outputs["build-ids"] != steps[1].Outputs["build-ids"] {
				t.Errorf("the racing re-runs report different builds: %s and %s", steps[0].Outputs["build-ids"], steps[1].Outputs["build-ids"])
			}
		})
	}
}

// With build: always, a re-run after a failed build retries it once too,
// and a further re-run of the same commit replays that build.
func TestReliabilityReconcileFailedBuildRetriedWithBuildAlways(t *testing.T) {
	t.Parallel()
	newCase(t, "reconcile: failed build retried (build: always)", 1)
	e := reconcileEmulator(t, false, nil, func(o *emulator.Options) {
		o.Outcomes = map[string]emulator.Outcome{"app": {ErrorCode: "REGISTRY_TIMEOUT", FailFirst: 1}}
	})
	w := newWorkspace(t, nodeTemplate("node:22"))
	always := apiInputs(e, map[string]string{"wait": "true", "poll-interval": "1s", "build": "always"})
	if s := runAction(t, w, withSHA(shaA), always); s.Code != 1 {
		t.Fatalf("first attempt: exit %d, want 1\n%s", s.Code, s.log())
	}
	for i, want := range []int{2, 3, 3} {
		if s := runAction(t, w, attempt2(shaA), always); s.Code != 0 {
			t.Fatalf("re-run %d: exit %d\n%s", i, s.Code, s.log())
		}
		if _, n := servedSpec(t, e, "app"); n != want {
			t.Errorf("after re-run %d with build: always: %d builds, want %d", i, n, want)
		}
	}
}

// BUILDS_TEMPORARILY_UNAVAILABLE is reported with the platform's message,
// and a later run builds again.
func TestReliabilityReconcileBuildsTemporarilyUnavailable(t *testing.T) {
	t.Parallel()
	newCase(t, "reconcile: builds temporarily unavailable", 1)
	e := reconcileEmulator(t, false, nil, func(o *emulator.Options) {
		o.Outcomes = map[string]emulator.Outcome{"app": {ErrorCode: "BUILDS_TEMPORARILY_UNAVAILABLE", FailFirst: 1}}
	})
	w := newWorkspace(t, nodeTemplate("node:22"))
	first := runAction(t, w, withSHA(shaA), apiInputs(e, nil))
	if first.Code != 0 || !strings.Contains(first.Stdout, "::warning") || !strings.Contains(first.log(), "BUILDS_TEMPORARILY_UNAVAILABLE") ||
		!strings.Contains(first.log(), "being upgraded") {
		t.Errorf("a build already failed without wait: exit %d, want 0 with a warning naming the code and the platform's message\n%s", first.Code, first.log())
	}
	again := runAction(t, w, attempt2(shaA), apiInputs(e, map[string]string{"wait": "true", "poll-interval": "1s"}))
	if again.Code != 0 {
		t.Errorf("re-run: exit %d\n%s", again.Code, again.log())
	}
	if _, n := servedSpec(t, e, "app"); n != 2 {
		t.Errorf("%d builds, want 2", n)
	}
}

// 5. Outputs name the build that serves the commit's spec on every attempt,
// also when a later commit made it.
func TestReliabilityReconcileOutputsAcrossAttempts(t *testing.T) {
	t.Parallel()
	for _, m := range metadataModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			newCase(t, "reconcile: outputs across attempts", 1)
			e := reconcileEmulator(t, m.keep, nil, nil)
			w := newWorkspace(t, nodeTemplate("node:22"))
			first := runAction(t, w, withSHA(shaA), apiInputs(e, nil))
			second := runAction(t, w, withSHA(shaB), apiInputs(e, map[string]string{"build": "always"}))
			if first.Code != 0 || second.Code != 0 || first.Outputs["build-ids"] == second.Outputs["build-ids"] {
				t.Fatalf("first %d %s, second (build: always) %d %s", first.Code, first.Outputs["build-ids"], second.Code, second.Outputs["build-ids"])
			}
			before := e.Counters()
			again := runAction(t, w, attempt2(shaA), apiInputs(e, nil))
			if again.Code != 0 || e.Counters().Writes != before.Writes {
				t.Fatalf("re-run of the first commit: exit %d, %d writes", again.Code, e.Counters().Writes-before.Writes)
			}
			if again.Outputs["build-ids"] != second.Outputs["build-ids"] || again.Outputs["build-id"] == "" {
				t.Errorf("re-run build-ids %s build-id %q, want the serving build %s", again.Outputs["build-ids"], again.Outputs["build-id"], second.Outputs["build-ids"])
			}
			var builds []buildOut
			again.json(t, "builds", &builds)
			if len(builds) != 1 || builds[0].Made || builds[0].State != "ready" {
				t.Errorf("re-run builds %+v, want one ready build not made by this run", builds)
			}
		})
	}
}

// 6. A description change is reported as a notice; no call can apply it,
// so fail-on-changes does not count it and nothing is written for it.
func TestReliabilityReconcileDescriptionChange(t *testing.T) {
	t.Parallel()
	for _, m := range metadataModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			newCase(t, "reconcile: description change", 1)
			e := reconcileEmulator(t, m.keep, nil, nil)
			w := newWorkspace(t, nodeTemplate("node:22"))
			if s := runAction(t, w, withSHA(shaA), apiInputs(e, nil)); s.Code != 0 {
				t.Fatalf("apply: exit %d\n%s", s.Code, s.log())
			}
			w.write(t, "sandbox-templates/app.yaml", strings.Replace(nodeTemplate("node:22")["sandbox-templates/app.yaml"], "description: app", "description: the app image", 1))
			before := e.Counters()
			s := runAction(t, w, withSHA(shaB), apiInputs(e, map[string]string{"mode": "plan", "fail-on-changes": "true"}))
			if s.Code != 0 || s.Outputs["has-changes"] != "false" {
				t.Errorf("plan with fail-on-changes: exit %d has-changes %q, want 0 and false\n%s", s.Code, s.Outputs["has-changes"], s.log())
			}
			items := planItems(t, s)
			if len(items) != 2 || items[1].Action != "description" {
				t.Errorf("plan %+v, want unchanged plus a description item", items)
			}
			if !strings.Contains(s.Stdout, "::notice::sandbox-templates/app.yaml: description changed") || len(warnings(s)) > 0 {
				t.Errorf("want a notice naming the file and no warning:\n%s", s.Stdout)
			}
			if e.Counters().Writes != before.Writes {
				t.Error("plan wrote")
			}
		})
	}
}

// Reverting across commits builds the older spec again, without a refusal:
// each build was made before the next commit.
func TestReliabilityReconcileRevertAcrossCommits(t *testing.T) {
	t.Parallel()
	for _, m := range metadataModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			newCase(t, "reconcile: revert across commits", 1)
			c, tl := &clock{}, newTimeline()
			e := reconcileEmulator(t, m.keep, c, nil)
			for i, from := range []string{"node:22", "node:24", "node:22"} {
				w := newWorkspace(t, nodeTemplate(from))
				c.at(tl.during(i))
				if s := runAction(t, w, tl.pushEnv(t, i), apiInputs(e, nil)); s.Code != 0 {
					t.Fatalf("commit %d (%s): exit %d\n%s", i, from, s.Code, s.log())
				}
				if got, n := servedSpec(t, e, "app"); got != from || n != i+1 {
					t.Fatalf("commit %d: serves %s with %d builds, want %s and %d", i, got, n, from, i+1)
				}
			}
		})
	}
}

// buildByHand triggers a build through the API, as a person would.
func buildByHand(t *testing.T, e *emu, templateID string, buildSpec map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"build_spec": buildSpec})
	req, _ := http.NewRequest(http.MethodPost, e.URL+"/sandbox-templates/"+templateID+"/builds", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer msk_by_hand_0000")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("build by hand: %s", resp.Status)
	}
}

// cliApply runs `sandbox-templates apply` in the workspace.
func cliApply(t *testing.T, e *emu, w *workspace, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"apply", "--dir", w.dir, "--api-url", e.URL}, args...)...)
	cmd.Env = []string{"MIOSA_API_KEY=msk_test_e2e", "PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("apply %v: %v\n%s", args, err, out)
	}
	return string(out)
}
