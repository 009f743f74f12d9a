package ghaction

import (
	"encoding/json"
	"io"
	"os"
	"time"
)

// maxEventSize bounds how much of the event payload is read.
const maxEventSize = 8 << 20

// commitTime is when the run's commit reached the repository, from the
// event payload (GITHUB_EVENT_PATH): a push's head_commit.timestamp, or a
// workflow_run's, when that commit is the run's commit, and the later
// repository.pushed_at of a push. A build made after it comes from a newer
// push or from someone's hand. Zero when the payload does not say: the
// action's image has no git to ask, so the rollback guard is off then.
func commitTime(getenv func(string) string, commit string) time.Time {
	path := getenv("GITHUB_EVENT_PATH")
	if path == "" {
		return time.Time{}
	}
	f, err := os.Open(path)
	if err != nil {
		return time.Time{}
	}
	defer f.Close()
	var ev struct {
		HeadCommit  *eventCommit `json:"head_commit"`
		WorkflowRun *eventRun    `json:"workflow_run"`
		Repository  *struct {
			PushedAt json.RawMessage `json:"pushed_at"`
		} `json:"repository"`
	}
	if err := json.NewDecoder(io.LimitReader(f, maxEventSize)).Decode(&ev); err != nil {
		return time.Time{}
	}
	var runCommit *eventCommit
	if ev.WorkflowRun != nil {
		runCommit = ev.WorkflowRun.HeadCommit
	}
	for _, c := range []*eventCommit{ev.HeadCommit, runCommit} {
		if c == nil || c.Timestamp == "" || (commit != "" && c.ID != "" && c.ID != commit) {
			continue
		}
		t, err := time.Parse(time.RFC3339, c.Timestamp)
		if err != nil {
			continue
		}
		if c == ev.HeadCommit && ev.Repository != nil {
			if p := pushedAt(ev.Repository.PushedAt); p.After(t) {
				t = p
			}
		}
		return t
	}
	return time.Time{}
}

// pushedAt reads repository.pushed_at: Unix seconds in push payloads, an
// RFC 3339 string in others.
func pushedAt(raw json.RawMessage) time.Time {
	var n int64
	if json.Unmarshal(raw, &n) == nil && n > 0 {
		return time.Unix(n, 0)
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

type eventCommit struct {
	ID        string `json:"id"`
	Timestamp string `json:"timestamp"`
}

// eventRun is a workflow_run payload's run.
type eventRun struct {
	HeadCommit *eventCommit `json:"head_commit"`
}
