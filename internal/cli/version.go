package cli

import (
	"context"
	"fmt"
	"runtime/debug"
)

// Version is what `version` prints and the User-Agent carries; SetVersion
// sets it once, before anything runs.
var Version = "devel"

// SetVersion sets Version from what the build stamped into main with
// -ldflags "-X main.version=v1.2.3" ("" or "dev" when nothing was) and, for
// a build that stamped nothing, from the binary's build information.
func SetVersion(stamped string) {
	info, _ := debug.ReadBuildInfo()
	Version = pickVersion(stamped, info)
}

// pickVersion chooses the version to show:
//   - the stamped one, as release images and scripts stamp it;
//   - else the main module's version, which `go install ...@v1.2.3` records
//     as v1.2.3 (or a pseudo-version such as v0.0.0-20260101120000-abcdef123456
//     for a commit), and which `go build` in a git checkout derives from the
//     commit (with +dirty for uncommitted changes);
//   - else "devel", with the VCS revision when the build recorded one:
//     devel+abcdef123456, and .dirty when the tree had changes.
func pickVersion(stamped string, info *debug.BuildInfo) string {
	if stamped != "" && stamped != "dev" {
		return stamped
	}
	if info == nil {
		return "devel"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev string
	dirty := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "devel"
	}
	v := "devel+" + rev[:min(len(rev), 12)]
	if dirty {
		v += ".dirty"
	}
	return v
}

// UserAgent names this tool and its version in API requests.
func UserAgent() string { return "sandbox-templates-action/" + Version }

func runVersion(_ context.Context, env *Env, args []string) int {
	fs := flagSet("version")
	about := "Prints the version: a release's tag (v1.2.3), the module version that `go install ...@VERSION`\n" +
		"recorded (a tag or a pseudo-version), or devel+REVISION for a build from a checkout."
	if code, ok := parse(env, fs, "", about, args); !ok {
		return code
	}
	fmt.Fprintln(env.Stdout, Version)
	return ExitOK
}
