package githubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Endpoints of deployments.
const (
	OpDeployments      Op = "deployments"       // GET .../deployments
	OpCreateDeployment Op = "create-deployment" // POST .../deployments
	OpStatuses         Op = "statuses"          // GET .../deployments/{id}/statuses
	OpCreateStatus     Op = "create-status"     // POST .../deployments/{id}/statuses
)

// Deployment is a deployment as the fake keeps it: what the request that
// made it asked for, and its statuses, oldest first.
type Deployment struct {
	ID                    int64
	SHA                   string // the commit its ref resolved to
	Ref                   string
	Environment           string
	Description           string
	Task                  string
	Payload               json.RawMessage // as sent; nil for none
	AutoMerge             *bool           // nil when the request did not say (GitHub's default: true)
	RequiredContexts      []string        // nil when the request did not say (GitHub's default: every context)
	TransientEnvironment  bool
	ProductionEnvironment bool
	Statuses              []DeploymentStatus
}

// DeploymentStatus is one status of a deployment.
type DeploymentStatus struct {
	ID             int64
	State          string
	LogURL         string
	EnvironmentURL string
	Description    string
}

// State is the state of d's latest status, "" for none.
func (d Deployment) State() string {
	if len(d.Statuses) == 0 {
		return ""
	}
	return d.Statuses[len(d.Statuses)-1].State
}

// deploymentStates are the states GitHub accepts for a status.
var deploymentStates = []string{"error", "failure", "inactive", "in_progress", "queued", "pending", "success"}

// routeDeployments adds the deployment endpoints to mux.
func (s *Server) routeDeployments(mux *http.ServeMux) {
	repo := s.prefix + "/repos/{owner}/{repo}/deployments"
	mux.HandleFunc("GET "+repo, s.gitHandler(OpDeployments, s.listDeployments))
	mux.HandleFunc("POST "+repo, s.gitHandler(OpCreateDeployment, s.createDeployment))
	mux.HandleFunc("GET "+repo+"/{id}/statuses", s.gitHandler(OpStatuses, s.listStatuses))
	mux.HandleFunc("POST "+repo+"/{id}/statuses", s.gitHandler(OpCreateStatus, s.createStatus))
}

// AddDeployment records a deployment of commit sha to environment with the
// given payload (nil for none) and, unless state is "", one status of that
// state, as another run (or another tool) made it; it returns its id. It
// panics for an unknown commit.
func (s *Server) AddDeployment(sha, environment, state string, payload json.RawMessage) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.git.mustCommit(sha)
	s.nextID++
	d := Deployment{ID: s.nextID, SHA: sha, Ref: sha, Environment: environment, Task: "deploy", Payload: payload}
	if state != "" {
		s.nextID++
		d.Statuses = append(d.Statuses, DeploymentStatus{ID: s.nextID, State: state})
	}
	s.deployments = append(s.deployments, d)
	return d.ID
}

// Deployments returns every deployment, oldest first.
func (s *Server) Deployments() []Deployment {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.deployments)
	for i := range out {
		out[i].Statuses = slices.Clone(out[i].Statuses)
	}
	return out
}

// Count returns the requests received by op, as Counts counts them.
func (s *Server) Count(op Op) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[op]
}

// deploymentJSON is d as GitHub's REST API shows it.
func (s *Server) deploymentJSON(r *http.Request, d Deployment) map[string]any {
	repo := repoOf(r)
	var payload any = map[string]any{}
	if d.Payload != nil {
		payload = d.Payload
	}
	when := time.Unix(1700000000+d.ID, 0).UTC().Format(time.RFC3339)
	return map[string]any{
		"id": d.ID, "node_id": fmt.Sprintf("DE_%d", d.ID), "sha": d.SHA, "ref": d.Ref, "task": d.Task,
		"payload": payload, "original_environment": d.Environment, "environment": d.Environment,
		"description": d.Description, "creator": s.user, "created_at": when, "updated_at": when,
		"transient_environment": d.TransientEnvironment, "production_environment": d.ProductionEnvironment,
		"url":            s.api(r, "/repos/%s/deployments/%d", repo, d.ID),
		"statuses_url":   s.api(r, "/repos/%s/deployments/%d/statuses", repo, d.ID),
		"repository_url": s.api(r, "/repos/%s", repo),
	}
}

// listDeployments answers GET .../deployments, newest first, filtered by
// sha, ref, task and environment, paginated by per_page (default 30, at
// most 100) and page.
func (s *Server) listDeployments(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var match []Deployment
	for i := len(s.deployments) - 1; i >= 0; i-- {
		d := s.deployments[i]
		if (q.Get("sha") == "" || strings.EqualFold(q.Get("sha"), d.SHA)) && (q.Get("ref") == "" || q.Get("ref") == d.Ref) &&
			(q.Get("task") == "" || q.Get("task") == d.Task) && (q.Get("environment") == "" || q.Get("environment") == d.Environment) {
			match = append(match, d)
		}
	}
	_, _, lo, hi := pageOf(r, len(match))
	list := []map[string]any{}
	for _, d := range match[lo:hi] {
		list = append(list, s.deploymentJSON(r, d))
	}
	writeJSON(w, http.StatusOK, list)
}

// createDeployment answers POST .../deployments: 201 with the
// deployment; 422 "No ref found for: REF" for a ref the model cannot
// resolve; 403 for a read-only token.
func (s *Server) createDeployment(w http.ResponseWriter, r *http.Request) {
	if s.readOnly {
		notAccessible(w, "deployments/deployments#create-a-deployment")
		return
	}
	var in struct {
		Ref                   string          `json:"ref"`
		Task                  string          `json:"task"`
		AutoMerge             *bool           `json:"auto_merge"`
		RequiredContexts      *[]string       `json:"required_contexts"`
		Payload               json.RawMessage `json:"payload"`
		Environment           string          `json:"environment"`
		Description           string          `json:"description"`
		TransientEnvironment  bool            `json:"transient_environment"`
		ProductionEnvironment *bool           `json:"production_environment"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	if in.Ref == "" {
		answer(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"ref\" wasn't supplied.", nil)
		return
	}
	c, ok := s.git.resolve(in.Ref)
	if !ok {
		answer(w, http.StatusUnprocessableEntity, "No ref found for: "+in.Ref, nil)
		return
	}
	d := Deployment{SHA: c.sha, Ref: in.Ref, Environment: in.Environment, Description: in.Description,
		Task: in.Task, AutoMerge: in.AutoMerge, TransientEnvironment: in.TransientEnvironment}
	if d.Environment == "" {
		d.Environment = "production"
	}
	if d.Task == "" {
		d.Task = "deploy"
	}
	if in.RequiredContexts != nil {
		d.RequiredContexts = append([]string{}, *in.RequiredContexts...)
	}
	d.ProductionEnvironment = d.Environment == "production"
	if in.ProductionEnvironment != nil {
		d.ProductionEnvironment = *in.ProductionEnvironment
	}
	if len(in.Payload) > 0 && string(in.Payload) != "null" {
		d.Payload = in.Payload
	}
	s.nextID++
	d.ID = s.nextID
	s.deployments = append(s.deployments, d)
	writeJSON(w, http.StatusCreated, s.deploymentJSON(r, d))
}

// deployment finds the deployment a request names; s.mu is held.
func (s *Server) deployment(r *http.Request) (int, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	i := slices.IndexFunc(s.deployments, func(d Deployment) bool { return d.ID == id })
	return i, err == nil && i >= 0
}

// statusJSON is st as GitHub's REST API shows it.
func (s *Server) statusJSON(r *http.Request, d Deployment, st DeploymentStatus) map[string]any {
	repo := repoOf(r)
	return map[string]any{
		"id": st.ID, "node_id": fmt.Sprintf("DES_%d", st.ID), "state": st.State, "description": st.Description,
		"environment": d.Environment, "log_url": st.LogURL, "target_url": st.LogURL, "environment_url": st.EnvironmentURL,
		"creator":        s.user,
		"url":            s.api(r, "/repos/%s/deployments/%d/statuses/%d", repo, d.ID, st.ID),
		"deployment_url": s.api(r, "/repos/%s/deployments/%d", repo, d.ID),
		"repository_url": s.api(r, "/repos/%s", repo),
	}
}

// listStatuses answers GET .../deployments/{id}/statuses, newest first,
// paginated like the deployments.
func (s *Server) listStatuses(w http.ResponseWriter, r *http.Request) {
	i, ok := s.deployment(r)
	if !ok {
		answer(w, http.StatusNotFound, "Not Found", nil)
		return
	}
	d := s.deployments[i]
	_, _, lo, hi := pageOf(r, len(d.Statuses))
	list := []map[string]any{}
	for k := lo; k < hi; k++ { // the k-th newest
		list = append(list, s.statusJSON(r, d, d.Statuses[len(d.Statuses)-1-k]))
	}
	writeJSON(w, http.StatusOK, list)
}

// createStatus answers POST .../deployments/{id}/statuses: 201 with the
// status. A success marks the environment's other deployments whose latest
// status is success inactive, unless auto_inactive is false, as GitHub
// does for an environment that is neither transient nor production.
func (s *Server) createStatus(w http.ResponseWriter, r *http.Request) {
	if s.readOnly {
		notAccessible(w, "deployments/statuses#create-a-deployment-status")
		return
	}
	i, ok := s.deployment(r)
	if !ok {
		answer(w, http.StatusNotFound, "Not Found", nil)
		return
	}
	var in struct {
		State          string `json:"state"`
		LogURL         string `json:"log_url"`
		TargetURL      string `json:"target_url"`
		EnvironmentURL string `json:"environment_url"`
		Description    string `json:"description"`
		AutoInactive   *bool  `json:"auto_inactive"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	if !slices.Contains(deploymentStates, in.State) {
		answer(w, http.StatusUnprocessableEntity, "Validation Failed", []string{"state is not included in the list"})
		return
	}
	if len(in.Description) > 140 {
		answer(w, http.StatusUnprocessableEntity, "Validation Failed", []string{"description is too long (maximum is 140 characters)"})
		return
	}
	s.nextID++
	st := DeploymentStatus{ID: s.nextID, State: in.State, LogURL: in.LogURL, EnvironmentURL: in.EnvironmentURL, Description: in.Description}
	if st.LogURL == "" {
		st.LogURL = in.TargetURL
	}
	d := &s.deployments[i]
	if in.State == "success" && (in.AutoInactive == nil || *in.AutoInactive) && !d.TransientEnvironment && !d.ProductionEnvironment {
		for j := range s.deployments {
			if o := &s.deployments[j]; j != i && o.Environment == d.Environment && o.State() == "success" {
				s.nextID++
				o.Statuses = append(o.Statuses, DeploymentStatus{ID: s.nextID, State: "inactive"})
			}
		}
	}
	d.Statuses = append(d.Statuses, st)
	writeJSON(w, http.StatusCreated, s.statusJSON(r, *d, st))
}
