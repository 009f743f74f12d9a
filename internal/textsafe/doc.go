// Package textsafe makes untrusted text (file names, YAML values, messages
// from the API) safe to place in a log line, a workflow command or a
// Markdown table: it cannot start a new line, a workflow command or a cell.
package textsafe
