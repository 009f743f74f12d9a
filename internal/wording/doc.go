// Package wording holds how this project's messages repeat a user's value
// and suggest a fix: quoting that keeps a message on one line, lists of
// choices, and "did you mean" suggestions by edit distance.
package wording
