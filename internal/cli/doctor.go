package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/doctor"
	"github.com/miosa-dev/sandbox-templates-action/internal/run"
)

// runDoctor checks what the server supports with the key, read-only.
func runDoctor(ctx context.Context, env *Env, args []string) int {
	fs := flagSet("doctor")
	apiURL := env.Getenv("MIOSA_API_URL")
	if apiURL == "" {
		apiURL = run.DefaultAPIURL
	}
	fs.StringVar(&apiURL, "api-url", apiURL, "Miosa API base URL (default $MIOSA_API_URL, else the public API)")
	jsonOut := fs.Bool("json", false, "print one JSON object with every check instead of text")
	timeout := fs.Duration("timeout", time.Minute, "deadline for all checks")
	insecure := fs.Bool("allow-insecure-http", false, "allow an http:// api-url to a host that is not loopback (a private deployment)")
	emu := fs.Bool("emulator", false, "check a built-in emulator of the Miosa API on 127.0.0.1 instead (no credentials needed)")
	about := "Checks, read-only, what the Miosa server at the API URL supports with MIOSA_API_KEY: whether the URL\n" +
		"answers, whether the key is accepted, the list's shape, the build-spec schema and validate endpoints,\n" +
		"rate-limit headers, the server's clock and request ids. It prints one line per check (ok, warn, fail,\n" +
		"or skip after a failure) with what to do, and never prints the key. Run it first with a new key.\n" +
		"Exit status: 0 the action can work (warnings allowed), 1 it cannot, 2 bad command line."
	if code, ok := parse(env, fs, "[flags]", about, args); !ok {
		return code
	}
	key := env.Getenv("MIOSA_API_KEY")
	if *emu {
		url, stop, err := startEmulator()
		if err != nil {
			fmt.Fprintf(env.Stderr, "doctor: %v\n", err)
			return ExitProblems
		}
		defer stop()
		apiURL, key = url, emulatorKey
	}
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	r := doctor.Run(ctx, doctor.Config{APIURL: apiURL, APIKey: key, UserAgent: UserAgent(), AllowInsecureHTTP: *insecure})
	out := []byte(r.Text())
	if *jsonOut {
		out = r.JSON()
	}
	if _, err := env.Stdout.Write(out); err != nil || !r.OK {
		return ExitProblems
	}
	return ExitOK
}
