package run

import (
	"strings"

	"github.com/google/uuid"
)

// keyNamespace is the fixed UUIDv5 namespace of this tool's idempotency keys.
var keyNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/miosa-dev/sandbox-templates-action/idempotency"))

// Operations named in idempotency keys and in build metadata.
const (
	opCreate = "create"
	opBuild  = "build"
)

// IdempotencyKey derives the key of one logical write from the transition
// it makes, and from nothing else (no run id, attempt number, time or
// randomness): the repository, the template, the commit, the digest of the
// local spec (never a server-normalized form, so racing runs agree), the
// operation, and the build the write replaces ("none" for none). Runs that
// see the same state and want the same spec send one key; a run that sees a
// new base (drift, a failed build) sends a new one.
func IdempotencyKey(repository, name, commit, digest, operation, base string) string {
	parts := []string{"v2", repository, name, commit, digest, operation, base}
	return uuid.NewSHA1(keyNamespace, []byte(strings.Join(parts, "|"))).String()
}
