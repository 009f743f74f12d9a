package emulator

import (
	"maps"
	"slices"
	"sort"
)

// Counters is what the emulator received and did, for server-side
// assertions such as "no duplicate build".
type Counters struct {
	// Requests counts API requests per endpoint: list, get, create, schema,
	// validate, list_builds, create_build, get_build, delete, unknown,
	// method_not_allowed. Every received request counts, faulted or not.
	// "log" counts fetches of build logs (/__emulator/logs/{id}, where a
	// log_url points), which need no key and are never faulted or limited.
	Requests map[string]int `json:"requests"`
	// RequestsByKey counts authorized API requests per API key fingerprint
	// ("sha256:" and 12 hex digits of the key's SHA-256; never the key).
	RequestsByKey map[string]int `json:"requests_by_key"`
	// Writes counts mutating requests that were executed (not replays).
	Writes int `json:"writes"`
	// TemplatesCreated counts new templates.
	TemplatesCreated int `json:"templates_created"`
	// TemplatesUpserted counts creates that replaced a draft/failed template in place.
	TemplatesUpserted int `json:"templates_upserted"`
	// TemplatesDeleted counts templates deleted through the API (not a
	// refused delete, nor steering's).
	TemplatesDeleted int `json:"templates_deleted"`
	// BuildsCreated counts builds, whether queued by create or by create_build.
	BuildsCreated int `json:"builds_created"`
	// AutoBuilds counts the builds queued by create itself.
	AutoBuilds int `json:"auto_builds"`
	// BuildsByTemplate counts builds per template name.
	BuildsByTemplate map[string]int `json:"builds_by_template"`
	// Replays counts responses replayed for a repeated Idempotency-Key.
	Replays int `json:"replays"`
	// Mismatches counts 409 IDEMPOTENCY_PAYLOAD_MISMATCH answers.
	Mismatches int `json:"mismatches"`
	// FaultsInjected counts injected faults (rules that fired, error-rate hits).
	FaultsInjected int `json:"faults_injected"`
	// FaultsByKind counts injected faults per kind ("status", "drop_after", "error_rate", ...).
	FaultsByKind map[string]int `json:"faults_by_kind"`
	// Unauthorized counts 401 answers.
	Unauthorized int `json:"unauthorized"`
	// RateLimited counts 429 answers (token bucket and scripted).
	RateLimited int `json:"rate_limited"`
	// Dropped counts connections closed without a response.
	Dropped int `json:"dropped"`
}

func newCounters() Counters {
	return Counters{
		Requests:         map[string]int{},
		RequestsByKey:    map[string]int{},
		BuildsByTemplate: map[string]int{},
		FaultsByKind:     map[string]int{},
	}
}

func (c Counters) clone() Counters {
	c.Requests = maps.Clone(c.Requests)
	c.RequestsByKey = maps.Clone(c.RequestsByKey)
	c.BuildsByTemplate = maps.Clone(c.BuildsByTemplate)
	c.FaultsByKind = maps.Clone(c.FaultsByKind)
	return c
}

// DuplicateBuilds returns the names of templates with more than one build,
// sorted.
func (c Counters) DuplicateBuilds() []string {
	var out []string
	for name, n := range c.BuildsByTemplate {
		if n > 1 {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// Counters returns a copy of the counters.
func (s *Server) Counters() Counters {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counters.clone()
}

// ResetCounters zeroes the counters and returns what they were, in one
// step: a test can measure the requests of each phase separately. State,
// the request log, idempotency memory and fault-rule progress are kept
// (Reset restores everything). POST /__emulator/counters/reset does the same
// and answers the counters before the reset.
func (s *Server) ResetCounters() Counters {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.counters
	s.counters = newCounters()
	return old
}

// BuildsOf returns how many builds were created for the template name.
func (s *Server) BuildsOf(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counters.BuildsByTemplate[name]
}

// RequestRecord is one API request as the emulator received it: no headers
// except the Idempotency-Key, but the full body (up to 64 KiB).
type RequestRecord struct {
	Seq            int    `json:"seq"`
	RequestID      string `json:"request_id"`
	Method         string `json:"method"`
	Path           string `json:"path"`
	Endpoint       string `json:"endpoint"`
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	Body           string `json:"body"`
	Status         int    `json:"status"`
	Dropped        bool   `json:"dropped,omitempty"`
}

// maxLoggedBody bounds each logged request body.
const maxLoggedBody = 64 << 10

// logRequest appends a record to the bounded log. The caller holds s.mu.
func (s *Server) logRequest(c *call) *RequestRecord {
	s.logSeq++
	body := c.body
	if len(body) > maxLoggedBody {
		body = body[:maxLoggedBody]
	}
	rec := &RequestRecord{
		Seq:            s.logSeq,
		RequestID:      c.reqID,
		Method:         c.r.Method,
		Path:           c.r.URL.RequestURI(),
		Endpoint:       c.rt.endpoint,
		IdempotencyKey: c.r.Header.Get("Idempotency-Key"),
		Body:           string(body),
	}
	s.log = append(s.log, rec)
	if over := len(s.log) - s.opts.RequestLogSize; over > 0 {
		s.log = slices.Delete(s.log, 0, over)
	}
	return rec
}

// Requests returns a copy of the request log, oldest first.
func (s *Server) Requests() []RequestRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]RequestRecord, len(s.log))
	for i, r := range s.log {
		out[i] = *r
	}
	return out
}
