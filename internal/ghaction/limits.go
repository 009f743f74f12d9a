package ghaction

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/miosa-dev/sandbox-templates-action/internal/report"
	"github.com/miosa-dev/sandbox-templates-action/internal/run"
)

// maxAnnotate is how many annotations of each kind (error, warning,
// notice) GitHub shows per step; it drops the rest.
const maxAnnotate = 10

// annotations counts a step's annotations by kind.
type annotations struct {
	mu     sync.Mutex
	issued map[string]int // annotations issued
	plain  map[string]int // beyond maxAnnotate, printed as plain lines
}

// annotationKind reports whether a workflow command makes an annotation.
func annotationKind(name string) bool {
	return name == "error" || name == "warning" || name == "notice"
}

// take reports whether one more annotation of kind may be issued, and
// counts it; one that may not is counted as a plain line.
func (a *annotations) take(kind string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.issued == nil {
		a.issued, a.plain = map[string]int{}, map[string]int{}
	}
	if a.issued[kind] < maxAnnotate {
		a.issued[kind]++
		return true
	}
	a.plain[kind]++
	return false
}

// room is how many more annotations of kind GitHub will show.
func (a *annotations) room(kind string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return maxAnnotate - a.issued[kind]
}

// printedPlain is how many messages of kind were printed as plain lines.
func (a *annotations) printedPlain(kind string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.plain[kind]
}

// plainLine is an annotation that GitHub would not show, as a plain log
// line: its kind, its place and its message.
func plainLine(kind string, props map[string]string, msg string) string {
	where := ""
	if f := props["file"]; f != "" {
		where = f
		if l := props["line"]; l != "" {
			where += ":" + l
			if c := props["col"]; c != "" {
				where += ":" + c
			}
		}
		where += ": "
	}
	return kind + ": " + where + msg
}

// sayUnannotated counts, in one line each, the messages of each kind that
// were printed as plain lines because GitHub shows no more annotations:
// as a notice while notices are shown, else as a plain line.
func sayUnannotated(log stepLog) {
	if log.ann == nil {
		return
	}
	for _, kind := range []string{"error", "warning", "notice"} {
		n := log.ann.printedPlain(kind)
		if n == 0 {
			continue
		}
		msg := fmt.Sprintf("%s printed in this log as lines starting %q, not as annotations: GitHub shows %d of each kind per step",
			report.Plural(n, "more "+kind), kind+": ", maxAnnotate)
		if kind != "notice" && log.ann.room("notice") > 0 {
			log.command("notice", nil, msg)
			continue
		}
		log.info(msg)
	}
}

// PlanFileOutput is the output that names the plan file: every run
// writes it, beside the outputs report.Outputs lists.
const PlanFileOutput = "plan-file"

// planDir is the workspace directory of the plan files, not hidden:
// actions/upload-artifact leaves out hidden files and directories.
const planDir = "sandbox-templates-results"

// unsafeName matches what a plan file's name does not take.
var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// planFileName is the plan file's path relative to the workspace, one per
// run, job and comment label: sandbox-templates-results/plan-RUN-JOB.json.
func planFileName(rn runner, label string) string {
	parts := []string{"plan"}
	if rn.RunID > 0 {
		parts = append(parts, strconv.FormatInt(rn.RunID, 10))
	}
	for _, p := range []string{rn.Job, label} {
		if p = strings.Trim(unsafeName.ReplaceAllString(p, "_"), "._"); p != "" {
			parts = append(parts, p[:min(len(p), 60)])
		}
	}
	return path.Join(planDir, strings.Join(parts, "-")+".json")
}

// writePlanFile writes the whole result (the CLI's --json document, every
// output whole) to the plan file in the workspace, and returns its path
// relative to the workspace; "" with a warning when it cannot. It never
// leaves the workspace: the checkout (a fork's pull request's) may make
// the directory or the file a symbolic link to anywhere (os.Root).
func writePlanFile(log stepLog, root string, rel string, res *run.Result) string {
	var buf bytes.Buffer
	report.JSON(&buf, res)
	ws, err := os.OpenRoot(root)
	if err == nil {
		defer ws.Close()
		dir := filepath.FromSlash(path.Dir(rel))
		err = ws.MkdirAll(dir, 0o755)
		if err == nil {
			// The step runs as root in its container; the runner's user
			// must be able to clean the directory out of a reused
			// workspace.
			err = ws.Chmod(dir, 0o777)
		}
		if err == nil {
			err = ws.WriteFile(filepath.FromSlash(rel), buf.Bytes(), 0o644)
		}
	}
	if err != nil {
		log.command("warning", nil, "plan file: cannot write "+rel+" in the workspace: "+err.Error())
		return ""
	}
	return rel
}

// outputsCut says which outputs were cut to fit GitHub's limit and where
// every entry is, in one line.
func outputsCut(cuts []report.OutputCut, planFile string) string {
	var parts []string
	for _, c := range cuts {
		parts = append(parts, fmt.Sprintf("%s keeps %s of %s entries", c.Name, report.Number(c.Kept), report.Number(c.Total)))
	}
	where := "the plan file, which holds every entry, could not be written (see the warning above)"
	if planFile != "" {
		where = "every entry is in the plan file " + planFile + " (the plan-file output; keep it with actions/upload-artifact)"
	}
	return fmt.Sprintf("outputs cut to fit GitHub's limit of 1 MB per output, whole entries kept (changed templates first, still valid JSON): %s; %s",
		strings.Join(parts, ", "), where)
}
