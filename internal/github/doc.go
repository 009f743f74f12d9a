// Package github makes every GitHub REST API call of this project, on
// google/go-github: what a ref points at, the blob SHAs of files at a ref,
// how two refs compare, the default branch, the latest release, a pull
// request's head commit, state and changed files, the token's own login, a pull request's issue
// comments (list, create, edit, delete), and deployments (list, create, and
// their statuses: the latest one's state, and a new one). No other package imports
// go-github; they see this package's types.
//
// Config.APIURL is GITHUB_API_URL as given (https://api.github.com, or
// https://HOST/api/v3 for GitHub Enterprise Server): it becomes go-github's
// base URL, with no path guessed. Plain http is refused unless the host is
// this machine.
//
// The token goes only to requests under that URL, as a bearer token, and no
// redirect is followed, so it never travels anywhere else. No error, and no
// formatted Config or Client, holds it: GitHub's text is redacted before it
// reaches an error. Pagination uses page numbers on the API URL, never the
// Link header's URLs.
//
// Every failure is an *Error, on one line: what was asked, the HTTP status,
// GitHub's message and X-GitHub-Request-Id. IsNotFound, IsForbidden and
// IsRateLimited classify them. Transient failures are retried a few times
// (see Client.do): 5xx answers and lost connections for requests that may be
// repeated, rate limits for every request, with a capped, doubling wait and
// a Retry-After honoured up to a minute; 401, 404 and 422 never are.
//
// Package githubtest is a fake GitHub REST server for tests, over real HTTP
// on 127.0.0.1.
package github
