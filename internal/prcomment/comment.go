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
	attempts = 3   // tries of the whole find-and-write, for a create whose outcome is unknown
	maxText  = 300 // bytes of a comment's URL kept in a message
)

// actionsBot is the author of what GITHUB_TOKEN writes.
const actionsBot = "github-actions[bot]"

// commenter writes one job's comment on one pull request. What it reads of
// GitHub besides the comments, the token's login and the pull request's
// head, it reads at most once, when first needed, and keeps for this run
// only.
type commenter struct {
	gh     *github.Client
	pr     int
	marker string // the hidden first line
	head   string // the pull request head the run is for, lower case; "" checks none
	wait   time.Duration

	login, current string // the token's login ("" when GitHub does not say) and the pull request's head
	loginRead      bool   // login was asked for
	currentRead    bool   // current was asked for
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
	c := &commenter{gh: gh, pr: cfg.PR, marker: markerLine(cfg.Marker), head: strings.ToLower(cfg.HeadSHA), wait: cfg.RetryWait}
	if c.wait <= 0 {
		c.wait = time.Second
	}
	return c, nil
}

// marked reports whether cm's first line is this job's marker.
func (c *commenter) marked(cm github.Comment) bool {
	first, _, _ := strings.Cut(cm.Body, "\n")
	return strings.TrimRight(first, "\r \t") == c.marker
}

// ours reports whether the marked comment cm is this job's: GITHUB_TOKEN
// wrote it (github-actions[bot]), or the token's own identity did, when
// GitHub says who that is. Anyone else's, another app's bot or a member's,
// is never adopted, whatever it says.
func (c *commenter) ours(ctx context.Context, cm github.Comment) (bool, error) {
	if cm.Author == actionsBot {
		return true, nil
	}
	login, err := c.tokenLogin(ctx)
	return login != "" && strings.EqualFold(cm.Author, login), err
}

// tokenLogin returns the token's login, asking GitHub once: "" when it will
// not say, as it will not to an installation token (403) such as
// GITHUB_TOKEN.
func (c *commenter) tokenLogin(ctx context.Context) (string, error) {
	if c.loginRead {
		return c.login, nil
	}
	login, err := c.gh.User(ctx)
	if err != nil && !refused(err) && !github.IsNotFound(err) {
		return "", err
	}
	c.login, c.loginRead = login, true
	return login, nil
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
// list finds it, so it is never made twice).
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

// once is one try: list, check the head, then keep one comment and delete
// the newer copies. Nothing is written when the one comment found already
// holds body.
func (c *commenter) once(ctx context.Context, body string) try {
	found, err := c.find(ctx)
	if err != nil {
		return try{err: err, readOnly: refused(err) || github.IsNotFound(err)}
	}
	if len(found) == 1 && found[0].Body == body {
		return try{res: c.result(Updated, found[0], "is up to date")}
	}
	if t, ok := c.checkHead(ctx); !ok {
		return t
	}
	t, kept := c.keep(ctx, found, body)
	if t.err == nil && kept < len(found) {
		t.res.Message += c.prune(ctx, found[kept+1:])
	}
	return t
}

// find returns this job's comments, oldest first, reading every page: more
// than one are copies racing runs made.
func (c *commenter) find(ctx context.Context) ([]github.Comment, error) {
	var found []github.Comment
	for cm, err := range c.gh.Comments(ctx, c.pr) {
		if err != nil {
			return nil, err
		}
		if !c.marked(cm) {
			continue
		}
		ours, err := c.ours(ctx, cm)
		if err != nil {
			return nil, err
		}
		if ours {
			found = append(found, cm)
		}
	}
	return found, nil
}

// checkHead reports whether the run may write: it has no head to check, or
// its head is the pull request's head now. When it is not, the try is a
// Stale result: the run of the newer head owns the comment.
func (c *commenter) checkHead(ctx context.Context) (try, bool) {
	if c.head == "" {
		return try{}, true
	}
	if !c.currentRead {
		sha, err := c.gh.PullHead(ctx, c.pr)
		if err != nil {
			return try{err: err, readOnly: refused(err) || github.IsNotFound(err)}, false
		}
		c.current, c.currentRead = sha, true
	}
	if c.current == c.head {
		return try{}, true
	}
	msg := fmt.Sprintf("no pull request comment: this run is for %s, but pull request #%d is now at %s; "+
		"the run of that newer push owns the comment", short(c.head), c.pr, short(c.current))
	return try{res: Result{Outcome: Stale, Message: msg}}, false
}

// short is a SHA's first 12 characters.
func short(sha string) string { return sha[:min(len(sha), 12)] }

// keep writes body to the oldest of found that takes it, leaving alone
// those whose edit GitHub refuses (403, 404, 422), and creates the comment
// when none does. It returns the index in found of the comment kept,
// len(found) when it created one.
func (c *commenter) keep(ctx context.Context, found []github.Comment, body string) (try, int) {
	for i, cm := range found {
		if cm.Body == body {
			return try{res: c.result(Updated, cm, "is up to date")}, i
		}
		edited, err := c.gh.EditComment(ctx, cm.ID, body)
		switch {
		case err == nil:
			return try{res: c.result(Updated, edited, "updated")}, i
		case !editRefused(err):
			return try{err: err}, i
		}
	}
	cm, err := c.gh.CreateComment(ctx, c.pr, body)
	if err != nil {
		return try{err: err, again: outcomeUnknown(err), readOnly: refused(err) || github.IsNotFound(err)}, len(found)
	}
	return try{res: c.result(Created, cm, "created")}, len(found)
}

// prune deletes copies, newer than the comment kept, and returns what it
// did for the result's message. A copy already gone counts as deleted; one
// that could not be deleted is left for the next run.
func (c *commenter) prune(ctx context.Context, copies []github.Comment) string {
	deleted, failed := 0, ""
	for _, cm := range copies {
		err := c.gh.DeleteComment(ctx, cm.ID)
		switch {
		case err == nil || github.IsNotFound(err):
			deleted++
		case failed == "":
			failed = brief(err)
		}
	}
	msg := ""
	if deleted > 0 {
		msg = "; " + newerCopies(deleted) + " deleted"
	}
	if n := len(copies) - deleted; n > 0 {
		msg += "; " + newerCopies(n) + " left (" + failed + ")"
	}
	return msg
}

// newerCopies counts copies in words: "1 newer copy", "2 newer copies".
func newerCopies(n int) string {
	if n == 1 {
		return "1 newer copy"
	}
	return fmt.Sprintf("%d newer copies", n)
}

// editRefused reports an edit GitHub will not make to that comment: 403
// (not a rate limit), 404 (it is gone) or 422.
func editRefused(err error) bool {
	return refused(err) || github.IsNotFound(err) || status(err) == http.StatusUnprocessableEntity
}

// refused reports a 403 that is not a rate limit: the token may not do it.
func refused(err error) bool {
	return status(err) == http.StatusForbidden && !github.IsRateLimited(err)
}

// status is err's HTTP status; 0 when it has none.
func status(err error) int {
	if e, ok := errors.AsType[*github.Error](err); ok {
		return e.Status
	}
	return 0
}

// outcomeUnknown reports a failed write GitHub may have carried out: no
// answer came, or a 5xx.
func outcomeUnknown(err error) bool {
	e, ok := errors.AsType[*github.Error](err)
	return ok && (e.Status == 0 && e.Err != nil || e.Status >= 500)
}

// brief is GitHub's status and message of err, or its text.
func brief(err error) string {
	if e, ok := errors.AsType[*github.Error](err); ok {
		return e.Brief()
	}
	return err.Error()
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
	return fmt.Sprintf("no pull request comment: the token may not comment on pull request #%d (%s); "+
		"fork pull requests get a read-only token; elsewhere give the job \"permissions: pull-requests: write\", "+
		"or set pr-comment: never", c.pr, brief(err))
}
