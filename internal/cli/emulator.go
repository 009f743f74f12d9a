package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
)

// runEmulator serves the local Miosa API emulator until interrupted.
func runEmulator(ctx context.Context, env *Env, args []string) int {
	fs := flagSet("emulator")
	f := emulator.RegisterFlags(fs)
	about := "Serves a local emulator of the Miosa sandbox-templates API at http://ADDR/api/v1, for trying\n" +
		"the action without credentials and for tests. Any key starting with msk_ works. Inspection endpoints:\n" +
		"/__emulator/counters, /__emulator/counters/reset, /__emulator/state, /__emulator/requests,\n" +
		"/__emulator/config, /__emulator/reset, /__emulator/logs/{build_id} (with --log-urls).\n" +
		"Stops on Ctrl-C."
	if code, ok := parse(env, fs, "[flags]", about, args); !ok {
		return code
	}
	opts, err := f.Options()
	if err != nil {
		fmt.Fprintf(env.Stderr, "emulator: %v\n", err)
		return ExitUsage
	}
	if err := emulator.ListenAndServe(ctx, f.Addr, emulator.New(opts), env.Stderr); err != nil {
		fmt.Fprintf(env.Stderr, "emulator: %v\n", err)
		return ExitProblems
	}
	return ExitOK
}

// emulatorKey is the key used against the built-in emulator, which accepts
// any key starting with msk_. Like a real key it shares no 8-character run
// with ordinary text, which the client redacts from every answer.
const emulatorKey = "msk_local_x7Qp2Vd9Lk4Rz8Tb"

// startEmulator serves an emulator with the real server's defaults on a free
// loopback port for one plan or apply run.
func startEmulator() (apiURL string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("start the built-in emulator: %w", err)
	}
	srv := &http.Server{Handler: emulator.New(emulator.NewOptions()), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			panic(fmt.Sprintf("built-in emulator: %v", err))
		}
	}()
	return "http://" + ln.Addr().String() + "/api/v1", func() { _ = srv.Close() }, nil
}
