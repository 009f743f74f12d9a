package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"
)

// inspectPrefix is where the inspection and steering endpoints live.
const inspectPrefix = "/__emulator/"

// State is the emulator's tenant-owned state (built-ins are left out).
type State struct {
	Templates []TemplateState `json:"templates"`
	Builds    []BuildState    `json:"builds"`
}

// TemplateState is one template as stored.
type TemplateState struct {
	ID             string         `json:"id"`
	Name           string         `json:"name"`
	Slug           string         `json:"slug"`
	Status         string         `json:"status"`
	ImageID        string         `json:"image_id"`
	CurrentBuildID string         `json:"current_build_id"`
	BuildSpec      map[string]any `json:"build_spec"`
	Metadata       map[string]any `json:"metadata"`
}

// BuildState is one build as stored (state in the modern vocabulary).
type BuildState struct {
	ID           string         `json:"id"`
	TemplateID   string         `json:"template_id"`
	TemplateName string         `json:"template_name"`
	SourceType   string         `json:"source_type"`
	State        string         `json:"state"`
	ErrorCode    string         `json:"error_code"`
	BuildSpec    map[string]any `json:"build_spec"`
	Metadata     map[string]any `json:"metadata"`
}

// State returns the current templates and builds, after advancing builds to
// the clock's time.
func (s *Server) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.advance(s.opts.Clock())
	out := State{Templates: []TemplateState{}, Builds: []BuildState{}}
	for _, t := range s.st.templates {
		if !t.BuiltIn {
			out.Templates = append(out.Templates, templateState(t))
		}
	}
	for _, b := range s.st.builds {
		out.Builds = append(out.Builds, buildState(b))
	}
	return out
}

func templateState(t *template) TemplateState {
	return TemplateState{
		ID: t.ID, Name: t.Name, Slug: t.Slug, Status: t.Status, ImageID: t.ImageID,
		CurrentBuildID: t.CurrentBuildID, BuildSpec: t.BuildSpec, Metadata: cloneMap(t.Metadata),
	}
}

func buildState(b *build) BuildState {
	return BuildState{
		ID: b.ID, TemplateID: b.TemplateID, TemplateName: b.TemplateName, SourceType: b.SourceType,
		State: b.State, ErrorCode: b.ErrorCode, BuildSpec: b.BuildSpec, Metadata: cloneMap(b.Metadata),
	}
}

// Reset restores the state, counters and options given to New.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reset()
}

// Configure changes the options of a running server. Changing the seed
// reseeds the fault source; changing the fault rules restarts their
// progress (Skip, Count, Statuses).
func (s *Server) Configure(f func(*Options)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.opts
	f(&s.opts)
	s.opts = s.opts.withDefaults()
	if s.opts.Seed != old.Seed {
		s.rng = newRand(s.opts.Seed)
	}
	if !reflect.DeepEqual(s.opts.Faults.Rules, old.Faults.Rules) {
		s.rules = newRuleStates(s.opts.Faults.Rules)
	}
	if s.opts.RateLimit != old.RateLimit || s.opts.RateBurst != old.RateBurst {
		s.bucket = bucket{}
	}
}

func (s *Server) serveInspect(w http.ResponseWriter, r *http.Request) {
	what := strings.TrimPrefix(r.URL.Path, inspectPrefix)
	escaped := strings.TrimPrefix(r.URL.EscapedPath(), inspectPrefix)
	switch {
	case what == "counters" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.Counters())
	case what == "counters/reset" && r.Method == http.MethodPost:
		writeJSON(w, http.StatusOK, s.ResetCounters())
	case what == "state" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.State())
	case what == "requests" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.Requests())
	case what == "reset" && r.Method == http.MethodPost:
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	case what == "config" && r.Method == http.MethodGet:
		s.mu.Lock()
		cfg := configOf(s.opts)
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, cfg)
	case what == "config" && r.Method == http.MethodPost:
		var cfg Config
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		err := dec.Decode(&cfg)
		if err == nil {
			err = cfg.check()
		}
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{"code": "BAD_CONFIG", "message": err.Error()}})
			return
		}
		s.Configure(cfg.apply)
		s.mu.Lock()
		out := configOf(s.opts)
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, out)
	case (escaped == "templates" || strings.HasPrefix(escaped, "templates/")) && s.serveSteer(w, r, strings.TrimPrefix(escaped, "templates")):
	case strings.HasPrefix(escaped, "logs/") && !strings.Contains(escaped[len("logs/"):], "/") && r.Method == http.MethodGet:
		s.serveBuildLog(w, r, escaped[len("logs/"):])
	case strings.HasPrefix(escaped, "builds/") && strings.HasSuffix(escaped, "/log") && r.Method == http.MethodGet:
		// The older address of the same log.
		s.serveBuildLog(w, r, strings.TrimSuffix(strings.TrimPrefix(escaped, "builds/"), "/log"))
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]any{"code": "NOT_FOUND", "message": "no such emulator endpoint"}})
	}
}

// Config is the JSON body of POST /__emulator/config (and the answer of
// GET). Every member is optional; a member that is present replaces the
// option. Durations are Go duration strings ("2s") or numbers of seconds.
type Config struct {
	AutoBuild         *bool                    `json:"auto_build,omitempty"`
	ClientMetadata    *bool                    `json:"client_metadata,omitempty"`
	NoValidate        *bool                    `json:"no_validate,omitempty"`
	NoSchema          *bool                    `json:"no_schema,omitempty"`
	LegacyCollision   *bool                    `json:"legacy_collision,omitempty"`
	LogURLs           *bool                    `json:"log_urls,omitempty"`
	RateLimitHeaders  *bool                    `json:"rate_limit_headers,omitempty"`
	CanonicalImages   *bool                    `json:"canonical_images,omitempty"`
	BuildDuration     *Duration                `json:"build_duration,omitempty"`
	Outcomes          map[string]OutcomeConfig `json:"outcomes,omitempty"`
	Variant           *Variant                 `json:"variant,omitempty"`
	Faults            *FaultsConfig            `json:"faults,omitempty"`
	RateLimit         *float64                 `json:"rate_limit,omitempty"`
	RateBurst         *int                     `json:"rate_burst,omitempty"`
	RateNoRetryAfter  *bool                    `json:"rate_limit_no_retry_after,omitempty"`
	IdempotencyWindow *Duration                `json:"idempotency_window,omitempty"`
	Seed              *int64                   `json:"seed,omitempty"`
}

// OutcomeConfig is the JSON form of an Outcome.
type OutcomeConfig struct {
	ErrorCode    string   `json:"error_code,omitempty"`
	ErrorMessage string   `json:"error_message,omitempty"`
	FailFirst    int      `json:"fail_first,omitempty"`
	FailStep     int      `json:"fail_step,omitempty"`
	Duration     Duration `json:"duration,omitempty"`
}

// FaultsConfig is the JSON form of Faults.
type FaultsConfig struct {
	Latency   Duration     `json:"latency,omitempty"`
	ErrorRate float64      `json:"error_rate,omitempty"`
	Rules     []RuleConfig `json:"rules,omitempty"`
}

// RuleConfig is the JSON form of a Rule.
type RuleConfig struct {
	Endpoint     string   `json:"endpoint,omitempty"`
	Template     string   `json:"template,omitempty"`
	Kind         string   `json:"kind"`
	Rate         float64  `json:"rate,omitempty"`
	Skip         int      `json:"skip,omitempty"`
	Count        int      `json:"count,omitempty"`
	Status       int      `json:"status,omitempty"`
	Statuses     []int    `json:"statuses,omitempty"`
	RetryAfter   Duration `json:"retry_after,omitempty"`
	RetryAfterIn string   `json:"retry_after_in,omitempty"`
	Latency      Duration `json:"latency,omitempty"`
	Size         int      `json:"size,omitempty"`
	State        string   `json:"state,omitempty"`
	Location     string   `json:"location,omitempty"`
	ID           string   `json:"id,omitempty"`
}

// Duration is a time.Duration that reads "2s" or a number of seconds from
// JSON and writes "2s".
type Duration time.Duration

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a Go duration string or a number of seconds.
func (d *Duration) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("duration %q: %w", s, err)
		}
		*d = Duration(v)
		return nil
	}
	var secs float64
	if err := json.Unmarshal(data, &secs); err != nil {
		return fmt.Errorf("duration must be a string like \"2s\" or a number of seconds")
	}
	*d = Duration(secs * float64(time.Second))
	return nil
}

// faultKinds lists the valid Rule kinds.
var faultKinds = []string{FaultStatus, FaultLatency, FaultDropBefore, FaultDropAfter, FaultEchoAuth, FaultHugeBody,
	FaultMalformedJSON, FaultUnknownState, FaultRedirect, FaultHostileIDs}

// variantChoices lists the valid values of each Variant member.
var variantChoices = []struct {
	name   string
	get    func(Variant) string
	values []string
}{
	{"list", func(v Variant) string { return v.List }, []string{listPage, listNext, listLink, listBare, listData, listDefault, listTemplates}},
	{"aliases", func(v Variant) string { return v.Aliases }, []string{"array", "rows"}},
	{"get", func(v Variant) string { return v.Get }, []string{"bare", "data"}},
	{"schema", func(v Variant) string { return v.Schema }, []string{"bare", "data"}},
	{"validate", func(v Variant) string { return v.Validate }, []string{"200", "422", "strings"}},
	{"list_builds", func(v Variant) string { return v.ListBuilds }, []string{listPage, listNext, listLink, listData, listBare}},
	{"states", func(v Variant) string { return v.States }, []string{"legacy", "legacy-complete"}},
	{"errors", func(v Variant) string { return v.Errors }, []string{"structured", "flat", "message", "detail", "strings"}},
}

// check rejects unknown fault kinds and variant values.
func (cfg Config) check() error {
	if cfg.Variant != nil {
		for _, c := range variantChoices {
			if v := c.get(*cfg.Variant); v != "" && !slices.Contains(c.values, v) {
				return fmt.Errorf("variant.%s %q: want one of %s", c.name, v, strings.Join(c.values, ", "))
			}
		}
	}
	if cfg.Faults == nil {
		return nil
	}
	for i, r := range cfg.Faults.Rules {
		if !slices.Contains(faultKinds, r.Kind) {
			return fmt.Errorf("faults.rules[%d].kind %q: want one of %s", i, r.Kind, strings.Join(faultKinds, ", "))
		}
	}
	return nil
}

// apply copies the present members onto o.
func (cfg Config) apply(o *Options) {
	if cfg.AutoBuild != nil {
		o.AutoBuild = *cfg.AutoBuild
	}
	if cfg.BuildDuration != nil {
		o.BuildDuration = time.Duration(*cfg.BuildDuration)
	}
	for _, sw := range []struct {
		from *bool
		to   *bool
	}{
		{cfg.ClientMetadata, &o.ClientMetadata}, {cfg.NoValidate, &o.NoValidate}, {cfg.NoSchema, &o.NoSchema},
		{cfg.LegacyCollision, &o.LegacyCollision}, {cfg.LogURLs, &o.LogURLs}, {cfg.RateLimitHeaders, &o.RateLimitHeaders},
		{cfg.CanonicalImages, &o.CanonicalImages}, {cfg.RateNoRetryAfter, &o.RateLimitNoRetryAfter},
	} {
		if sw.from != nil {
			*sw.to = *sw.from
		}
	}
	if cfg.Outcomes != nil {
		o.Outcomes = map[string]Outcome{}
		for name, oc := range cfg.Outcomes {
			o.Outcomes[name] = Outcome{ErrorCode: oc.ErrorCode, ErrorMessage: oc.ErrorMessage, FailFirst: oc.FailFirst,
				FailStep: oc.FailStep, Duration: time.Duration(oc.Duration)}
		}
	}
	if cfg.Variant != nil {
		o.Variant = *cfg.Variant
	}
	if f := cfg.Faults; f != nil {
		o.Faults = Faults{Latency: time.Duration(f.Latency), ErrorRate: f.ErrorRate}
		for _, r := range f.Rules {
			o.Faults.Rules = append(o.Faults.Rules, Rule{
				Endpoint: r.Endpoint, Template: r.Template, Kind: r.Kind, Rate: r.Rate, Skip: r.Skip,
				Count: r.Count, Status: r.Status, Statuses: r.Statuses, RetryAfter: time.Duration(r.RetryAfter),
				RetryAfterIn: r.RetryAfterIn, Latency: time.Duration(r.Latency), Size: r.Size, State: r.State,
				Location: r.Location, ID: r.ID,
			})
		}
	}
	if cfg.RateLimit != nil {
		o.RateLimit = *cfg.RateLimit
	}
	if cfg.RateBurst != nil {
		o.RateBurst = *cfg.RateBurst
	}
	if cfg.IdempotencyWindow != nil {
		o.IdempotencyWindow = time.Duration(*cfg.IdempotencyWindow)
	}
	if cfg.Seed != nil {
		o.Seed = *cfg.Seed
	}
}

// configOf renders options as a Config.
func configOf(o Options) Config {
	bd, iw := Duration(o.BuildDuration), Duration(o.IdempotencyWindow)
	cfg := Config{
		AutoBuild: &o.AutoBuild, ClientMetadata: &o.ClientMetadata, NoValidate: &o.NoValidate, NoSchema: &o.NoSchema,
		LegacyCollision: &o.LegacyCollision, LogURLs: &o.LogURLs, RateLimitHeaders: &o.RateLimitHeaders,
		CanonicalImages: &o.CanonicalImages, BuildDuration: &bd, Variant: &o.Variant, RateLimit: &o.RateLimit,
		RateBurst: &o.RateBurst, RateNoRetryAfter: &o.RateLimitNoRetryAfter, IdempotencyWindow: &iw, Seed: &o.Seed,
		Outcomes: map[string]OutcomeConfig{},
		Faults:   &FaultsConfig{Latency: Duration(o.Faults.Latency), ErrorRate: o.Faults.ErrorRate},
	}
	for name, oc := range o.Outcomes {
		cfg.Outcomes[name] = OutcomeConfig{ErrorCode: oc.ErrorCode, ErrorMessage: oc.ErrorMessage, FailFirst: oc.FailFirst,
			FailStep: oc.FailStep, Duration: Duration(oc.Duration)}
	}
	for _, r := range o.Faults.Rules {
		cfg.Faults.Rules = append(cfg.Faults.Rules, RuleConfig{
			Endpoint: r.Endpoint, Template: r.Template, Kind: r.Kind, Rate: r.Rate, Skip: r.Skip,
			Count: r.Count, Status: r.Status, Statuses: r.Statuses, RetryAfter: Duration(r.RetryAfter),
			RetryAfterIn: r.RetryAfterIn, Latency: Duration(r.Latency), Size: r.Size, State: r.State,
			Location: r.Location, ID: r.ID,
		})
	}
	return cfg
}
