// Package githubtest is a fake of the GitHub REST endpoints this project
// calls, served over plain HTTP on 127.0.0.1, for package tests and for
// end-to-end tests that run the built binary with GITHUB_API_URL set to URL.
// The API is served under a prefix chosen by New: none, as api.github.com
// lays it out, or GHESPrefix ("/api/v3"), as GitHub Enterprise Server does.
//
// It holds a small git model of one repository: commits (parents and a map
// of file paths to contents), branches, lightweight tags, releases and a
// default branch. Object ids are real git ids: blobs, trees and commits are
// hashed as git hashes them, so a listing's blob SHA is what
// `git hash-object` prints for the file, and commit SHAs are deterministic
// (the same calls give the same SHAs); CommitAs adds a commit under the SHA
// git gave it elsewhere, to serve a real repository's history
// (scripts/githubfake). It answers:
//
//   - GET /repos/{owner}/{repo}: the repository, with its default branch;
//   - GET .../commits/{ref}: a branch, a tag, a full or unique abbreviated
//     SHA; 422 "No commit found for SHA: REF" for anything else, 409 for a
//     repository with no commit;
//   - GET .../contents/{path}?ref=REF: a directory listing (name, path, sha,
//     size, type; at most 1000 entries, as GitHub) or a file; 404 "No commit
//     found for the ref REF" for an unknown ref, 404 "Not Found" for a path;
//   - GET .../git/trees/{ref}[?recursive=1]: ref a commit SHA, a branch, a
//     tag or a tree SHA;
//   - GET .../compare/{base}...{head}: status, ahead_by, behind_by, the
//     merge base and the commits head has and base lacks, oldest first,
//     paginated by page and per_page;
//   - GET .../releases/latest: the release marked latest, else the newest
//     one that is neither a draft nor a prerelease; 404 when none;
//   - a pull request's issue comments: list (paginated, with a Link header
//     whose URLs name the repository by id as GitHub's do), create (written
//     by the token's identity, see SetUser), update, delete;
//   - GET .../pulls/{n}: the head SetPullHead gave the pull request, its
//     state (open, or closed after ClosePull), 404 for one never set;
//   - deployments: list (newest first, filtered by sha, ref, task and
//     environment), create (422 "No ref found for: REF" for a ref the model
//     cannot resolve), and their statuses (list, newest first, and create; a
//     success marks the environment's earlier successful deployments
//     inactive, as auto_inactive does); AddDeployment and Deployments set
//     up and show them, Count counts any endpoint;
//   - GET /user: the token's identity (SetUser); 403 "Resource not
//     accessible by integration" for an installation token, GITHUB_TOKEN's
//     github-actions[bot] by default.
//
// It answers as GitHub does: 403 without a User-Agent, 401 "Bad credentials"
// for a token other than the one SetToken set, 401 "Requires
// authentication" for an anonymous write or GET /user, 403 "Resource not
// accessible by integration" for a write after SetReadOnly, 422 "Validation
// Failed" for an empty or too long comment, and every answer carries an
// X-GitHub-Request-Id. Faults script answers per endpoint (AddFault), and
// RefuseAll makes every request answer 401 or 403. It counts (Counts) and
// records (Requests) what it received.
package githubtest
