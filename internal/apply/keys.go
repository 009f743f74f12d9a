package apply

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

// IdempotencyKey derives the key of one logical write from what identifies
// it, and from nothing else (no run id, attempt number, time or randomness),
// so a re-run of the same commit sends the same keys.
func IdempotencyKey(repository, name, commit, digest, operation string) string {
	parts := []string{"v1", repository, name, commit, digest, operation}
	return uuid.NewSHA1(keyNamespace, []byte(strings.Join(parts, "|"))).String()
}
