package emulator

import (
	"math"
	"net/http"
	"time"
)

// faultPlan is what fault injection decided for one request.
type faultPlan struct {
	latency      time.Duration
	status       int
	retryAfter   time.Duration
	retryIn      string
	dropBefore   bool
	dropAfter    bool
	echoAuth     int
	redirect     string
	huge         int
	malformed    bool
	unknownState string
	hostile      bool
	hostileID    string
}

// answers reports whether the plan already replaces the response before
// the handler runs.
func (p *faultPlan) answers() bool {
	return p.status != 0 || p.dropBefore || p.echoAuth != 0 || p.redirect != ""
}

// ruleState is a Rule with its progress.
type ruleState struct {
	Rule
	matched int
	fired   int
}

func newRuleStates(rules []Rule) []*ruleState {
	out := make([]*ruleState, len(rules))
	for i, r := range rules {
		out[i] = &ruleState{Rule: r}
	}
	return out
}

// limit is how many times the rule may fire (0 = unlimited).
func (r *ruleState) limit() int {
	if r.Count == 0 && r.Kind == FaultStatus && len(r.Statuses) > 0 {
		return len(r.Statuses)
	}
	return r.Count
}

// planFaults decides the faults of one request. The caller holds s.mu.
// Random draws happen only for the global error rate and for rules with a
// Rate, in rule order, so sequential requests see the same faults for the
// same seed.
func (s *Server) planFaults(c *call) faultPlan {
	f := s.opts.Faults
	p := faultPlan{latency: f.Latency}
	if f.ErrorRate > 0 && s.rng.Float64() < f.ErrorRate {
		p.status = http.StatusServiceUnavailable
		s.countFault("error_rate")
	}
	name, named := "", false
	for _, r := range s.rules {
		if r.Endpoint != "" && r.Endpoint != "*" && r.Endpoint != c.rt.endpoint {
			continue
		}
		if r.Template != "" && !named {
			name, named = s.templateNameOf(c), true
		}
		if r.Template != "" && r.Template != name {
			continue
		}
		r.matched++
		if r.matched <= r.Skip {
			continue
		}
		if lim := r.limit(); lim > 0 && r.fired >= lim {
			continue
		}
		if r.Rate > 0 && s.rng.Float64() >= r.Rate {
			continue
		}
		if p.answers() && answering(r.Kind) {
			continue
		}
		r.fired++
		if s.applyRule(&p, r, c) {
			s.countFault(r.Kind)
		}
	}
	return p
}

// answering reports whether a kind replaces the response before handling.
func answering(kind string) bool {
	switch kind {
	case FaultStatus, FaultDropBefore, FaultEchoAuth, FaultRedirect:
		return true
	}
	return false
}

// applyRule adds a fired rule to the plan; it reports whether a fault was
// injected (a scripted 0 status lets the request through).
func (s *Server) applyRule(p *faultPlan, r *ruleState, c *call) bool {
	switch r.Kind {
	case FaultStatus:
		status := r.Status
		if len(r.Statuses) > 0 {
			status = r.Statuses[(r.fired-1)%len(r.Statuses)]
			if status == 0 {
				return false
			}
		}
		if status == 0 {
			status = http.StatusServiceUnavailable
		}
		p.status = status
		p.retryAfter = r.RetryAfter
		p.retryIn = r.RetryAfterIn
	case FaultLatency:
		p.latency += r.Latency
	case FaultDropBefore:
		p.dropBefore = true
	case FaultDropAfter:
		p.dropAfter = true
	case FaultEchoAuth:
		p.echoAuth = r.Status
		if p.echoAuth == 0 {
			p.echoAuth = http.StatusBadRequest
		}
	case FaultHugeBody:
		p.huge = r.Size
		if p.huge <= 0 {
			p.huge = 4 << 20
		}
	case FaultMalformedJSON:
		p.malformed = true
	case FaultUnknownState:
		p.unknownState = r.State
		if p.unknownState == "" {
			p.unknownState = "teleporting"
		}
	case FaultRedirect:
		p.redirect = r.Location
		if p.redirect == "" {
			p.redirect = "http://127.0.0.1:1" + c.r.URL.RequestURI()
		}
	case FaultHostileIDs:
		p.hostile = true
		p.hostileID = r.ID
	default:
		return false
	}
	return true
}

func (s *Server) countFault(kind string) {
	s.counters.FaultsInjected++
	s.counters.FaultsByKind[kind]++
}

// templateNameOf names the template a request is about, for Rule.Template:
// the create body's name, or the template addressed by the path.
func (s *Server) templateNameOf(c *call) string {
	switch c.rt.endpoint {
	case "create":
		if v, err := decodeJSON(c.body); err == nil {
			if m, ok := v.(map[string]any); ok {
				name, _ := m["name"].(string)
				return name
			}
		}
	case "get", "delete", "list_builds", "create_build":
		if t := s.st.findTemplate(c.rt.id); t != nil {
			return t.Name
		}
	case "get_build":
		if b := s.st.findBuild(c.rt.id); b != nil {
			return b.TemplateName
		}
	}
	return ""
}

// bucket is a token bucket measured with the server's clock.
type bucket struct {
	tokens float64
	last   time.Time
	primed bool
}

// quota is the state of the rate limit after a request, for the
// X-RateLimit-* headers.
type quota struct {
	on        bool // a limit is configured
	limit     int  // bucket size
	remaining int  // whole tokens left
	reset     int  // whole seconds until the bucket is full
}

// rateLimited takes a token; when none is left it reports the wait until
// the next one. The caller holds s.mu.
func (s *Server) rateLimited() (bool, time.Duration, quota) {
	rate := s.opts.RateLimit
	if rate <= 0 {
		return false, 0, quota{}
	}
	burst := float64(s.opts.RateBurst)
	if burst <= 0 {
		burst = math.Max(1, math.Ceil(rate))
	}
	now := s.opts.Clock()
	b := &s.bucket
	if !b.primed {
		b.tokens, b.last, b.primed = burst, now, true
	}
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = math.Min(burst, b.tokens+elapsed.Seconds()*rate)
		b.last = now
	}
	limited, wait := false, time.Duration(0)
	if b.tokens >= 1 {
		b.tokens--
	} else {
		limited, wait = true, time.Duration((1-b.tokens)/rate*float64(time.Second))
	}
	q := quota{on: true, limit: int(burst), remaining: int(math.Floor(b.tokens)),
		reset: int(math.Ceil((burst-b.tokens)/rate - 1e-9))}
	return limited, wait, q
}
