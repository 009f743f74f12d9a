package github

import (
	"context"
	"fmt"
	"iter"
	"net/http"

	gh "github.com/google/go-github/v75/github"
)

const (
	perPage  = 100 // comments asked for per page, GitHub's maximum
	maxPages = 100 // pages read before giving up: 10,000 comments
)

// Operations on comments, as errors name them.
const (
	opList   = "list comments"
	opCreate = "create comment"
	opUpdate = "update comment"
	opDelete = "delete comment"
)

// Comment is an issue or pull request comment.
type Comment struct {
	ID          int64
	Body        string
	URL         string // its page (html_url)
	Author      string // the author's login
	AuthorType  string // "User", "Bot" or "Organization"
	Association string // author_association: "OWNER", "MEMBER", "COLLABORATOR", "CONTRIBUTOR", "NONE", ...
}

// fromIssueComment converts go-github's comment.
func fromIssueComment(ic *gh.IssueComment) Comment {
	return Comment{
		ID: ic.GetID(), Body: ic.GetBody(), URL: ic.GetHTMLURL(),
		Author: ic.GetUser().GetLogin(), AuthorType: ic.GetUser().GetType(), Association: ic.GetAuthorAssociation(),
	}
}

// Comments yields the comments of issue or pull request number, oldest
// first, reading GET /repos/{owner}/{repo}/issues/{number}/comments a page
// of 100 at a time, as far as the loop goes (at most 100 pages). A failure
// is yielded once, with a zero Comment, and ends the sequence.
func (c *Client) Comments(ctx context.Context, number int) iter.Seq2[Comment, error] {
	return func(yield func(Comment, error) bool) {
		if number <= 0 {
			yield(Comment{}, &Error{Op: opList, Message: fmt.Sprintf("%d is not an issue number", number)})
			return
		}
		for page := 1; page != 0; {
			if page > maxPages {
				yield(Comment{}, &Error{Op: opList, Message: fmt.Sprintf("more than %d pages of comments", maxPages)})
				return
			}
			list, next, err := c.commentPage(ctx, number, page)
			if err != nil {
				yield(Comment{}, err)
				return
			}
			for _, ic := range list {
				if !yield(fromIssueComment(ic), nil) {
					return
				}
			}
			if next != 0 && next <= page {
				yield(Comment{}, &Error{Op: opList, Status: http.StatusOK, Message: fmt.Sprintf("page %d names page %d as the next", page, next)})
				return
			}
			page = next
		}
	}
}

// commentPage reads one page of comments and returns the next page's
// number, 0 after the last.
func (c *Client) commentPage(ctx context.Context, number, page int) ([]*gh.IssueComment, int, error) {
	opts := &gh.IssueListCommentsOptions{ListOptions: gh.ListOptions{PerPage: perPage}}
	if page > 1 {
		opts.Page = page
	}
	var list []*gh.IssueComment
	next := 0
	err := c.do(ctx, call{op: opList, what: "a list of comments"}, func() (*gh.Response, error) {
		l, resp, err := c.gh.Issues.ListComments(ctx, c.owner, c.repo, number, opts)
		list = l
		if resp != nil {
			next = resp.NextPage
		}
		return resp, err
	})
	return list, next, err
}

// CreateComment adds a comment with body to issue or pull request number:
// POST /repos/{owner}/{repo}/issues/{number}/comments. A failure whose
// outcome is unknown (a 5xx, a lost connection) is not retried: the comment
// may exist.
func (c *Client) CreateComment(ctx context.Context, number int, body string) (Comment, error) {
	if number <= 0 {
		return Comment{}, &Error{Op: opCreate, Message: fmt.Sprintf("%d is not an issue number", number)}
	}
	return c.writeComment(ctx, call{op: opCreate, what: "a comment", write: true}, func() (*gh.IssueComment, *gh.Response, error) {
		return c.gh.Issues.CreateComment(ctx, c.owner, c.repo, number, &gh.IssueComment{Body: &body})
	})
}

// EditComment replaces the body of comment id: PATCH
// /repos/{owner}/{repo}/issues/comments/{id}.
func (c *Client) EditComment(ctx context.Context, id int64, body string) (Comment, error) {
	return c.writeComment(ctx, call{op: opUpdate, what: "a comment"}, func() (*gh.IssueComment, *gh.Response, error) {
		return c.gh.Issues.EditComment(ctx, c.owner, c.repo, id, &gh.IssueComment{Body: &body})
	})
}

// DeleteComment deletes comment id: DELETE
// /repos/{owner}/{repo}/issues/comments/{id}. It is repeated like a read on
// a 5xx or a lost connection: deleting twice deletes nothing more. A comment
// already gone is an error for which IsNotFound holds.
func (c *Client) DeleteComment(ctx context.Context, id int64) error {
	if id <= 0 {
		return &Error{Op: opDelete, Message: fmt.Sprintf("%d is not a comment id", id)}
	}
	return c.do(ctx, call{op: opDelete, what: "an answer"}, func() (*gh.Response, error) {
		return c.gh.Issues.DeleteComment(ctx, c.owner, c.repo, id)
	})
}

// writeComment runs a create or an edit and returns the comment.
func (c *Client) writeComment(ctx context.Context, cl call, send func() (*gh.IssueComment, *gh.Response, error)) (Comment, error) {
	var ic *gh.IssueComment
	status := 0
	err := c.do(ctx, cl, func() (resp *gh.Response, err error) {
		ic, resp, err = send()
		if resp != nil {
			status = resp.StatusCode
		}
		return resp, err
	})
	if err != nil {
		return Comment{}, err
	}
	if ic.GetID() == 0 {
		return Comment{}, &Error{Op: cl.op, Status: status, Message: "unreadable answer: not " + cl.what}
	}
	return fromIssueComment(ic), nil
}
