package github

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	gh "github.com/google/go-github/v75/github"
)

// PullHead returns the SHA of pull request number's head commit, lower
// case: GET /repos/{owner}/{repo}/pulls/{number}, one request. It is what
// the pull request holds now, whatever the event that started the run said.
// A pull request that does not exist, or that the token may not see, is an
// error for which IsNotFound holds.
func (c *Client) PullHead(ctx context.Context, number int) (string, error) {
	pr, cl, err := c.pull(ctx, number)
	if err != nil {
		return "", err
	}
	return headSHA(pr, cl)
}

// pull reads pull request number: GET /repos/{owner}/{repo}/pulls/{number},
// one request. It returns the call, whose op names the pull request in the
// errors of what its callers read of the answer.
func (c *Client) pull(ctx context.Context, number int) (*gh.PullRequest, call, error) {
	cl := call{op: fmt.Sprintf("get pull request #%d", number), what: "a pull request"}
	if number <= 0 {
		return nil, cl, &Error{Op: cl.op, Message: fmt.Sprintf("%d is not a pull request number", number)}
	}
	var pr *gh.PullRequest
	err := c.do(ctx, cl, func() (resp *gh.Response, err error) {
		pr, resp, err = c.gh.PullRequests.Get(ctx, c.owner, c.repo, number)
		return resp, err
	})
	return pr, cl, err
}

// headSHA is the SHA of pr's head commit, lower case.
func headSHA(pr *gh.PullRequest, cl call) (string, error) {
	sha := strings.ToLower(pr.GetHead().GetSHA())
	if !IsSHA(sha) {
		return "", &Error{Op: cl.op, Status: http.StatusOK, Message: "unreadable answer: no head SHA"}
	}
	return sha, nil
}

// User returns the login of the token's own identity: GET /user, one
// request. GitHub answers it for a person's token; to an installation token
// (GITHUB_TOKEN, a GitHub App's) it answers 403 "Resource not accessible by
// integration", an error for which IsForbidden holds.
func (c *Client) User(ctx context.Context) (string, error) {
	cl := call{op: "get the token's user", what: "a user"}
	var u *gh.User
	err := c.do(ctx, cl, func() (resp *gh.Response, err error) {
		u, resp, err = c.gh.Users.Get(ctx, "")
		return resp, err
	})
	if err != nil {
		return "", err
	}
	if u.GetLogin() == "" {
		return "", &Error{Op: cl.op, Status: http.StatusOK, Message: "unreadable answer: no login"}
	}
	return u.GetLogin(), nil
}
