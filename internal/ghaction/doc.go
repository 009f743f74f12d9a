// Package ghaction is the GitHub Actions adapter: it reads the action's
// inputs, masks the API key, runs the sync, and writes the step outputs,
// annotations and job summary. It is the only package that knows
// go-githubactions.
package ghaction
