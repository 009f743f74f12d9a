// Package schema holds the embedded JSON Schema of build_spec, compiles it
// (or a schema fetched from the server) and checks specs against it, turning
// each schema error into a diagnostic at the YAML line and column of the
// offending value. File wraps it in the schema of a whole template file, for
// editors.
package schema
