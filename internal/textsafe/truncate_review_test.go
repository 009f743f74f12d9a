package textsafe

import (
	"strings"
	"testing"
)

// Truncate never leaves part of a credential at its cut: masked after the
// cut, a part no longer looks like a credential and would be shown.
func TestTruncateReviewLeavesOutASplitCredential(t *testing.T) {
	t.Parallel()
	const pass = "S3cretPassw0rdValue1234567890"
	tests := []struct {
		name, s, secret string
	}{
		{"the password of a URL", "git clone https://deploy:" + pass + "@git.example.com/app.git failed", pass},
		{"a bearer token", "curl -H 'Authorization: Bearer abc123def456ghi789jkl' failed", "abc123def456"},
		{"a GitHub token", "token ghp_" + pass + " was refused", "ghp_" + pass[:5]},
	}
	for _, tt := range tests {
		for n := 4; n < len(tt.s); n++ {
			got := Truncate(tt.s, n)
			if len(got) > n {
				t.Fatalf("%s: Truncate(%d) has %d bytes", tt.name, n, len(got))
			}
			masked := MaskSecrets(got)
			for k := 6; k <= len(tt.secret); k++ {
				if strings.Contains(masked, tt.secret[:k]) && !strings.Contains(tt.s[:strings.Index(tt.s, tt.secret)], tt.secret[:k]) {
					t.Fatalf("%s: Truncate(%d) = %q shows %q, masked", tt.name, n, masked, tt.secret[:k])
				}
			}
		}
	}
	// Text without a credential is cut where it was.
	if got := Truncate("héllo world", 5); got != "h..." {
		t.Errorf("Truncate = %q", got)
	}
}
