package prcomment

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/github"
	"github.com/miosa-dev/sandbox-templates-action/internal/textsafe"
)

// Modes of Config.Mode, as the pr-comment input spells them.
const (
	ModeAuto   = "auto"   // comment when the token can write; a read-only token is a notice
	ModeAlways = "always" // comment, or fail
	ModeNever  = "never"  // send nothing
)

// Config says where to comment and how.
type Config struct {
	APIURL     string        // GitHub REST API base (GITHUB_API_URL): https://api.github.com, or https://HOST/api/v3
	Token      string        // github-token; sent only to APIURL
	Repository string        // owner/name (GITHUB_REPOSITORY)
	PR         int           // pull request number; 0 when the event has none
	HeadSHA    string        // the pull request head the run is for (pull_request.head.sha); "" writes without checking it
	Marker     string        // which comment is this job's (see Marker)
	Mode       string        // ModeAuto (also ""), ModeAlways or ModeNever
	RunURL     string        // the run's page, where the job summary is, named when the body is cut; may be empty
	HTTPClient *http.Client  // nil: a client with a 30 s timeout; its redirect policy is replaced, never followed
	UserAgent  string        // "" means "sandbox-templates-action"
	RetryWait  time.Duration // before the first retry of a transient failure, doubled after; 0 means 1 s; GitHub's Retry-After wins
}

// Format prints c with the token redacted, under every verb.
func (c Config) Format(f fmt.State, _ rune) {
	tok := ""
	if c.Token != "" {
		tok = "[REDACTED]"
	}
	_, _ = fmt.Fprintf(f, "{APIURL:%s Token:%s Repository:%s PR:%d HeadSHA:%s Marker:%s Mode:%s RunURL:%s}",
		c.APIURL, tok, c.Repository, c.PR, c.HeadSHA, c.Marker, c.Mode, c.RunURL)
}

// Outcome is what Post did.
type Outcome int

// Outcomes of Post.
const (
	Skipped  Outcome = iota // nothing sent: mode never, no pull request, or no token in auto mode
	Created                 // a new comment
	Updated                 // this job's comment, edited in place
	ReadOnly                // the token may not comment (403, or 404 for a private repository)
	Stale                   // nothing sent: the pull request's head is no longer Config.HeadSHA; its run owns the comment
)

// String returns the outcome in lower case: "skipped", "created", ...
func (o Outcome) String() string {
	switch o {
	case Created:
		return "created"
	case Updated:
		return "updated"
	case ReadOnly:
		return "read-only"
	case Stale:
		return "stale"
	}
	return "skipped"
}

// Result is what Post did, with one line for the log.
type Result struct {
	Outcome   Outcome
	CommentID int64  // the comment created or updated; 0 when none was
	URL       string // its html_url
	Truncated bool   // the body was cut to fit
	Message   string // one line saying what happened; never holds the token
}

// Post creates or updates this job's comment on cfg.PR with markdown as its
// text (see Body), deleting newer copies of it that racing runs left. With
// cfg.HeadSHA set, it first checks that it is still the pull request's head,
// and writes nothing when it is not: Outcome Stale, with a nil error. It
// returns an error for anything GitHub refuses and, in always mode, when
// nothing could be posted; in auto mode a read-only token is Outcome
// ReadOnly with a nil error. Errors never contain the token.
func Post(ctx context.Context, cfg Config, markdown string) (Result, error) {
	always := cfg.Mode == ModeAlways
	switch {
	case cfg.Mode == ModeNever:
		return Result{Outcome: Skipped, Message: "no pull request comment: pr-comment is never"}, nil
	case cfg.PR <= 0:
		return Result{Outcome: Skipped, Message: "no pull request comment: the event is not a pull request"}, nil
	case cfg.Token == "" && always:
		return Result{}, errors.New("pr-comment: always needs a github-token, and it is empty")
	case cfg.Token == "":
		return Result{Outcome: Skipped, Message: "no pull request comment: github-token is empty"}, nil
	case cfg.Marker == "":
		return Result{}, errors.New("pr-comment: no marker to find the comment by")
	case cfg.HeadSHA != "" && !github.IsSHA(cfg.HeadSHA):
		return Result{}, fmt.Errorf("pr-comment: head %q is not a commit SHA", textsafe.Truncate(textsafe.Line(cfg.HeadSHA), 100))
	}
	c, err := newCommenter(cfg)
	if err != nil {
		return Result{}, err
	}
	body, cut := truncate(cfg.Marker, c.head, markdown, cfg.RunURL)
	t := c.post(ctx, body)
	switch {
	case t.err != nil && t.readOnly:
		res := Result{Outcome: ReadOnly, Truncated: cut, Message: c.readOnlyMessage(t.err)}
		if always {
			return res, fmt.Errorf("pr-comment: %w", t.err)
		}
		return res, nil
	case t.err != nil:
		return Result{}, fmt.Errorf("pr-comment: %w", t.err)
	}
	res := t.res
	if cut && res.Outcome != Stale {
		res.Truncated = true
		res.Message += "; the text was cut to fit GitHub's limit, the job summary has all of it"
	}
	return res, nil
}

// Marker returns the marker of a workflow's job and label: the workflow
// name (GITHUB_WORKFLOW), the job id (GITHUB_JOB) and the comment-label
// input, escaped so that any two different triples give different markers
// and none can end the HTML comment. Matrix legs share a job id: each
// keeps its own comment with a label of its own. An empty label gives the
// marker of versions before labels, workflow/job, so an upgrade adopts the
// comment they wrote.
func Marker(workflow, job, label string) string {
	m := url.PathEscape(workflow) + "/" + url.PathEscape(job)
	if label != "" {
		m += "/" + url.PathEscape(label)
	}
	return m
}
