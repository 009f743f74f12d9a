package ghaction

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	githubactions "github.com/sethvargo/go-githubactions"
)

func TestCommitTime(t *testing.T) {
	t.Parallel()
	const sha = "abc123"
	commit := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name, payload string
		want          time.Time
	}{
		{"push", `{"head_commit":{"id":"abc123","timestamp":"2026-12-01T11:00:00+01:00"}}`, commit},
		{"push time later than the commit", `{"head_commit":{"id":"abc123","timestamp":"2026-12-01T10:00:00Z"},"repository":{"pushed_at":1796122800}}`, time.Unix(1796122800, 0)},
		{"push time earlier is ignored", `{"head_commit":{"id":"abc123","timestamp":"2026-12-01T10:00:00Z"},"repository":{"pushed_at":1}}`, commit},
		{"another commit", `{"head_commit":{"id":"fff","timestamp":"2026-12-01T10:00:00Z"}}`, time.Time{}},
		{"workflow_run", `{"workflow_run":{"head_commit":{"id":"abc123","timestamp":"2026-12-01T10:00:00Z"}}}`, commit},
		{"dispatch has no commit", `{"inputs":{}}`, time.Time{}},
		{"not JSON", `{`, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := filepath.Join(t.TempDir(), "event.json")
			if err := os.WriteFile(p, []byte(tt.payload), 0o644); err != nil {
				t.Fatal(err)
			}
			a := githubactions.New(githubactions.WithGetenv(func(k string) string {
				if k == "GITHUB_EVENT_PATH" {
					return p
				}
				return ""
			}))
			got := readRunner(a).commitTime(sha)
			if !got.Equal(tt.want) {
				t.Errorf("commitTime = %v, want %v", got, tt.want)
			}
		})
	}
}
