package cli

import (
	"runtime/debug"
	"testing"
)

func TestPickVersion(t *testing.T) {
	t.Parallel()
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	const rev = "0123456789abcdef0123456789abcdef01234567"
	tests := []struct {
		name    string
		stamped string
		info    *debug.BuildInfo
		want    string
	}{
		{"stamped by a release", "v1.4.0", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "v1.4.0"},
		{"stamped wins over the module version", "v1.4.0", &debug.BuildInfo{Main: debug.Module{Version: "v1.3.0"}}, "v1.4.0"},
		{"go install @tag", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.3.1"}}, "v0.3.1"},
		{"go install @commit", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20260301120000-0123456789ab"}}, "v0.0.0-20260301120000-0123456789ab"},
		{"Dockerfile's default stamp", "dev", &debug.BuildInfo{Main: debug.Module{Version: "v0.3.1"}}, "v0.3.1"},
		{"go build in a checkout", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.3.2-0.20260301120000-0123456789ab+dirty"}}, "v0.3.2-0.20260301120000-0123456789ab+dirty"},
		{"devel with a revision", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "false")}, "devel+0123456789ab"},
		{"devel, modified", "dev", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "true")}, "devel+0123456789ab.dirty"},
		{"devel without VCS", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "devel"},
		{"no build info", "", nil, "devel"},
		{"short revision", "", &debug.BuildInfo{Settings: vcs("abc", "false")}, "devel+abc"},
	}
	for _, tt := range tests {
		if got := pickVersion(tt.stamped, tt.info); got != tt.want {
			t.Errorf("%s: pickVersion(%q, ...) = %q, want %q", tt.name, tt.stamped, got, tt.want)
		}
	}
}
