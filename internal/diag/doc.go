// Package diag holds the problem type that every check in this project
// reports: a Diagnostic names a file, a line and a column, the field it
// concerns, what is wrong and the rule that found it; one without a file is
// a problem of the run itself. It also holds how a message words the user's
// input: a quoted value that stays on one line, a list of choices, a "did
// you mean" suggestion by edit distance, and a field path that a key cannot
// inject text into.
package diag
