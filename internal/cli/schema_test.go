package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/miosa-dev/sandbox-templates-action/internal/schema"
)

// committedFileSchema is the copy of `schema --file` docs/editors.md links to.
var committedFileSchema = filepath.Join("..", "..", "schemas", "template.schema.json")

func TestSchemaFile(t *testing.T) {
	code, out, errOut := runCLI(t, nil, "schema", "--file")
	if code != ExitOK || out != string(schema.File()) || errOut != "" {
		t.Fatalf("exit %d, stderr %q; output differs from schema.File", code, errOut)
	}
	want, err := os.ReadFile(committedFileSchema)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), out); diff != "" {
		t.Errorf("%s is not `schema --file`; regenerate it with go run . schema --file > schemas/template.schema.json (-committed +now):\n%s",
			committedFileSchema, diff)
	}
}
