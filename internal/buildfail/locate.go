package buildfail

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
)

// CodeStepFailed is the error_code of a build that failed at one of its
// steps; its error_message names the step, 1-based, as in
// "step 3 `npm ci` exited 1: ENOENT package-lock.json".
const CodeStepFailed = "BUILD_STEP_FAILED"

// stepRef finds where a message names a step: "step 3", "Step 3:",
// "step #3", "step 3/5", "step3".
var stepRef = regexp.MustCompile(`(?i)\bstep\s*#?\s*(\d{1,9})\b`)

// Locate returns the position in t's file to annotate a failed build with,
// and the field it names. For a BUILD_STEP_FAILED build (or one without an
// error code) whose message names step N of the spec's steps, that is the
// value of the step's `run:` and the field "build_spec.steps[N-1].run";
// otherwise the `build_spec:` key and the field "build_spec". When the
// message quotes the command in backticks right after the number, and that
// is not step N's run (or there is no step N) but is exactly another step's
// run, or its first line, that step wins: of several, the nearest to N. A
// nil t gives line 0 (unknown) and "build_spec".
func Locate(t *spec.Template, errorCode, errorMessage string) (line, col int, field string) {
	if t == nil {
		return 0, 0, "build_spec"
	}
	if i, ok := failedStep(t.BuildSpec, errorCode, errorMessage); ok {
		line, col = t.Locate("/steps/" + strconv.Itoa(i) + "/run")
		return line, col, "build_spec.steps[" + strconv.Itoa(i) + "].run"
	}
	line, col = t.LocateKey("")
	return line, col, "build_spec"
}

// failedStep returns the 0-based index of the step that msg blames.
func failedStep(buildSpec map[string]any, code, msg string) (int, bool) {
	code = strings.TrimSpace(code)
	if code != "" && !strings.EqualFold(code, CodeStepFailed) {
		return 0, false
	}
	m := stepRef.FindStringSubmatchIndex(msg)
	if m == nil {
		return 0, false
	}
	n, _ := strconv.Atoi(msg[m[2]:m[3]])
	i := n - 1
	runs := stepRuns(buildSpec)
	inRange := i >= 0 && i < len(runs)
	if quoted, ok := quotedCommand(msg[m[1]:]); ok && !(inRange && sameCommand(quoted, runs[i])) {
		// The server quotes the command it ran. When that is not step N's
		// run but is exactly another step's, the command is the better
		// evidence (a server that counts from 0, or counts a step of its
		// own, gets the number wrong, not the command), so the step whose
		// run matches wins: of several, the one nearest to N.
		if j, ok := nearestMatch(runs, quoted, i); ok {
			return j, true
		}
	}
	return i, inRange
}

// stepRuns returns each step's run command, "" for a step without one.
func stepRuns(buildSpec map[string]any) []string {
	steps, _ := buildSpec["steps"].([]any)
	runs := make([]string, len(steps))
	for i, s := range steps {
		m, _ := s.(map[string]any)
		runs[i], _ = m["run"].(string)
	}
	return runs
}

// quotedCommand returns the backtick-quoted text that starts rest, after
// white space, a colon or an opening parenthesis: "`npm ci` exited 1"
// gives "npm ci". A span opened by k backticks ends at the next k.
func quotedCommand(rest string) (string, bool) {
	rest = strings.TrimLeft(rest, " \t:(")
	k := len(rest) - len(strings.TrimLeft(rest, "`"))
	if k == 0 {
		return "", false
	}
	fence := rest[:k]
	end := strings.Index(rest[k:], fence)
	if end < 0 {
		return "", false
	}
	return rest[k : k+end], true
}

// sameCommand reports whether quoted is run, or run's first line (what a
// server quotes of a multi-line command), white space around them ignored.
func sameCommand(quoted, run string) bool {
	quoted, run = strings.TrimSpace(quoted), strings.TrimSpace(run)
	if quoted == "" {
		return false
	}
	first, _, _ := strings.Cut(run, "\n")
	return quoted == run || quoted == strings.TrimSpace(first)
}

// nearestMatch returns the step whose run is quoted nearest to index i, the
// earlier of two as near.
func nearestMatch(runs []string, quoted string, i int) (int, bool) {
	best := -1
	for j, run := range runs {
		if sameCommand(quoted, run) && (best < 0 || abs(j-i) < abs(best-i)) {
			best = j
		}
	}
	return best, best >= 0
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
