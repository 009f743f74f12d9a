// Package prcomment keeps one sticky comment on a pull request: the first
// run creates it, every later run of the same workflow and job edits it in
// place.
//
// The comment is found among the pull request's issue comments by a hidden
// first line, <!-- sandbox-templates-action: MARKER -->, written by a bot or
// by someone with write access to the repository (OWNER, MEMBER or
// COLLABORATOR): a comment anyone else wrote is never edited, whatever it
// says. The body is cut on a line boundary to fit GitHub's limit of 65,536
// characters, closing an open code fence, with a last line pointing at the
// job summary.
//
// Every request goes through package github, on GitHub's REST API at
// Config.APIURL (GITHUB_API_URL, so GitHub Enterprise Server works): the
// token is sent only there, as a bearer token, redirects are never followed,
// pages of comments are asked for by number on that URL, never by following
// a Link header, and no error or Result contains the token. Transient
// failures are retried request by request there; a create whose answer was
// lost is found by listing again, never made twice. A read-only token (fork
// pull requests, or a job without pull-requests: write) is an Outcome,
// ReadOnly, not an error in the auto mode.
//
// Package githubtest, beside package github, fakes these endpoints for this
// package's tests and for end-to-end tests of the binary.
package prcomment
