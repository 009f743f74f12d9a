// Package emulator is a local, in-memory emulator of the Miosa sandbox-templates
// API (shared/api/sandbox-templates-api.md) as an http.Handler.
//
// The API lives under /api/v1. Inspection and steering endpoints live under
// /__emulator/ and need no key: GET counters, GET state, GET requests (the
// bounded log of request bodies, never headers), POST reset, GET/POST config
// (a partial Config as JSON: present members replace options), and GET
// builds/{id}/log (what a build's log_url points to).
//
// State is held in memory behind one mutex. Build states advance lazily from
// Options.Clock at the start of each request (queued, then building at 10%
// of the build duration, certifying at 60%, snapshotting at 80%, ready or
// failed at 100%), so a test with a fake clock needs no goroutines.
//
// Choices where the API page says UNKNOWN or is silent:
//   - One tenant: any key starting with "msk_" is accepted and sees the same
//     templates. Requests are counted per key by a fingerprint of the key.
//   - Idempotency keys are scoped per API key, method and escaped path.
//     Successes and final 4xx answers are remembered (not 5xx, 409, 429).
//   - Client metadata is kept on templates and builds; a build's metadata also
//     gets the server's "events" list (which overwrites a client "events").
//   - An upsert (create of a draft/failed name) answers 201 like a create,
//     replaces build_spec, and replaces description and metadata only when
//     sent; earlier builds of that template keep running.
//   - create_build with a build_spec replaces the template's build_spec when
//     the build is queued, not when it becomes ready.
//   - The template status stays draft while its first build runs; a failed
//     rebuild of a ready template leaves it ready.
//   - Built-in templates can be read (by id, slug or alias) but not built or
//     deleted (403 FORBIDDEN).
//   - With include_aliases=true, aliases are an "aliases" array on each row
//     (Variant.Aliases "rows" gives extra rows with "alias_of" instead).
//   - Validation uses the project's embedded schema (internal/schema), and
//     GET .../build-spec serves that same document.
//
// Two options exist for crash and timing tests: Options.OnHandled runs
// between a request's commit and its response (the e2e reliability suite
// SIGKILLs the client there), and Options.AutoBuildLag hides a create's
// queued build from list_builds for a while, as an asynchronous server would.
//
// Fault injection (Options.Faults) draws from math/rand/v2 seeded with
// Options.Seed; ids are derived from the seed and counters too. Sequential
// requests therefore see the same faults and ids for the same seed; with
// concurrent requests the draw order follows arrival order, so only the
// overall rate, not which request gets which fault, is repeatable.
package emulator
