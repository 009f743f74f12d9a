// Package emulator is a local, in-memory emulator of the Miosa sandbox-templates
// API, as Miosa's SDKs, CLIs and server code show it, as an http.Handler.
//
// The API lives under /api/v1, routed by an http.ServeMux with method and
// path patterns (endpoint names: list, get, create, schema, validate,
// list_builds, create_build, get_build, delete; other methods of a known
// path are method_not_allowed, anything else unknown). Inspection and
// steering endpoints live under /__emulator/ and need no key: GET counters,
// POST counters/reset (zero the counters between phases of a test; the
// answer is the counters before), GET state, GET requests (the bounded log
// of request bodies, never headers), POST reset (everything back to New),
// GET/POST config (a partial Config as JSON: present members replace
// options), and GET logs/{build id} (what a build's log_url points to with
// Options.LogURLs; builds/{id}/log is the older address of the same log).
//
// Three steering endpoints make what a test needs outside the tool under
// test (by another client, or Miosa's console); they count nothing, answer
// errors as {"error": {code, message}} and have Go forms for in-process
// tests:
//   - POST templates, body TemplateSeed ({name, slug?, description?,
//     build_spec, metadata?}): a template with that name and slug (which
//     may differ from the name's: "api" with slug "api-playground") and a
//     ready build of its normalized spec; 201 with its TemplateState.
//     Server.SeedTemplate.
//   - POST templates/{id or slug}/builds, body BuildSeed ({build_spec?,
//     state?, error_code?, error_message?, duration?}): a build of that
//     template in that state (default ready), whose spec becomes the
//     template's (drift); a ready or failed build acts on the template at
//     once, one in progress goes on from its state; 201 with its
//     BuildState. Server.SeedBuild.
//   - DELETE templates/{id or slug}: the template and its builds are gone,
//     even while a build runs (the API's DELETE answers 409 then); 204.
//     Remembered Idempotency-Keys stay. Server.DeleteTemplate.
//
// State is held in memory behind one mutex. Build states advance lazily from
// Options.Clock at the start of each request (queued, then building at 10%
// of the build duration, certifying at 60%, snapshotting at 80%, ready or
// failed at 100%), so a test with a fake clock needs no goroutines.
//
// The defaults (NewOptions, and false for every switch) follow what the API
// page's last section says the real server shows, pessimistic where it
// says UNKNOWN:
//   - Templates render exactly the keys of render_template, list rows those
//     of render_for_catalog, builds the build keys; no template metadata.
//     Client metadata is stored but only rendered with Options.ClientMetadata.
//   - A build's metadata is the server's {"events": [{event, at}]}.
//   - Lists are paged as the API reference says: page (default 1) and
//     page_size (default 20, at most 100; more is served as 100), answered
//     {"data": [...], "page": {"page", "page_size", "total"}}; a page or
//     page_size that is not a positive integer is 422 VALIDATION_FAILED.
//     The catalog comes in insertion order (built-ins first), builds newest
//     first. Variant.List and Variant.ListBuilds serve the other forms: a
//     next link in the body, a Link header, or the whole list at once.
//   - 22 built-in templates with short ids (nextjs, python, ...).
//   - log_url is null (Options.LogURLs serves logs), no X-RateLimit headers
//     (Options.RateLimitHeaders), the modern collision body
//     (Options.LegacyCollision), validate and build-spec present
//     (Options.NoValidate, Options.NoSchema).
//   - INVALID_BUILDSPEC errors are a list of {code, field, message} with
//     codes REQUIRED, UNKNOWN_KEY or INVALID and fields relative to
//     build_spec ("from", "steps[0].run"), from validate, create and
//     create_build alike.
//   - A spec is normalized as the server renders it (validate's answer, a
//     template's and a build's build_spec), with every key of the API
//     page's example: {from, size, vcpu, memoryMib, diskMib, steps, env,
//     workdir, user, startCmd, readyCmd, previewPort, artifactPaths}.
//     Absent keys get steps [], env {}, workdir "/workspace", user "root",
//     artifactPaths [] and null startCmd, readyCmd and previewPort; a spec
//     with no size and no resources gets size small, and a size fills the
//     resources the spec does not set (Options.Sizes moves them). A spec of
//     the SDK vocabulary (runtime, version, packages) gets the same defaults
//     except the nulls. from is kept as sent (Options.CanonicalImages
//     qualifies it: docker.io/library/node:22).
//   - DELETE answers 409 TEMPLATE_IN_USE while the template has a build
//     that is not terminal, with error.details {"sandboxes": 0, "builds":
//     N} (the emulator runs no sandboxes).
//
// Template status and current_build_id:
//   - While a build is queued or in progress, current_build_id stays as it
//     was (null for a new template); a new template is draft. The 201 of a
//     create shows the template before its build is queued.
//   - A ready build makes the template ready, with that build's image_id
//     and current_build_id.
//   - A failed build makes the template failed with current_build_id = the
//     failed build; image_id stays that of the last ready build (null if
//     none). This also holds for a failed rebuild of a ready template.
//   - BUILDS_TEMPORARILY_UNAVAILABLE fails the build at once and leaves the
//     status alone (a new template stays draft); current_build_id names the
//     failed build, so a client can see that it failed.
//
// Other choices where the API page says UNKNOWN or is silent:
//   - One tenant: any key starting with "msk_" is accepted and sees the same
//     templates. Requests are counted per key by a fingerprint of the key.
//   - Idempotency keys are scoped per API key, method and escaped path.
//     Successes and final 4xx answers are remembered (not 5xx, 409, 429).
//   - An upsert (create of a draft/failed name) answers 201 like a create,
//     replaces build_spec, and replaces description and metadata only when
//     sent; earlier builds of that template keep running.
//   - create_build with a build_spec replaces the template's build_spec when
//     the build is queued, not when it becomes ready.
//   - Built-in templates can be read (by id, slug or alias) but not built or
//     deleted (403 FORBIDDEN).
//   - With include_aliases=true, aliases are an "aliases" array on each row
//     (Variant.Aliases "rows" gives extra rows with "alias_of" instead).
//   - Validation uses the project's embedded schema (internal/schema) with
//     startCmd, readyCmd and previewPort also allowing null, so that a
//     normalized spec can be sent back as it is; GET .../build-spec serves
//     that same document (the same top-level fields as the embedded one).
//   - The rate limit (Options.RateLimit) is one token bucket over all API
//     requests; its 429 carries Retry-After (Options.RateLimitNoRetryAfter
//     leaves it out).
//
// Two options exist for crash and timing tests: Options.OnHandled runs
// between a request's commit and its response (the e2e reliability suite
// SIGKILLs the client there), and Options.AutoBuildLag hides a create's
// queued build from list_builds for a while, as an asynchronous server would.
//
// Every counter and request-log entry a response implies is recorded before
// that response (or a dropped connection) reaches the client.
//
// Fault injection (Options.Faults) draws from math/rand/v2 seeded with
// Options.Seed; ids are derived from the seed and counters too. Sequential
// requests therefore see the same faults and ids for the same seed; with
// concurrent requests the draw order follows arrival order, so only the
// overall rate, not which request gets which fault, is repeatable.
package emulator
