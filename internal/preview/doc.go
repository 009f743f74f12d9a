// Package preview decides everything about the preview templates of pull
// requests that needs no I/O: a preview's name and description, how to
// recognise this repository's previews (the slug pattern first, the mark in
// the description second), which templates of a pull request get a preview,
// and which previews a clean-up deletes.
//
// A preview of template T for pull request N of repository R is a template
// of its own, named T-prN-H, where H is six lowercase hex digits of the
// SHA-256 of R's full name in lower case (node-22-base-pr7-3fa9c1). The
// name stays within the server's 63 characters: a template part too long
// for it is cut and ends in four hex digits of the whole template name, so
// two long names never share a preview; -prN-H is always kept. Its
// description is its mark:
//
//	Preview of T for pull request R#N (sandbox-templates-action)
//
// A template is this repository's preview of pull request N only when its
// slug ends in -prN-H with this repository's H, its description is the mark
// for this repository and the same N, and the name that mark gives is the
// slug: nothing else is ever deleted (Owns).
//
// The adapter (internal/ghaction) asks GitHub which files changed and which
// pull requests are closed, and the server what exists; this package only
// decides.
package preview
