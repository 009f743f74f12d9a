// Package plan decides, without any I/O, what a sync must do: for every
// template in the repository one action (create, build, unchanged, invalid)
// with a reason, computed from the desired templates and the remote state.
// It also renders a plan as a text table, JSON and Markdown.
package plan
