// Package diag holds the positioned problem type that every check in this
// project reports: a Diagnostic names a file, a line and a column, the field it
// concerns, what is wrong and the rule that found it.
package diag
