package emulator

import (
	"time"
)

// Options configures a Server. The zero value is usable but differs from the
// real server in one way: AutoBuild is false. NewOptions returns the faithful
// defaults (AutoBuild true). Every other bool defaults to false, and false is
// the behaviour the API page describes for the real server (pessimistic where
// it says UNKNOWN): the switches turn on older or kinder behaviours, or
// emulator-only conveniences, for tests that need them.
type Options struct {
	// AutoBuild makes a create (or an upsert of a draft/failed template) queue
	// a build by itself, as the real server does.
	AutoBuild bool
	// AutoBuildLag hides the build a create queues from list_builds until
	// this long after the create (measured with Clock), as a server that
	// queues it asynchronously would. The build exists and is counted at
	// once. Zero shows it at once, as the API page describes.
	AutoBuildLag time.Duration
	// BuildDuration is how long a build takes from queued to ready/failed,
	// measured with Clock. Zero means a build is terminal on the next request.
	BuildDuration time.Duration
	// Sizes replaces the resources the server fills in for the sizes it
	// names ({vcpu, memoryMib, diskMib}); other sizes keep the emulator's
	// table, whose small matches the API page. A test sets another small to
	// play a server whose defaults moved on from what a client knows (small
	// is also what a spec without a size or resources gets).
	Sizes map[string][3]int
	// CanonicalImages makes the server rewrite a spec's "from" to its fully
	// qualified form, as Docker normalizes a reference: "node:22" becomes
	// "docker.io/library/node:22", "user/img:1" "docker.io/user/img:1", a
	// reference without a tag or digest gets ":latest", and one that names
	// a registry ("ghcr.io/x/y:1") keeps it. It applies to validate's answer
	// and to the specs stored on templates and builds. Off (the default), from
	// is kept as sent: the API page does not say the server rewrites it.
	CanonicalImages bool
	// Outcomes sets per-template-name build outcomes and durations.
	Outcomes map[string]Outcome
	// IdempotencyWindow is how long an Idempotency-Key is remembered; zero means 24h.
	IdempotencyWindow time.Duration
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// Seed seeds the random source of fault injection.
	Seed int64
	// Faults configures fault injection.
	Faults Faults
	// Variant selects the response envelope forms.
	Variant Variant
	// RateLimit is a token-bucket limit in requests per second over all API
	// requests (authorized ones; a 401 takes no token); zero disables it.
	// Beyond it the answer is 429 RATE_LIMITED with Retry-After (header and
	// body) naming the whole seconds until the next token. The flag form
	// --rate-limit N/m sets N/60 per second and, unless RateBurst is given, a
	// burst of N, like a key with rate_limit_rpm N.
	RateLimit float64
	// RateBurst is the bucket size; zero means max(1, ceil(RateLimit)).
	RateBurst int
	// RateLimitNoRetryAfter makes the rate limit's 429 carry no Retry-After,
	// in the header or the body: a server that only says "too many".
	RateLimitNoRetryAfter bool
	// RequestLogSize bounds the request log; zero means 1000 entries.
	RequestLogSize int
	// RateLimitHeaders makes every authorized API response carry
	// X-RateLimit-Limit (the bucket size), X-RateLimit-Remaining (whole
	// tokens left after this request) and X-RateLimit-Reset (whole seconds
	// until the bucket is full again, 0 when it is full) while RateLimit is
	// set. Off, the limit is not announced: the real server's headers are
	// unknown. A 429 of the rate limit carries Retry-After either way.
	RateLimitHeaders bool
	// ClientMetadata renders the metadata a client sent: templates (get,
	// create, list rows) get a "metadata" member, and a build's "metadata"
	// holds the client's keys next to the server's "events". Off (the
	// default, like the real server) templates have no "metadata" member and
	// a build's metadata is only {"events": [...]}. The metadata is stored
	// either way (State shows it, and EMULATOR_FAIL markers in it work).
	ClientMetadata bool
	// NoValidate removes POST /sandbox-templates/validate, as on a
	// deployment that lacks it: it answers 404 {"error":{"code":"NOT_FOUND"}}
	// (after the key check, like every unknown path). Create and
	// create_build still validate the spec (422 INVALID_BUILDSPEC).
	NoValidate bool
	// NoSchema removes GET /sandbox-templates/build-spec likewise (404 NOT_FOUND).
	NoSchema bool
	// LegacyCollision answers a create that meets a ready (or building or
	// archived) template of the same name the way servers did before a fix:
	// 422 VALIDATION_FAILED with errors {"tenant_id": ["has already been
	// taken"]} instead of {"slug": ["a template with this name already exists"]}.
	LegacyCollision bool
	// LogURLs gives each new build a log_url,
	// <scheme>://<Host of the request>/__emulator/logs/<build id>, where the
	// emulator serves the build's plain-text log (see Server docs). Off, log_url
	// is null, which the API page allows.
	LogURLs bool
	// OnHandled, when set, is called for every API request that reached its
	// handler (faults that answer first skip it), after the handler ran, so
	// any mutation is committed and remembered for its Idempotency-Key, and
	// before the response is written. It runs outside the server's lock and
	// the response waits for it: a test can stop the client there to lose
	// the response, as a crash at that instant would.
	OnHandled func(RequestRecord)
}

// NewOptions returns the defaults that behave like the real server: AutoBuild
// on, 2s builds, a 24h idempotency window and seed 1.
func NewOptions() Options {
	return Options{
		AutoBuild:         true,
		BuildDuration:     2 * time.Second,
		IdempotencyWindow: 24 * time.Hour,
		Seed:              1,
	}
}

// Outcome is the scripted result of the builds of one template.
type Outcome struct {
	// ErrorCode, when set, fails the builds of the template with this code
	// (all of them, or the first FailFirst). The generated error_message
	// depends on the code:
	//   - BUILD_STEP_FAILED names a step of the build's spec, 1-based, in
	//     Miosa's form: "step 3 `npm ci` exited 1: ENOENT package-lock.json"
	//     (the step is FailStep, by default the last one; a spec without
	//     steps fails with "image build exited 1: emulated failure").
	//   - BUILDS_TEMPORARILY_UNAVAILABLE fails the build at once, at creation
	//     (no building states), with Miosa's message "Template builds are
	//     being upgraded. Your template was saved as a draft and will build
	//     once this ships."; the template's status does not change (a new
	//     template stays draft) but its current_build_id names the failed
	//     build. Later builds of the template run normally unless they fail too.
	//   - any other code: "build failed with CODE (emulated failure)".
	ErrorCode string
	// ErrorMessage overrides the generated error message.
	ErrorMessage string
	// FailFirst, when positive, fails only the first FailFirst builds of the
	// template (counted per template name since New or Reset, not reset by
	// ResetCounters), as with a transient cause such as REGISTRY_TIMEOUT;
	// later builds succeed. Zero fails every build.
	FailFirst int
	// FailStep picks the failing step of BUILD_STEP_FAILED, 1-based; zero,
	// or a number past the last step, means the last step.
	FailStep int
	// Duration overrides Options.BuildDuration for this template (0 = default).
	Duration time.Duration
}

// Variant selects which of the documented response forms the emulator
// produces, so a client's contract tests can exercise each. The zero value is
// the form the API page documents first.
type Variant struct {
	// List is the form of GET /sandbox-templates. Paged, one page per
	// request (page, page_size: default 20, at most 100): "page" (default,
	// the API reference's {"data":[...],"page":{"page","page_size","total"}}),
	// "next" ({"data":[...],"next":URL of the next page, or null}) or "link"
	// (a JSON array, and a Link header with rel="next" while there is a next
	// page). The whole list at once, page and page_size ignored: "bare" (a
	// JSON array), "data" ({"data":[...]}), "default"
	// ({"default_template_id":..,"data":[...]}) or "templates" ({"templates":[...]}).
	List string `json:"list,omitempty"`
	// Aliases is how include_aliases=true shows aliases: "array" (default,
	// an "aliases" array on the row) or "rows" (one extra row per alias).
	Aliases string `json:"aliases,omitempty"`
	// Get is the envelope of GET /sandbox-templates/{id}: "bare" (default) or "data".
	Get string `json:"get,omitempty"`
	// Schema is the envelope of GET /sandbox-templates/build-spec: "bare" (default) or "data".
	Schema string `json:"schema,omitempty"`
	// Validate is the form of an invalid validate result: "200" (default,
	// 200 {"valid":false,"errors":[{code,field,message}]}), "422"
	// (422 INVALID_BUILDSPEC with the same errors) or "strings"
	// (200 {"valid":false,"errors":["field: message"]}).
	Validate string `json:"validate,omitempty"`
	// ValidateData wraps a 200 validate result in {"data":...}.
	ValidateData bool `json:"validate_data,omitempty"`
	// ListBuilds is the form of GET .../builds, newest first: paged as List
	// is, "page" (default), "next" or "link"; or every build at once,
	// "data" ({"data":[...]}) or "bare" (a JSON array).
	ListBuilds string `json:"list_builds,omitempty"`
	// States renders build states: "" (modern), "legacy" (pending, running,
	// success, error) or "legacy-complete" (pending, running, complete, error).
	States string `json:"states,omitempty"`
	// Errors is the error body form: "structured" (default,
	// {"error":{"code",...}}), "flat" ({"error":"msg"}), "message"
	// ({"message":"msg"}), "detail" ({"detail":"msg"}) or "strings"
	// ({"errors":["msg"]}).
	Errors string `json:"errors,omitempty"`
}

// Faults configures fault injection on /api/v1 requests. Inspection endpoints
// are never faulted.
type Faults struct {
	// Latency is added to every API request.
	Latency time.Duration
	// ErrorRate is the probability that an API request fails with 503 before
	// it is handled.
	ErrorRate float64
	// Rules are checked in order for every API request; every matching rule
	// that fires applies.
	Rules []Rule
}

// Fault kinds of a Rule.
const (
	// FaultStatus answers with Status (or the next of Statuses) before handling.
	FaultStatus = "status"
	// FaultLatency sleeps Latency before handling.
	FaultLatency = "latency"
	// FaultDropBefore closes the connection before handling (nothing committed).
	FaultDropBefore = "drop_before"
	// FaultDropAfter handles the request (the mutation is committed and
	// remembered for idempotency) and then closes the connection without a response.
	FaultDropAfter = "drop_after"
	// FaultEchoAuth answers with an error whose body echoes the Authorization header.
	FaultEchoAuth = "echo_auth"
	// FaultHugeBody handles the request, then answers with a body of Size bytes (default 4 MiB).
	FaultHugeBody = "huge_body"
	// FaultMalformedJSON handles the request, then answers with truncated JSON.
	FaultMalformedJSON = "malformed_json"
	// FaultUnknownState renders builds in the response with State (default "teleporting").
	FaultUnknownState = "unknown_state"
	// FaultRedirect answers 307 to Location (default http://127.0.0.1:1 + path).
	FaultRedirect = "redirect"
	// FaultHostileIDs gives templates and builds created by the request ids
	// holding a newline and "::" (or ID when set).
	FaultHostileIDs = "hostile_ids"
)

// Rule is one fault-injection rule.
type Rule struct {
	// Endpoint is the endpoint name ("list", "get", "create", "schema",
	// "validate", "list_builds", "create_build", "get_build", "delete") or
	// "*" / "" for every endpoint.
	Endpoint string
	// Template restricts the rule to requests about this template name
	// (create body name, or the template addressed by the path).
	Template string
	// Kind is one of the Fault* constants.
	Kind string
	// Rate is the probability that the rule fires on a matching request; zero
	// means always.
	Rate float64
	// Skip lets this many matching requests pass before the rule can fire.
	Skip int
	// Count limits how many times the rule fires; zero means unlimited (or
	// len(Statuses) when Statuses is set).
	Count int
	// Status is the status of FaultStatus (default 503) and FaultEchoAuth (default 400).
	Status int
	// Statuses is a scripted sequence for FaultStatus: the n-th firing answers
	// Statuses[n]; 0 lets that request through.
	Statuses []int
	// RetryAfter is sent with 429 answers (default 1s), in whole seconds.
	RetryAfter time.Duration
	// RetryAfterIn is where it is sent: "header", "body" or "both" (default).
	RetryAfterIn string
	// Latency is the delay of FaultLatency.
	Latency time.Duration
	// Size is the body size of FaultHugeBody.
	Size int
	// State is the build state of FaultUnknownState.
	State string
	// Location is the target of FaultRedirect.
	Location string
	// ID is the id given by FaultHostileIDs (a unique suffix is added).
	ID string
}

func (o Options) withDefaults() Options {
	if o.IdempotencyWindow <= 0 {
		o.IdempotencyWindow = 24 * time.Hour
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.RequestLogSize <= 0 {
		o.RequestLogSize = 1000
	}
	return o
}
