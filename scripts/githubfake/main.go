// Command githubfake serves the GitHub fake (internal/github/githubtest) on
// its own, on 127.0.0.1, for runs outside Go tests: scripts/e2e-act.sh
// gives it to act as GITHUB_API_URL, so that the action, run as users run
// it, asks a GitHub that knows the run's repository.
//
// It is seeded from a git repository's history: every commit of its
// branches and tags with the SHA, parents and files git gave it (so a
// comparison names the real merge base and the files a branch changed, and
// a commit read answers the real commit; messages and dates are the
// fake's), its branches and tags, and, given a pull_request event payload,
// the pull request: GET .../pulls/{n} answers its head, and its state is
// closed when the payload says so. The fake answers only for -repository
// and accepts only -token.
//
//	githubfake -repo DIR -repository OWNER/NAME -token TOKEN [-event FILE] [-default-branch NAME] [-report FILE]
//
// It prints "githubfake listening on URL" (URL is what GITHUB_API_URL
// takes) once it serves, and serves until SIGINT or SIGTERM. Then it writes
// -report: JSON with every request it received (endpoint, method, path,
// status) and the comments of the pull request, for a test to check what
// the run asked and wrote.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"github.com/miosa-dev/sandbox-templates-action/internal/github/githubtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// options are the command line's.
type options struct {
	repo, repository, token, event, defaultBranch, report string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("githubfake", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.repo, "repo", "", "the git repository whose history the fake serves (required)")
	fs.StringVar(&o.repository, "repository", "", "OWNER/NAME the fake answers for (required)")
	fs.StringVar(&o.token, "token", "", "the only token the fake accepts (required)")
	fs.StringVar(&o.event, "event", "", "a pull_request event payload: the pull request the fake knows")
	fs.StringVar(&o.defaultBranch, "default-branch", "", "the repository's default branch (default: the payload's, else main)")
	fs.StringVar(&o.report, "report", "", "write the requests received and the pull request's comments here at exit")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: githubfake -repo DIR -repository OWNER/NAME -token TOKEN [-event FILE] [-default-branch NAME] [-report FILE]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 || o.repo == "" || o.token == "" || !repoName.MatchString(o.repository) {
		fs.Usage()
		return 2
	}
	s := githubtest.New(githubtest.Options{Repository: o.repository})
	defer s.Close()
	s.SetToken(o.token)
	seeded, err := seed(ctx, s, o)
	if err != nil {
		fmt.Fprintf(stderr, "githubfake: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "githubfake: %s\n", seeded)
	fmt.Fprintf(stdout, "githubfake listening on %s\n", s.URL())
	<-ctx.Done()
	if o.report != "" {
		if err := writeReport(s, o.report, o.repository, seeded.pr); err != nil {
			fmt.Fprintf(stderr, "githubfake: %v\n", err)
			return 1
		}
	}
	n, refused := len(s.Requests()), s.Counts().Refused
	fmt.Fprintf(stdout, "githubfake: %d request(s), %d refused\n", n, refused)
	return 0
}

var repoName = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)

// seeded says what seed gave the fake.
type seeded struct {
	repository, defaultBranch string
	commits                   int
	branches, tags            []string
	pr                        int
	head                      string
	closed                    bool
}

func (s seeded) String() string {
	out := fmt.Sprintf("%s: %d commit(s), default branch %s, branches %s", s.repository, s.commits, s.defaultBranch, strings.Join(s.branches, " "))
	if len(s.tags) > 0 {
		out += ", tags " + strings.Join(s.tags, " ")
	}
	if s.pr > 0 {
		state := "open"
		if s.closed {
			state = "closed"
		}
		out += fmt.Sprintf("; pull request #%d at %s, %s", s.pr, s.head[:7], state)
	}
	return out
}

// event is what the fake reads of a pull_request event payload.
type event struct {
	Action      string `json:"action"`
	PullRequest *struct {
		Number int    `json:"number"`
		State  string `json:"state"`
		Head   struct {
			SHA string `json:"sha"`
		} `json:"head"`
		Base struct {
			SHA string `json:"sha"`
		} `json:"base"`
	} `json:"pull_request"`
	Repository struct {
		FullName      string `json:"full_name"`
		DefaultBranch string `json:"default_branch"`
	} `json:"repository"`
}

// seed gives s the history of o.repo and the pull request of o.event.
func seed(ctx context.Context, s *githubtest.Server, o options) (seeded, error) {
	out := seeded{repository: o.repository}
	var ev event
	if o.event != "" {
		raw, err := os.ReadFile(o.event)
		if err != nil {
			return out, err
		}
		if err := json.Unmarshal(raw, &ev); err != nil {
			return out, fmt.Errorf("%s: %w", o.event, err)
		}
		if ev.PullRequest == nil || ev.PullRequest.Number <= 0 {
			return out, fmt.Errorf("%s: not a pull_request event payload (no pull_request.number)", o.event)
		}
		if ev.Repository.FullName != "" && !strings.EqualFold(ev.Repository.FullName, o.repository) {
			return out, fmt.Errorf("%s: the payload's repository is %s, not %s", o.event, ev.Repository.FullName, o.repository)
		}
	}
	out.defaultBranch = o.defaultBranch
	if out.defaultBranch == "" {
		out.defaultBranch = ev.Repository.DefaultBranch
	}
	if out.defaultBranch == "" {
		out.defaultBranch = "main"
	}

	h, err := readHistory(ctx, o.repo)
	if err != nil {
		return out, err
	}
	for _, c := range h.commits {
		s.CommitAs(c.sha, c.parents, c.files)
	}
	out.commits = len(h.commits)
	for _, r := range h.branches {
		s.SetBranch(r.name, r.sha)
		out.branches = append(out.branches, r.name)
	}
	for _, r := range h.tags {
		s.Tag(r.name, r.sha)
		out.tags = append(out.tags, r.name)
	}
	if !h.has(h.branchSHA(out.defaultBranch)) {
		return out, fmt.Errorf("%s has no branch %s (the default branch)", o.repo, out.defaultBranch)
	}
	s.SetDefaultBranch(out.defaultBranch)

	if pr := ev.PullRequest; pr != nil {
		head, base := strings.ToLower(pr.Head.SHA), strings.ToLower(pr.Base.SHA)
		if !h.has(head) {
			return out, fmt.Errorf("%s: the pull request's head %q is not a commit of %s", o.event, pr.Head.SHA, o.repo)
		}
		if base != "" && !h.has(base) {
			return out, fmt.Errorf("%s: the pull request's base %q is not a commit of %s", o.event, pr.Base.SHA, o.repo)
		}
		s.SetPullHead(o.repository, pr.Number, head)
		out.pr, out.head = pr.Number, head
		if ev.Action == "closed" || pr.State == "closed" {
			s.ClosePull(o.repository, pr.Number)
			out.closed = true
		}
	}
	return out, nil
}

// history is a git repository's commits, parents first, and refs.
type history struct {
	commits        []gitCommit
	branches, tags []ref
	known          map[string]bool
}

type gitCommit struct {
	sha     string
	parents []string
	files   map[string]string
}

type ref struct{ name, sha string }

func (h history) has(sha string) bool { return sha != "" && h.known[sha] }

func (h history) branchSHA(name string) string {
	for _, r := range h.branches {
		if r.name == name {
			return r.sha
		}
	}
	return ""
}

// readHistory reads every commit reachable from dir's branches and tags,
// with the files of its tree (submodules left out; a symbolic link is a
// file holding its target, as git stores it).
func readHistory(ctx context.Context, dir string) (history, error) {
	h := history{known: map[string]bool{}}
	list, err := git(ctx, dir, nil, "rev-list", "--branches", "--tags", "--topo-order", "--reverse", "--parents")
	if err != nil {
		return h, err
	}
	type entry struct{ path, blob string }
	trees := map[string][]entry{}
	var want []string
	wanted := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(list)), "\n") {
		ids := strings.Fields(line)
		if len(ids) == 0 {
			continue
		}
		c := gitCommit{sha: ids[0], parents: ids[1:]}
		raw, err := git(ctx, dir, nil, "ls-tree", "-r", "-z", "--full-tree", c.sha)
		if err != nil {
			return h, err
		}
		for _, rec := range strings.Split(strings.TrimSuffix(string(raw), "\x00"), "\x00") {
			meta, path, ok := strings.Cut(rec, "\t")
			f := strings.Fields(meta)
			if !ok || len(f) != 3 || f[1] != "blob" {
				continue // a submodule (commit), or nothing
			}
			trees[c.sha] = append(trees[c.sha], entry{path, f[2]})
			if !wanted[f[2]] {
				wanted[f[2]] = true
				want = append(want, f[2])
			}
		}
		h.commits = append(h.commits, c)
		h.known[c.sha] = true
	}
	if len(h.commits) == 0 {
		return h, fmt.Errorf("%s has no commit on a branch or tag", dir)
	}
	blobs, err := catBlobs(ctx, dir, want)
	if err != nil {
		return h, err
	}
	for i := range h.commits {
		files := map[string]string{}
		for _, e := range trees[h.commits[i].sha] {
			files[e.path] = blobs[e.blob]
		}
		h.commits[i].files = files
	}
	for _, kind := range []string{"heads", "tags"} {
		raw, err := git(ctx, dir, nil, "for-each-ref", "--format=%(refname)%00%(objectname)%00%(*objectname)", "refs/"+kind)
		if err != nil {
			return h, err
		}
		for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
			f := strings.Split(line, "\x00")
			if len(f) != 3 {
				continue
			}
			sha := f[1]
			if f[2] != "" {
				sha = f[2] // an annotated tag: the commit it names
			}
			if !h.known[sha] {
				continue // a tag of a tree or a blob
			}
			r := ref{strings.TrimPrefix(f[0], "refs/"+kind+"/"), sha}
			if kind == "heads" {
				h.branches = append(h.branches, r)
			} else {
				h.tags = append(h.tags, r)
			}
		}
	}
	return h, nil
}

// catBlobs reads the contents of blobs, in one `git cat-file --batch`.
func catBlobs(ctx context.Context, dir string, blobs []string) (map[string]string, error) {
	out := map[string]string{}
	if len(blobs) == 0 {
		return out, nil
	}
	raw, err := git(ctx, dir, strings.NewReader(strings.Join(blobs, "\n")+"\n"), "cat-file", "--batch")
	if err != nil {
		return nil, err
	}
	r := bufio.NewReader(bytes.NewReader(raw))
	for _, want := range blobs {
		head, err := r.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("git cat-file: %w", err)
		}
		f := strings.Fields(head)
		if len(f) != 3 || f[0] != want || f[1] != "blob" {
			return nil, fmt.Errorf("git cat-file: %q for blob %s", strings.TrimSpace(head), want)
		}
		size, err := strconv.Atoi(f[2])
		if err != nil {
			return nil, fmt.Errorf("git cat-file: %q: %w", strings.TrimSpace(head), err)
		}
		body := make([]byte, size+1) // the contents and a newline
		if _, err := io.ReadFull(r, body); err != nil {
			return nil, fmt.Errorf("git cat-file: blob %s: %w", want, err)
		}
		out[want] = string(body[:size])
	}
	return out, nil
}

// git runs git in dir and returns its output.
func git(ctx context.Context, dir string, stdin io.Reader, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	cmd.Stdin = stdin
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("git %s: %s", args[0], msg)
	}
	return out, nil
}

// report is what -report holds.
type report struct {
	Requests []reportRequest `json:"requests"`
	Comments []reportComment `json:"comments"` // of the pull request, oldest first
}

type reportRequest struct {
	Op     githubtest.Op `json:"op"` // "" when it reached no endpoint
	Method string        `json:"method"`
	Path   string        `json:"path"`
	Status int           `json:"status"`
}

type reportComment struct {
	ID     int64  `json:"id"`
	Author string `json:"author"`
	Body   string `json:"body"`
}

// writeReport writes the requests s received and the comments of pull
// request pr (none for 0) to path.
func writeReport(s *githubtest.Server, path, repository string, pr int) error {
	rep := report{Requests: []reportRequest{}, Comments: []reportComment{}}
	for _, r := range s.Requests() {
		p := r.Path
		if r.RawQuery != "" {
			p += "?" + r.RawQuery
		}
		rep.Requests = append(rep.Requests, reportRequest{Op: r.Op, Method: r.Method, Path: p, Status: r.Status})
	}
	if pr > 0 {
		for _, c := range s.Comments(repository, pr) {
			rep.Comments = append(rep.Comments, reportComment{ID: c.ID, Author: c.User.Login, Body: c.Body})
		}
	}
	raw, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(raw, '\n'), 0o644); err != nil {
		return errors.New("report: " + err.Error())
	}
	return nil
}
