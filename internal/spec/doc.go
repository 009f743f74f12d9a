// Package spec reads sandbox template files (sandbox-templates/*.yaml) from a
// repository into Templates whose build_spec keeps its YAML positions.
//
// Repositories are untrusted input: the loader never follows a symlink out of
// the root, never opens a FIFO or device, reads at most Options.MaxFileSize
// bytes of a file, rejects YAML aliases and deep nesting, and reports every
// problem as a positioned diag.Diagnostic instead of failing.
package spec
