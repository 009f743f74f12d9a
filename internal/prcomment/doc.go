// Package prcomment keeps one sticky comment on a pull request: the first
// run creates it, every later run of the same workflow, job and
// comment-label edits it in place. Markdown writes its text from a run's
// result: a headline that leads with the counts, the link to the run, the
// problems, the changed templates with their diffs, and the unchanged ones
// collapsed into one list, as a list of parts (Previews among them) that
// report.Fit cuts to fit, unchanged templates first.
//
// The comment is found among the pull request's issue comments by a hidden
// first line, <!-- sandbox-templates-action: MARKER --> (see Marker: the
// workflow, the job and the label; without a label, the marker earlier
// versions wrote), written by github-actions[bot] (what GITHUB_TOKEN
// writes) or by the token's own identity when GitHub names it (GET /user;
// it answers 403 to installation tokens, GITHUB_TOKEN's included, and then
// only github-actions[bot] counts): a comment anyone else wrote, another
// app's bot or a member, is never edited, whatever it says. Nothing learnt is kept from one run to
// the next. A comment whose edit GitHub refuses (403, 404, 422) is left
// alone and the next one is tried, or a new one posted.
//
// Runs of one job race when pushes follow each other. A hidden second line,
// <!-- sandbox-templates head: SHA -->, records the pull request head the
// text is for (Config.HeadSHA), and before writing, Post reads the pull
// request's head now (GET .../pulls/{n}): a run whose head is no longer the
// pull request's writes nothing (Outcome Stale), leaving the comment to the
// run of the newer push. Runs that each created the comment leave copies:
// the next run keeps the oldest, edits it, and deletes the newer ones. The
// token's login and the pull request's head are each asked at most once a
// run, and only when needed: an unchanged comment costs one list.
//
// Markdown fits its text in Config.Room. Any longer text is cut on a line
// boundary to fit GitHub's limit of 65,536 characters, closing an open
// code fence, with a last line pointing at the job summary.
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
