package emulator

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultAddr is the emulator subcommand's default listen address.
const DefaultAddr = "127.0.0.1:8787"

// Flags holds the values of the emulator subcommand's flags.
type Flags struct {
	Addr              string        // --addr
	Latency           time.Duration // --latency
	BuildDuration     time.Duration // --build-duration
	AutoBuild         bool          // --auto-build
	Seed              int64         // --seed
	FailRate          float64       // --fail-rate
	RateLimit         float64       // --rate-limit, in requests per second
	RateBurst         int           // --rate-burst
	RateLimitHeaders  bool          // --rate-limit-headers
	IdempotencyWindow time.Duration // --idempotency-window
	FailTemplates     []string      // --fail-template NAME=CODE[:N], repeatable
	SlowTemplates     []string      // --slow-template NAME=DURATION, repeatable
	ClientMetadata    bool          // --client-metadata
	NoValidate        bool          // --no-validate
	NoSchema          bool          // --no-schema
	LegacyCollision   bool          // --legacy-collision
	LogURLs           bool          // --log-urls
	CanonicalImages   bool          // --canonical-images

	// windowBurst is the burst that --rate-limit N/m implies (N) when
	// --rate-burst is not given.
	windowBurst int
}

// RegisterFlags defines the emulator flags on fs and returns where their
// values land; call Options after fs.Parse.
func RegisterFlags(fs *flag.FlagSet) *Flags {
	d := NewOptions()
	f := &Flags{}
	fs.StringVar(&f.Addr, "addr", DefaultAddr, "listen address (host:port; port 0 picks a free port)")
	fs.DurationVar(&f.Latency, "latency", 0, "latency added to every API request")
	fs.DurationVar(&f.BuildDuration, "build-duration", d.BuildDuration, "how long a build takes from queued to ready")
	fs.BoolVar(&f.AutoBuild, "auto-build", d.AutoBuild, "queue a build when a template is created, like the real server")
	fs.Int64Var(&f.Seed, "seed", d.Seed, "seed of fault injection (same seed, same faults for sequential requests)")
	fs.Float64Var(&f.FailRate, "fail-rate", 0, "probability (0..1) that an API request fails with 503")
	fs.Func("rate-limit", "token-bucket rate limit over all API requests: N/s or a plain N (per second; burst N rounded up)\n"+
		"or N/m (per minute, like a key's rate_limit_rpm; burst N); 0 = off. 429s carry Retry-After", func(v string) error {
		rate, window, err := parseRate(v)
		if err != nil {
			return err
		}
		f.RateLimit, f.windowBurst = rate, window
		return nil
	})
	fs.IntVar(&f.RateBurst, "rate-burst", 0, "rate-limit bucket size (0 = what --rate-limit implies)")
	fs.BoolVar(&f.RateLimitHeaders, "rate-limit-headers", false, "announce the rate limit: X-RateLimit-Limit, -Remaining and -Reset (seconds until the bucket is full)\n"+
		"on every authorized API response (default off, as the real server's headers are unknown)")
	fs.BoolVar(&f.ClientMetadata, "client-metadata", false, "render the metadata a client sent: on templates, and merged into a build's metadata next to events\n"+
		"(default off: like the real server, templates have no metadata and build metadata holds only events)")
	fs.BoolVar(&f.NoValidate, "no-validate", false, "serve no POST /sandbox-templates/validate (404 NOT_FOUND), like a deployment that lacks it;\n"+
		"create and create_build still validate (422 INVALID_BUILDSPEC)")
	fs.BoolVar(&f.NoSchema, "no-schema", false, "serve no GET /sandbox-templates/build-spec (404 NOT_FOUND)")
	fs.BoolVar(&f.LegacyCollision, "legacy-collision", false, "answer a create of an existing ready template's name like servers before a fix:\n"+
		"422 VALIDATION_FAILED with errors {\"tenant_id\": [\"has already been taken\"]} instead of {\"slug\": [...]}")
	fs.BoolVar(&f.LogURLs, "log-urls", false, "give builds a log_url (http://ADDR/__emulator/logs/BUILD_ID, a plain-text log that honours Range)\n"+
		"(default off: log_url is null)")
	fs.BoolVar(&f.CanonicalImages, "canonical-images", false, "rewrite a build spec's from to its fully qualified form (node:22 -> docker.io/library/node:22,\n"+
		"no tag -> :latest) in validate's answer and in stored specs (default off: from is kept as sent)")
	fs.DurationVar(&f.IdempotencyWindow, "idempotency-window", d.IdempotencyWindow, "how long an Idempotency-Key is remembered")
	fs.Func("fail-template", "NAME=CODE or NAME=CODE:N: builds of template NAME fail with error_code CODE; with :N only its first N\n"+
		"builds fail (a transient failure, e.g. app=REGISTRY_TIMEOUT:1). BUILD_STEP_FAILED names the spec's last step;\n"+
		"BUILDS_TEMPORARILY_UNAVAILABLE fails the build at once and leaves the template draft (repeatable)", func(v string) error {
		if _, _, _, err := parseFailure(v); err != nil {
			return err
		}
		f.FailTemplates = append(f.FailTemplates, v)
		return nil
	})
	fs.Func("slow-template", "NAME=DURATION: builds of template NAME take DURATION (repeatable)", func(v string) error {
		if err := checkPair(v); err != nil {
			return err
		}
		if _, err := time.ParseDuration(v[strings.Index(v, "=")+1:]); err != nil {
			return fmt.Errorf("slow-template %q: %w", v, err)
		}
		f.SlowTemplates = append(f.SlowTemplates, v)
		return nil
	})
	return f
}

// parseRate reads --rate-limit: "N", "N/s" or "N/sec" (per second) or
// "N/m" or "N/min" (per minute). It returns requests per second and, for a
// per-minute limit, the burst it implies (N, rounded up).
func parseRate(v string) (perSecond float64, windowBurst int, err error) {
	num, unit, _ := strings.Cut(strings.TrimSpace(v), "/")
	n, perr := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if perr != nil || n < 0 || math.IsInf(n, 0) || math.IsNaN(n) {
		return 0, 0, fmt.Errorf("rate-limit %q: want N, N/s or N/m with N a non-negative number", v)
	}
	switch strings.TrimSpace(unit) {
	case "", "s", "sec":
		return n, 0, nil
	case "m", "min":
		return n / 60, int(math.Ceil(n)), nil
	}
	return 0, 0, fmt.Errorf("rate-limit %q: the unit must be /s or /m", v)
}

// parseFailure reads --fail-template: NAME=CODE or NAME=CODE:N (N >= 1).
func parseFailure(v string) (name, code string, first int, err error) {
	if err := checkPair(v); err != nil {
		return "", "", 0, err
	}
	name, code, _ = strings.Cut(v, "=")
	if c, n, ok := strings.Cut(code, ":"); ok {
		first, err = strconv.Atoi(n)
		if err != nil || first < 1 || c == "" {
			return "", "", 0, fmt.Errorf("fail-template %q: want NAME=CODE or NAME=CODE:N with N >= 1", v)
		}
		code = c
	}
	return name, code, first, nil
}

func checkPair(v string) error {
	name, val, ok := strings.Cut(v, "=")
	if !ok || name == "" || val == "" {
		return fmt.Errorf("want NAME=VALUE, got %q", v)
	}
	return nil
}

// Options turns the flag values into Options.
func (f *Flags) Options() (Options, error) {
	o := NewOptions()
	o.Faults.Latency = f.Latency
	o.BuildDuration = f.BuildDuration
	o.AutoBuild = f.AutoBuild
	o.Seed = f.Seed
	if f.FailRate < 0 || f.FailRate > 1 {
		return Options{}, fmt.Errorf("fail-rate %v: want a probability between 0 and 1", f.FailRate)
	}
	o.Faults.ErrorRate = f.FailRate
	if f.RateLimit < 0 || f.RateBurst < 0 {
		return Options{}, errors.New("rate-limit and rate-burst must not be negative")
	}
	o.RateLimit, o.RateBurst = f.RateLimit, f.RateBurst
	if o.RateBurst == 0 {
		o.RateBurst = f.windowBurst
	}
	o.RateLimitHeaders = f.RateLimitHeaders
	o.ClientMetadata = f.ClientMetadata
	o.NoValidate, o.NoSchema = f.NoValidate, f.NoSchema
	o.LegacyCollision = f.LegacyCollision
	o.LogURLs = f.LogURLs
	o.CanonicalImages = f.CanonicalImages
	o.IdempotencyWindow = f.IdempotencyWindow
	o.Outcomes = map[string]Outcome{}
	for _, v := range f.FailTemplates {
		name, code, first, err := parseFailure(v)
		if err != nil {
			return Options{}, err
		}
		oc := o.Outcomes[name]
		oc.ErrorCode, oc.FailFirst = code, first
		o.Outcomes[name] = oc
	}
	for _, v := range f.SlowTemplates {
		name, ds, _ := strings.Cut(v, "=")
		d, err := time.ParseDuration(ds)
		if err != nil {
			return Options{}, fmt.Errorf("slow-template %q: %w", v, err)
		}
		oc := o.Outcomes[name]
		oc.Duration = d
		o.Outcomes[name] = oc
	}
	return o, nil
}

// ParseFlags parses the emulator subcommand's arguments. Usage output is
// discarded; -h yields flag.ErrHelp (use RegisterFlags to print usage).
func ParseFlags(args []string) (Options, string, error) {
	fs := flag.NewFlagSet("emulator", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return Options{}, "", err
	}
	if fs.NArg() > 0 {
		return Options{}, "", fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	o, err := f.Options()
	return o, f.Addr, err
}

// ListenAndServe serves s on addr until ctx is cancelled, after printing one
// line with the API base URL to logw. It returns nil after a clean shutdown.
func ListenAndServe(ctx context.Context, addr string, s *Server, logw io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("emulator listen: %w", err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(logw, "emulator listening on http://%s/api/v1 (any key starting with msk_ works)\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("emulator serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("emulator shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("emulator serve: %w", err)
	}
	return nil
}
