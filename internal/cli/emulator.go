package cli

import (
	"context"
	"fmt"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
)

// runEmulator serves the local Miosa API emulator until interrupted.
func runEmulator(ctx context.Context, env *Env, args []string) int {
	fs := flagSet("emulator")
	f := emulator.RegisterFlags(fs)
	about := "Serves a local emulator of the Miosa sandbox-templates API at http://ADDR/api/v1, for trying\n" +
		"the action without credentials and for tests. Any key starting with msk_ works. Inspection endpoints:\n" +
		"/__emulator/counters, /__emulator/state, /__emulator/requests, /__emulator/config, /__emulator/reset.\n" +
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
