//go:build unix

package spec_test

import (
	"path/filepath"
	"syscall"
	"testing"

	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
)

// TestFIFO checks that a named pipe is reported without being opened: opening
// it would block forever, as nothing writes to it.
func TestFIFO(t *testing.T) {
	root := repo(t, map[string]string{"good.yaml": okTemplate})
	if err := syscall.Mkfifo(filepath.Join(root, "sandbox-templates", "pipe.yaml"), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	symlink(t, "pipe.yaml", filepath.Join(root, "sandbox-templates", "link-to-pipe.yaml"))
	ts, diags, err := spec.Load(spec.Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	wantDiag(t, diags, "sandbox-templates/pipe.yaml", "file-type", "named pipe")
	wantDiag(t, diags, "sandbox-templates/link-to-pipe.yaml", "file-type", "named pipe")
	if len(ts) != 1 {
		t.Errorf("templates = %v, want only good", ts)
	}
}
