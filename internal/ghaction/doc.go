// Package ghaction is the GitHub Actions adapter: it reads the action's
// inputs, masks the API key, runs the sync, and writes the step outputs,
// annotations and job summary. It is the only package that knows
// go-githubactions.
//
// With the preview input, a pull_request run also builds the pull request's
// changed templates as preview templates (a second run of the one pipeline,
// which takes the check's files and server answers: see buildPreviews), and
// its closed event deletes them; mode cleanup
// deletes the previews of closed pull requests (see cleanupPreviews).
// Package preview decides names, marks and what to delete.
package ghaction
