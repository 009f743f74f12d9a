package golden

import (
	"os"
	"path/filepath"
	"testing"
)

// A Dir's Check reads the file of that name in the directory.
func TestDirCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "case.golden"), []byte("want\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	Dir(dir).Check(t, "case.golden", "want\n")
}
