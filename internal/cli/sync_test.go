package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// The README's first command: the whole pipeline against the built-in
// emulator, with no credentials.
func TestApplyWithBuiltInEmulator(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), []string{"apply", "--emulator", "--dir", "../../testdata/good", "--json"},
		&stdout, &stderr, func(string) string { return "" })
	if code != ExitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	var doc struct {
		Status  string            `json:"status"`
		Outputs map[string]string `json:"outputs"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatalf("--json output: %v\n%s", err, stdout.String())
	}
	var bids map[string]string
	if err := json.Unmarshal([]byte(doc.Outputs["build-ids"]), &bids); err != nil {
		t.Fatal(err)
	}
	if doc.Status != "success" || len(bids) != 3 {
		t.Fatalf("status %q build-ids %v, want success and 3 builds", doc.Status, bids)
	}
	if !strings.Contains(stderr.String(), "Plan: 3 to create") {
		t.Errorf("no plan in the log:\n%s", stderr.String())
	}
}

func TestSyncUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"apply without a key", []string{"apply", "--dir", "../../testdata/good"}, nil, "MIOSA_API_KEY for the CLI"},
		{"plan without a key", []string{"plan", "--dir", "../../testdata/good"}, nil, "MIOSA_API_KEY for the CLI"},
		{"bad build mode", []string{"apply", "--emulator", "--dir", "../../testdata/good", "--build", "sometimes"}, nil, `--build: "sometimes" is not one of changed, always, never`},
		{"key without msk_", []string{"plan", "--dir", "../../testdata/good"}, map[string]string{"MIOSA_API_KEY": "sk_live_nope"}, "api client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			code := Main(context.Background(), tt.args, &stdout, &stderr, func(k string) string { return tt.env[k] })
			if code != ExitUsage || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr.String(), ExitUsage, tt.want)
			}
			if strings.Contains(stderr.String(), "sk_live_nope") {
				t.Errorf("the key is echoed: %q", stderr.String())
			}
		})
	}
}

// The built-in emulator's key must not look like text the emulator sends
// (its log links), or the client's redaction would mangle them.
func TestBuiltInEmulatorKeyIsNotRedactedFromAnswers(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), []string{"apply", "--emulator", "--dir", "../../testdata/good"},
		&stdout, &stderr, func(string) string { return "" })
	if code != ExitOK || strings.Contains(stdout.String(), "REDACTED") {
		t.Fatalf("exit %d, output has a redaction:\n%s", code, stdout.String())
	}
}
