// Package textsafe makes untrusted text (file names, YAML values, messages
// from the API) safe to place in a log line, a workflow command or Markdown:
// it cannot start a new line, a workflow command or a table cell, and in
// Markdown it cannot mention anyone, link or autolink. It also finds values
// that look like credentials (Secrets, LooksSecret) and masks them
// (MaskSecrets), for text that is shown or sent to add-mask.
package textsafe
