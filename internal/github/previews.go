package github

import (
	"context"
	"net/http"
	"slices"
)

// Pull request states, as GitHub names them.
const (
	PullOpen   = "open"
	PullClosed = "closed" // merged ones too
)

// PullState returns whether pull request number is PullOpen or PullClosed
// (a merged one is closed): PullHeadState's state, one request. A pull
// request that does not exist, or that the token may not see, is an error
// for which IsNotFound holds.
func (c *Client) PullState(ctx context.Context, number int) (string, error) {
	_, state, err := c.PullHeadState(ctx, number)
	return state, err
}

// PullHeadState returns pull request number's head SHA, lower case (see
// PullHead), and whether it is PullOpen or PullClosed (a merged one is
// closed): one request, GET /repos/{owner}/{repo}/pulls/{number}. An answer
// without either is an error.
func (c *Client) PullHeadState(ctx context.Context, number int) (head, state string, err error) {
	pr, cl, err := c.pull(ctx, number)
	if err != nil {
		return "", "", err
	}
	if state = pr.GetState(); state != PullOpen && state != PullClosed {
		return "", "", &Error{Op: cl.op, Status: http.StatusOK, Message: "unreadable answer: state " + quote(state)}
	}
	if head, err = headSHA(pr, cl); err != nil {
		return "", "", err
	}
	return head, state, nil
}

// PullChanges says which of paths (repository-relative, slash-separated)
// differ between the merge base of base and head and head itself: the
// files a pull request from head into base changes, whatever base gained
// since. A path absent on one side and present on the other differs; one
// absent on both does not. It sends one request, GET
// /repos/{owner}/{repo}/compare/{base}...{head}?per_page=1, whose answer
// lists the changed files; when GitHub cut that list (it lists at most
// 300), it reads the blob SHAs of paths at the merge base and at head
// instead (see Blobs, whose dirSize this passes on): one more request
// each. The result keeps paths' order.
func (c *Client) PullChanges(ctx context.Context, base, head string, paths []string, dirSize int) ([]string, error) {
	cmp, cl, err := c.compare(ctx, base, head)
	if err != nil {
		return nil, err
	}
	mergeBase := cmp.GetMergeBaseCommit().GetSHA()
	if !IsSHA(mergeBase) {
		return nil, &Error{Op: cl.op, Status: http.StatusOK, Message: "unreadable answer: no merge base commit"}
	}
	if len(cmp.Files) < maxCompareFiles {
		changed := map[string]bool{}
		for _, f := range cmp.Files {
			changed[f.GetFilename()] = true
			changed[f.GetPreviousFilename()] = true
		}
		return slices.DeleteFunc(slices.Clone(paths), func(p string) bool { return !changed[p] }), nil
	}
	before, err := c.Blobs(ctx, mergeBase, paths, dirSize)
	if err != nil {
		return nil, err
	}
	after, err := c.Blobs(ctx, head, paths, dirSize)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(slices.Clone(paths), func(p string) bool { return before[p] == after[p] }), nil
}
