package spec

import "testing"

func TestBlobID(t *testing.T) {
	t.Parallel()
	// As `printf ... | git hash-object --stdin` prints them.
	for in, want := range map[string]string{
		"":            "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391",
		"hello\n":     "ce013625030ba8dba906f756967f9e9ca394464a",
		"hello world": "95d09f2b10159347eece71399a7e2e907ea3df4f",
	} {
		if got := BlobID([]byte(in)); got != want {
			t.Errorf("BlobID(%q) = %s, want %s", in, got, want)
		}
	}
}
