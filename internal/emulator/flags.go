package emulator

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
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
	RateLimit         float64       // --rate-limit
	RateBurst         int           // --rate-burst
	IdempotencyWindow time.Duration // --idempotency-window
	FailTemplates     []string      // --fail-template NAME=CODE, repeatable
	SlowTemplates     []string      // --slow-template NAME=DURATION, repeatable
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
	fs.Float64Var(&f.RateLimit, "rate-limit", 0, "token-bucket rate limit in requests per second (0 = off)")
	fs.IntVar(&f.RateBurst, "rate-burst", 0, "rate-limit burst (0 = the rate rounded up)")
	fs.DurationVar(&f.IdempotencyWindow, "idempotency-window", d.IdempotencyWindow, "how long an Idempotency-Key is remembered")
	fs.Func("fail-template", "NAME=CODE: builds of template NAME fail with error_code CODE (repeatable)", func(v string) error {
		if err := checkPair(v); err != nil {
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
	o.IdempotencyWindow = f.IdempotencyWindow
	o.Outcomes = map[string]Outcome{}
	for _, v := range f.FailTemplates {
		name, code, _ := strings.Cut(v, "=")
		oc := o.Outcomes[name]
		oc.ErrorCode = code
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
