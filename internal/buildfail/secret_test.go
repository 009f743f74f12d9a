package buildfail_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/miosa-dev/sandbox-templates-action/internal/buildfail"
)

// A build log that prints credentials shows them masked.
func TestTailMasksCredentials(t *testing.T) {
	t.Parallel()
	log := "step 1/2: git clone https://x-access-token:ghs_abcdefghij0123456789@github.com/o/r\n" +
		"npm config set //registry.npmjs.org/:_authToken=npm_abcdefgh12345678\n" +
		"\x1b[31mAuthorization: Bearer abc123def456\x1b[0m\n"
	want := []string{
		"step 1/2: git clone https://***@github.com/o/r",
		"npm config set //registry.npmjs.org/:_authToken=***",
		"Authorization: Bearer ***",
	}
	got := buildfail.Tail([]byte(log), false, 0)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Tail (-want +got):\n%s", diff)
	}
	if md := buildfail.Markdown(got); strings.Contains(md, "ghs_") || strings.Contains(md, "abc123def456") {
		t.Errorf("Markdown shows a credential:\n%s", md)
	}
}
