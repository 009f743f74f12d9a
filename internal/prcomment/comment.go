package prcomment

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/github"
	"github.com/miosa-dev/sandbox-templates-action/internal/textsafe"
)

const (
	attempts = 3   // tries of the whole find-and-write, for a create whose outcome is unknown or a comment deleted meanwhile
	maxText  = 300 // bytes of a comment's URL kept in a message
)

// commenter writes one job's comment on one pull request.
type commenter struct {
	gh     *github.Client
	pr     int
	marker string // the hidden first line
	wait   time.Duration
}

// newCommenter checks cfg and returns a commenter of it.
func newCommenter(cfg Config) (*commenter, error) {
	gh, err := github.New(github.Config{
		APIURL: cfg.APIURL, Token: cfg.Token, Repository: cfg.Repository,
		UserAgent: cfg.UserAgent, HTTPClient: cfg.HTTPClient, RetryWait: cfg.RetryWait,
	})
	if err != nil {
		return nil, fmt.Errorf("pr-comment: %w", err)
	}
	c := &commenter{gh: gh, pr: cfg.PR, marker: markerLine(cfg.Marker), wait: cfg.RetryWait}
	if c.wait <= 0 {
		c.wait = time.Second
	}
	return c, nil
}

// ours reports whether cm is this job's comment: its first line is the
// marker, and a bot or someone with write access wrote it.
func (c *commenter) ours(cm github.Comment) bool {
	first, _, _ := strings.Cut(cm.Body, "\n")
	if strings.TrimRight(first, "\r \t") != c.marker {
		return false
	}
	if cm.AuthorType == "Bot" {
		return true
	}
	switch cm.Association {
	case "OWNER", "MEMBER", "COLLABORATOR":
		return true
	}
	return false
}

// try is what one find-and-write came to.
type try struct {
	res      Result
	err      error
	again    bool // the failure may be mended by trying anew from the list
	readOnly bool // the token may not comment
}

// post finds this job's comment and edits it, or creates it. The GitHub
// client retries each request; post tries anew from the list when a create
// failed without saying whether it was made (its answer was lost: the next
// list finds it, so it is never made twice) or the comment was deleted
// before the edit.
func (c *commenter) post(ctx context.Context, body string) try {
	wait := c.wait
	for attempt := 1; ; attempt++ {
		t := c.once(ctx, body)
		if t.err == nil || !t.again || attempt == attempts {
			return t
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return try{err: fmt.Errorf("%w; stopped waiting to try again: %w", t.err, ctx.Err())}
		case <-timer.C:
		}
		wait *= 2
	}
}

// once is one try: list, then update or create.
func (c *commenter) once(ctx context.Context, body string) try {
	found, err := c.find(ctx)
	if err != nil {
		return try{err: err, readOnly: refused(err) || github.IsNotFound(err)}
	}
	switch {
	case found != nil && found.Body == body:
		return try{res: c.result(Updated, *found, "is up to date")}
	case found != nil:
		cm, err := c.gh.EditComment(ctx, found.ID, body)
		if err != nil {
			return try{err: err, again: github.IsNotFound(err), readOnly: refused(err)}
		}
		return try{res: c.result(Updated, cm, "updated")}
	}
	cm, err := c.gh.CreateComment(ctx, c.pr, body)
	if err != nil {
		return try{err: err, again: outcomeUnknown(err), readOnly: refused(err) || github.IsNotFound(err)}
	}
	return try{res: c.result(Created, cm, "created")}
}

// find returns this job's comment, or nil, reading the pull request's
// comments until it turns up.
func (c *commenter) find(ctx context.Context) (*github.Comment, error) {
	for cm, err := range c.gh.Comments(ctx, c.pr) {
		if err != nil {
			return nil, err
		}
		if c.ours(cm) {
			return &cm, nil
		}
	}
	return nil, nil
}

// refused reports a 403 that is not a rate limit: the token may not do it.
func refused(err error) bool {
	e, ok := errors.AsType[*github.Error](err)
	return ok && e.Status == http.StatusForbidden && !github.IsRateLimited(err)
}

// outcomeUnknown reports a failed write GitHub may have carried out: no
// answer came, or a 5xx.
func outcomeUnknown(err error) bool {
	e, ok := errors.AsType[*github.Error](err)
	return ok && (e.Status == 0 && e.Err != nil || e.Status >= 500)
}

// result describes what happened to cm.
func (c *commenter) result(o Outcome, cm github.Comment, did string) Result {
	msg := fmt.Sprintf("pull request #%d: comment %d %s", c.pr, cm.ID, did)
	if cm.URL != "" {
		msg += ": " + textsafe.Truncate(textsafe.Line(cm.URL), maxText)
	}
	return Result{Outcome: o, CommentID: cm.ID, URL: cm.URL, Message: msg}
}

// readOnlyMessage explains a refused comment in one line.
func (c *commenter) readOnlyMessage(err error) string {
	why := err.Error()
	if e, ok := errors.AsType[*github.Error](err); ok {
		why = e.Brief()
	}
	return fmt.Sprintf("no pull request comment: the token may not comment on pull request #%d (%s); "+
		"fork pull requests get a read-only token; elsewhere give the job \"permissions: pull-requests: write\", "+
		"or set pr-comment: never", c.pr, why)
}
