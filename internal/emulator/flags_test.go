package emulator_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
)

func TestParseFlags(t *testing.T) {
	t.Parallel()
	defaults := emulator.NewOptions()
	defaults.Outcomes = map[string]emulator.Outcome{}
	tests := []struct {
		name    string
		args    []string
		want    func(o *emulator.Options)
		addr    string
		wantErr bool
	}{
		{name: "defaults", addr: emulator.DefaultAddr},
		{
			name: "all",
			args: []string{"--addr", "127.0.0.1:0", "--latency", "50ms", "--build-duration", "1m", "--auto-build=false",
				"--seed", "7", "--fail-rate", "0.25", "--rate-limit", "5", "--rate-burst", "9", "--idempotency-window", "1h",
				"--fail-template", "web=BUILD_STEP_FAILED", "--fail-template", "api=X", "--slow-template", "web=5m",
				"--fail-template", "db=REGISTRY_TIMEOUT:2", "--rate-limit-headers", "--client-metadata", "--no-validate",
				"--no-schema", "--legacy-collision", "--log-urls", "--canonical-images"},
			addr: "127.0.0.1:0",
			want: func(o *emulator.Options) {
				o.Faults.Latency = 50 * time.Millisecond
				o.BuildDuration = time.Minute
				o.AutoBuild = false
				o.Seed = 7
				o.Faults.ErrorRate = 0.25
				o.RateLimit, o.RateBurst = 5, 9
				o.IdempotencyWindow = time.Hour
				o.Outcomes = map[string]emulator.Outcome{
					"web": {ErrorCode: "BUILD_STEP_FAILED", Duration: 5 * time.Minute},
					"api": {ErrorCode: "X"},
					"db":  {ErrorCode: "REGISTRY_TIMEOUT", FailFirst: 2},
				}
				o.RateLimitHeaders, o.ClientMetadata, o.NoValidate, o.NoSchema, o.LegacyCollision, o.LogURLs = true, true, true, true, true, true
				o.CanonicalImages = true
			},
		},
		{name: "rate per second", args: []string{"--rate-limit", "2/s"}, addr: emulator.DefaultAddr,
			want: func(o *emulator.Options) { o.RateLimit = 2 }},
		{name: "rate per second, long unit", args: []string{"--rate-limit", "2.5/sec"}, addr: emulator.DefaultAddr,
			want: func(o *emulator.Options) { o.RateLimit = 2.5 }},
		{name: "rate per minute", args: []string{"--rate-limit", "60/m"}, addr: emulator.DefaultAddr,
			want: func(o *emulator.Options) { o.RateLimit, o.RateBurst = 1, 60 }},
		{name: "rate per minute with a burst", args: []string{"--rate-limit", "90/min", "--rate-burst", "5"}, addr: emulator.DefaultAddr,
			want: func(o *emulator.Options) { o.RateLimit, o.RateBurst = 1.5, 5 }},
		{name: "rate off", args: []string{"--rate-limit", "0"}, addr: emulator.DefaultAddr},
		{name: "bad rate unit", args: []string{"--rate-limit", "5/h"}, wantErr: true},
		{name: "bad rate number", args: []string{"--rate-limit", "fast"}, wantErr: true},
		{name: "negative rate", args: []string{"--rate-limit", "-1/m"}, wantErr: true},
		{name: "bad fail-template", args: []string{"--fail-template", "web"}, wantErr: true},
		{name: "fail-template count zero", args: []string{"--fail-template", "web=X:0"}, wantErr: true},
		{name: "fail-template count not a number", args: []string{"--fail-template", "web=X:y"}, wantErr: true},
		{name: "fail-template count without code", args: []string{"--fail-template", "web=:1"}, wantErr: true},
		{name: "bad slow-template", args: []string{"--slow-template", "web=soon"}, wantErr: true},
		{name: "bad fail-rate", args: []string{"--fail-rate", "2"}, wantErr: true},
		{name: "extra argument", args: []string{"extra"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, addr, err := emulator.ParseFlags(tt.args)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			want := defaults
			if tt.want != nil {
				tt.want(&want)
			}
			if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(emulator.Options{}, "Clock")); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
			if addr != tt.addr {
				t.Errorf("addr %q, want %q", addr, tt.addr)
			}
		})
	}
	if _, _, err := emulator.ParseFlags([]string{"-h"}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: err = %v", err)
	}
}

// TestFlagHelp: every flag is documented in the usage text.
func TestFlagHelp(t *testing.T) {
	t.Parallel()
	fs := flag.NewFlagSet("emulator", flag.ContinueOnError)
	emulator.RegisterFlags(fs)
	var out bytes.Buffer
	fs.SetOutput(&out)
	fs.PrintDefaults()
	help := out.String()
	for flagName, words := range map[string][]string{
		"client-metadata":    {"metadata", "events"},
		"no-validate":        {"404 NOT_FOUND", "INVALID_BUILDSPEC"},
		"no-schema":          {"build-spec", "404"},
		"legacy-collision":   {"tenant_id", "has already been taken"},
		"log-urls":           {"/__emulator/logs/", "Range"},
		"canonical-images":   {"docker.io/library/node:22", ":latest"},
		"rate-limit":         {"N/m", "N/s", "Retry-After"},
		"rate-limit-headers": {"X-RateLimit-Limit", "Reset"},
		"fail-template":      {"NAME=CODE:N", "BUILD_STEP_FAILED", "BUILDS_TEMPORARILY_UNAVAILABLE"},
	} {
		if !strings.Contains(help, "-"+flagName+" ") && !strings.Contains(help, "-"+flagName+"\n") {
			t.Errorf("--%s missing from the help", flagName)
		}
		for _, w := range words {
			if !strings.Contains(help, w) {
				t.Errorf("--%s: help does not mention %q", flagName, w)
			}
		}
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestListenAndServe(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- emulator.ListenAndServe(ctx, "127.0.0.1:0", emulator.New(emulator.NewOptions()), &out) }()
	var line string
	for range 200 {
		if line = out.String(); line != "" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	base, ok := strings.CutPrefix(line, "emulator listening on ")
	if !ok || !strings.HasSuffix(line, "/api/v1 (any key starting with msk_ works)\n") {
		t.Fatalf("line %q", line)
	}
	base = strings.Fields(base)[0]
	req, _ := http.NewRequest("GET", base+"/sandbox-templates", nil)
	req.Header.Set("Authorization", "Bearer "+testKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("status %d", res.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ListenAndServe: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no shutdown after cancel")
	}
	if _, _, err := emulator.ParseFlags(nil); err != nil {
		t.Fatal(err)
	}
}
