// Package plan decides, without any I/O, what a run must do: for every
// template in the repository one action (create, build, unchanged, invalid,
// refused, unreadable, and a description change) with a reason and its
// field-level changes, computed from the desired templates and the remote
// state that the run observed. Remote.SetBuilds is the one place that
// decides which build serves a template. The renderings (text table, JSON,
// Markdown) are internal/report's.
package plan
