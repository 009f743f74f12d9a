package githubtest_test

// Importing the golden package defines -update, so `go test ./... -update`
// runs here too.
import _ "github.com/miosa-dev/sandbox-templates-action/internal/golden"
