package github

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	gh "github.com/google/go-github/v75/github"
)

// maxDeploymentPage is the most deployments GitHub lists per page.
const maxDeploymentPage = 100

// Deployment states, as GitHub names a deployment status's state.
const (
	DeploymentSuccess    = "success"
	DeploymentInProgress = "in_progress"
	DeploymentFailure    = "failure"
	DeploymentInactive   = "inactive"
)

// Deployment is a deployment of a commit to an environment.
type Deployment struct {
	ID          int64
	SHA         string // the commit deployed, lower case
	Ref         string // the ref it was made for
	Environment string
	Description string
	Payload     json.RawMessage // as given when it was made; nil for none
}

// NewDeployment is what CreateDeployment records.
type NewDeployment struct {
	SHA         string // the commit, a full SHA: the deployment's ref
	Environment string
	Description string
	Payload     any // marshalled as JSON
}

// Deployments lists the deployments to environment, newest first (as
// GitHub lists them), of commit sha when sha is not "": GET
// /repos/{owner}/{repo}/deployments?environment=E[&sha=S], one request of
// up to limit (at most 100) deployments.
func (c *Client) Deployments(ctx context.Context, environment, sha string, limit int) ([]Deployment, error) {
	cl := call{op: "list deployments to " + quote(environment), what: "a list of deployments"}
	if environment == "" {
		return nil, &Error{Op: cl.op, Message: "no environment named"}
	}
	if sha != "" && !IsSHA(sha) {
		return nil, &Error{Op: cl.op, Message: quote(sha) + " is not a full commit SHA"}
	}
	opts := &gh.DeploymentsListOptions{SHA: sha, Environment: environment,
		ListOptions: gh.ListOptions{PerPage: min(max(limit, 1), maxDeploymentPage)}}
	var list []*gh.Deployment
	err := c.do(ctx, cl, func() (resp *gh.Response, err error) {
		list, resp, err = c.gh.Repositories.ListDeployments(ctx, c.owner, c.repo, opts)
		return resp, err
	})
	if err != nil {
		return nil, err
	}
	out := make([]Deployment, 0, len(list))
	for _, d := range list {
		if d.GetID() == 0 || !IsSHA(strings.ToLower(d.GetSHA())) {
			return nil, &Error{Op: cl.op, Status: http.StatusOK, Message: "unreadable answer: a deployment with no id or commit SHA"}
		}
		out = append(out, fromDeployment(d))
	}
	return out, nil
}

// fromDeployment converts go-github's deployment.
func fromDeployment(d *gh.Deployment) Deployment {
	var payload json.RawMessage
	if len(d.Payload) > 0 && string(d.Payload) != "null" {
		payload = d.Payload
	}
	return Deployment{ID: d.GetID(), SHA: strings.ToLower(d.GetSHA()), Ref: d.GetRef(), Environment: d.GetEnvironment(),
		Description: d.GetDescription(), Payload: payload}
}

// DeploymentState returns the state of deployment id's latest status
// ("success", "inactive", "failure", ...), "" when it has none: GET
// /repos/{owner}/{repo}/deployments/{id}/statuses?per_page=1, one request
// (GitHub lists statuses newest first).
func (c *Client) DeploymentState(ctx context.Context, id int64) (string, error) {
	cl := call{op: fmt.Sprintf("list statuses of deployment %d", id), what: "a list of deployment statuses"}
	if id <= 0 {
		return "", &Error{Op: cl.op, Message: fmt.Sprintf("%d is not a deployment id", id)}
	}
	var list []*gh.DeploymentStatus
	err := c.do(ctx, cl, func() (resp *gh.Response, err error) {
		list, resp, err = c.gh.Repositories.ListDeploymentStatuses(ctx, c.owner, c.repo, id, &gh.ListOptions{PerPage: 1})
		return resp, err
	})
	if err != nil || len(list) == 0 {
		return "", err
	}
	return list[0].GetState(), nil
}

// CreateDeployment records a deployment of commit d.SHA to d.Environment:
// POST /repos/{owner}/{repo}/deployments with the SHA as the ref, no
// merge of the default branch (auto_merge false), no commit status
// required (required_contexts []), neither transient nor production. A
// failure whose outcome is unknown (a 5xx, a lost connection) is not
// retried: the deployment may exist.
func (c *Client) CreateDeployment(ctx context.Context, d NewDeployment) (Deployment, error) {
	cl := call{op: "create a deployment of " + quote(d.SHA) + " to " + quote(d.Environment), what: "a deployment", write: true}
	switch {
	case !IsSHA(d.SHA):
		return Deployment{}, &Error{Op: cl.op, Message: quote(d.SHA) + " is not a full commit SHA"}
	case d.Environment == "":
		return Deployment{}, &Error{Op: cl.op, Message: "no environment named"}
	}
	no, none := false, []string{}
	req := &gh.DeploymentRequest{
		Ref: &d.SHA, Environment: &d.Environment, Payload: d.Payload, AutoMerge: &no, RequiredContexts: &none,
		TransientEnvironment: &no, ProductionEnvironment: &no,
	}
	if d.Description != "" {
		req.Description = &d.Description
	}
	var made *gh.Deployment
	status := 0
	err := c.do(ctx, cl, func() (resp *gh.Response, err error) {
		made, resp, err = c.gh.Repositories.CreateDeployment(ctx, c.owner, c.repo, req)
		if resp != nil {
			status = resp.StatusCode
		}
		return resp, err
	})
	if err != nil {
		return Deployment{}, err
	}
	if made.GetID() == 0 {
		// A 202 "Auto-merged ... in ..." carries no deployment; auto_merge
		// false never asks for one.
		return Deployment{}, &Error{Op: cl.op, Status: status, Message: "unreadable answer: no deployment"}
	}
	return fromDeployment(made), nil
}

// SetDeploymentState adds a status to deployment id: POST
// /repos/{owner}/{repo}/deployments/{id}/statuses with state, the log
// URL (the run's page) and a description; no environment URL. GitHub marks
// the environment's earlier successful deployments inactive when state is
// success (auto_inactive).
func (c *Client) SetDeploymentState(ctx context.Context, id int64, state, logURL, description string) error {
	cl := call{op: fmt.Sprintf("set the state of deployment %d to %s", id, quote(state)), what: "a deployment status", write: true}
	if id <= 0 {
		return &Error{Op: cl.op, Message: fmt.Sprintf("%d is not a deployment id", id)}
	}
	req := &gh.DeploymentStatusRequest{State: &state}
	if logURL != "" {
		req.LogURL = &logURL
	}
	if description != "" {
		req.Description = &description
	}
	var st *gh.DeploymentStatus
	status := 0
	err := c.do(ctx, cl, func() (resp *gh.Response, err error) {
		st, resp, err = c.gh.Repositories.CreateDeploymentStatus(ctx, c.owner, c.repo, id, req)
		if resp != nil {
			status = resp.StatusCode
		}
		return resp, err
	})
	if err != nil {
		return err
	}
	if st.GetState() == "" {
		return &Error{Op: cl.op, Status: status, Message: "unreadable answer: no state"}
	}
	return nil
}
