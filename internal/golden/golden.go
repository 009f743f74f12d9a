// Package golden is the one golden-file helper of the tests. Importing it
// defines the -update flag, so `go test ./... -update` rewrites every golden
// file; every package with tests imports it, so the flag is defined
// everywhere.
package golden

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files instead of comparing with them")

// Update reports whether this run rewrites golden files.
func Update() bool { return *update }

// Check compares got with the file at path. With -update it writes got
// there instead, says so in the test log and compares nothing: a rewrite is
// not a passing comparison.
func Check(t testing.TB, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("golden: rewrote %s", path)
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

// Dir is a directory of golden files, relative to the package under test.
type Dir string

// Testdata is the testdata directory of the package under test.
const Testdata Dir = "testdata"

// Check compares got with the file name in d, as the package's Check does.
func (d Dir) Check(t testing.TB, name, got string) {
	t.Helper()
	Check(t, filepath.Join(string(d), name), got)
}
