package ghaction

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	githubactions "github.com/sethvargo/go-githubactions"
)

// runner is everything the action reads of the runner, read once: the
// GITHUB_* variables through go-githubactions' context, and the event
// payload, decoded into the fields the action uses.
type runner struct {
	Event       string // GITHUB_EVENT_NAME
	SHA         string // GITHUB_SHA
	Ref         string // GITHUB_REF, e.g. refs/heads/main
	RefName     string // GITHUB_REF_NAME
	Repository  string // owner/name
	Workspace   string
	APIURL      string // GITHUB_API_URL, https://api.github.com when unset
	ServerURL   string
	RunID       int64
	Workflow    string
	Job         string
	StepSummary string
	Actor       string // GITHUB_ACTOR, e.g. dependabot[bot]
	Payload     payload
	// PayloadError says why the event payload could not be read; the
	// fields that come from it are then unknown.
	PayloadError error
}

// payload is the part of the event payload the action reads.
type payload struct {
	HeadCommit  *payloadCommit `json:"head_commit"`
	Repository  *payloadRepo   `json:"repository"`
	Number      int            `json:"number"`
	Action      string         `json:"action"` // of a pull_request event: opened, synchronize, closed, ...
	PullRequest *struct {
		Number int `json:"number"`
		Head   struct {
			SHA  string       `json:"sha"`
			Repo *payloadRepo `json:"repo"` // null when the fork was deleted
		} `json:"head"`
		Base struct {
			Repo *payloadRepo `json:"repo"`
			SHA  string       `json:"sha"`
			Ref  string       `json:"ref"`
		} `json:"base"`
	} `json:"pull_request"`
	WorkflowRun *payloadRun `json:"workflow_run"`
	Release     *struct {
		TagName    string `json:"tag_name"`
		Prerelease bool   `json:"prerelease"`
		Draft      bool   `json:"draft"`
	} `json:"release"`
}

type payloadCommit struct {
	ID        string `json:"id"`
	Timestamp string `json:"timestamp"`
}

type payloadRepo struct {
	FullName      string          `json:"full_name"`
	DefaultBranch string          `json:"default_branch"`
	PushedAt      json.RawMessage `json:"pushed_at"`
	Fork          bool            `json:"fork"`
}

// payloadRun is a workflow_run payload's run.
type payloadRun struct {
	HeadSHA        string         `json:"head_sha"`
	HeadBranch     string         `json:"head_branch"`
	Event          string         `json:"event"`
	HeadCommit     *payloadCommit `json:"head_commit"`
	HeadRepository *payloadRepo   `json:"head_repository"`
}

// readRunner reads the runner through go-githubactions' context. A payload
// that cannot be decoded leaves Payload empty and says why.
func readRunner(a *githubactions.Action) runner {
	c, err := a.Context()
	if c == nil {
		c = &githubactions.GitHubContext{}
	}
	r := runner{Event: c.EventName, SHA: c.SHA, Ref: c.Ref, RefName: c.RefName, Repository: c.Repository,
		Workspace: c.Workspace, APIURL: c.APIURL, ServerURL: c.ServerURL, RunID: c.RunID,
		Workflow: c.Workflow, Job: c.Job, StepSummary: c.StepSummary, Actor: c.Actor, PayloadError: err}
	if c.Event != nil {
		raw, merr := json.Marshal(c.Event)
		if merr == nil {
			merr = json.Unmarshal(raw, &r.Payload)
		}
		if merr != nil {
			r.Payload, r.PayloadError = payload{}, merr
		}
	}
	return r
}

// runHeadSHA is a workflow_run event's triggering commit, or "".
func (r runner) runHeadSHA() string {
	if r.Event != "workflow_run" || r.Payload.WorkflowRun == nil {
		return ""
	}
	return r.Payload.WorkflowRun.HeadSHA
}

// dependabot is the actor of Dependabot's runs.
const dependabot = "dependabot[bot]"

// noSecrets says why no Actions secret can reach this run, or "" when one
// can: a pull request from a fork (or a review of one), Dependabot's runs,
// and runs in a fork of the repository. Only there may a run without an
// api-key pass as an offline check; elsewhere an empty key is a missing or
// misnamed secret. A pull request whose head repository the payload does
// not show (a deleted fork, an unreadable payload) counts as a fork's.
func (r runner) noSecrets() string {
	switch {
	case r.Actor == dependabot:
		return "Dependabot's runs get no Actions secrets"
	case forkEvents[r.Event] && r.forkPR():
		return "a pull request from a fork gets no secrets"
	case r.Payload.Repository != nil && r.Payload.Repository.Fork:
		return "this repository is a fork, and a fork's runs get none of the original repository's secrets"
	}
	return ""
}

// forkEvents are the events whose runs get no secrets when the pull request
// comes from a fork. pull_request_target is not one: it runs in the base
// repository, with its secrets.
var forkEvents = map[string]bool{"pull_request": true, "pull_request_review": true, "pull_request_review_comment": true}

// forkPR reports a pull request whose head is in another repository than
// its base, or whose head repository is unknown.
func (r runner) forkPR() bool {
	pr := r.Payload.PullRequest
	if pr == nil || pr.Head.Repo == nil || pr.Head.Repo.FullName == "" {
		return true
	}
	base := r.Repository
	if pr.Base.Repo != nil && pr.Base.Repo.FullName != "" {
		base = pr.Base.Repo.FullName
	}
	return !strings.EqualFold(pr.Head.Repo.FullName, base)
}

// PRNumber is the pull request's number, or 0 when the event has none.
func (r runner) PRNumber() int {
	if r.Payload.PullRequest != nil && r.Payload.PullRequest.Number > 0 {
		return r.Payload.PullRequest.Number
	}
	return 0
}

// PRHeadSHA is the pull request's head commit the event was for
// (pull_request.head.sha), or "" when the event has none.
func (r runner) PRHeadSHA() string {
	if r.Payload.PullRequest == nil {
		return ""
	}
	return r.Payload.PullRequest.Head.SHA
}

// RunURL is the run's page, where the job summary is; "" when unknown.
func (r runner) RunURL() string {
	if r.ServerURL == "" || r.Repository == "" || r.RunID == 0 {
		return ""
	}
	return r.ServerURL + "/" + r.Repository + "/actions/runs/" + strconv.FormatInt(r.RunID, 10)
}

// commitTime is when the run's commit reached the repository, from the
// event payload: a push's head_commit.timestamp, or a workflow_run's, when
// that commit is the run's commit, and the later repository.pushed_at of a
// push. A build made after it comes from a newer push or from someone's
// hand. Zero when the payload does not say.
func (r runner) commitTime(commit string) time.Time {
	var runCommit *payloadCommit
	if r.Payload.WorkflowRun != nil {
		runCommit = r.Payload.WorkflowRun.HeadCommit
	}
	for _, c := range []*payloadCommit{r.Payload.HeadCommit, runCommit} {
		if c == nil || c.Timestamp == "" || (commit != "" && c.ID != "" && c.ID != commit) {
			continue
		}
		t, err := time.Parse(time.RFC3339, c.Timestamp)
		if err != nil {
			continue
		}
		if c == r.Payload.HeadCommit && r.Payload.Repository != nil {
			if p := pushedAt(r.Payload.Repository.PushedAt); p.After(t) {
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
