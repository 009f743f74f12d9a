package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	repository = "acme/fixture"
	token      = "ghs_fake_test"
)

// gitRepo makes a repository: main with two commits, the branch change off
// the first with a third that changes t/a.yaml and adds an executable
// script, and a tag; it returns the directory and the SHAs of main's
// first commit, main and change.
func gitRepo(t *testing.T) (dir, root, main, change string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	dir = t.TempDir()
	sh := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.invalid"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	write := func(name, content string, mode os.FileMode) {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	sh("init", "-q", "-b", "main")
	write("t/a.yaml", "a: 1\n", 0o644)
	write("t/b.yaml", "b: 1\n", 0o644)
	sh("add", "-A")
	sh("commit", "-qm", "one")
	root = sh("rev-parse", "HEAD")
	sh("tag", "-a", "v1", "-m", "v1")
	write("t/b.yaml", "b: 2\n", 0o644)
	sh("commit", "-qam", "two")
	main = sh("rev-parse", "HEAD")
	sh("checkout", "-q", "-b", "change", root)
	write("t/a.yaml", "a: 2\n", 0o644)
	write("run.sh", "#!/bin/sh\n", 0o755)
	sh("add", "-A")
	sh("commit", "-qm", "three")
	change = sh("rev-parse", "HEAD")
	return dir, root, main, change
}

// payload writes a pull_request event payload of pull request 8 from
// change to main.
func payload(t *testing.T, action, head, base string) string {
	t.Helper()
	ev := map[string]any{"action": action, "number": 8,
		"pull_request": map[string]any{"number": 8, "state": map[bool]string{true: "closed", false: "open"}[action == "closed"],
			"head": map[string]any{"sha": head, "ref": "change"}, "base": map[string]any{"sha": base, "ref": "main"}},
		"repository": map[string]any{"full_name": repository, "default_branch": "main"}}
	raw, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// serve runs the command until the test has used it; it returns the URL it
// printed, and a function that stops it and returns its exit code and
// output.
func serve(t *testing.T, args ...string) (string, func() (int, string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var stderr strings.Builder
	done := make(chan int, 1)
	go func() {
		code := run(ctx, args, pw, &stderr)
		pw.Close()
		done <- code
	}()
	lines := make(chan string)
	var out strings.Builder
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			out.WriteString(sc.Text() + "\n")
			if u, ok := strings.CutPrefix(sc.Text(), "githubfake listening on "); ok {
				lines <- u
			}
		}
		close(lines)
	}()
	stop := func() (int, string) {
		cancel()
		code := <-done
		for range lines {
		}
		return code, out.String() + stderr.String()
	}
	select {
	case u, ok := <-lines:
		if !ok {
			code, text := stop()
			t.Fatalf("exit %d before it listened:\n%s", code, text)
		}
		return u, stop
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("it did not say where it listens")
	}
	return "", nil
}

func get(t *testing.T, url, tok string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", "githubfake-test")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// The fake answers with the repository's real commits: the comparison of a
// pull request's base and head names the real merge base and the one file
// the branch changed, the pull request's head is the payload's, and the
// report holds every request.
func TestServesTheRepositoryAndThePullRequest(t *testing.T) {
	dir, root, main, change := gitRepo(t)
	rep := filepath.Join(t.TempDir(), "report.json")
	url, stop := serve(t, "-repo", dir, "-repository", repository, "-token", token, "-event", payload(t, "opened", change, main), "-report", rep)
	api := url + "/repos/" + repository

	code, cmp := get(t, api+"/compare/"+main+"..."+change, token)
	files, _ := cmp["files"].([]any)
	mb, _ := cmp["merge_base_commit"].(map[string]any)
	if code != 200 || mb["sha"] != root || cmp["status"] != "diverged" || len(files) != 2 {
		t.Fatalf("compare: %d %v; want the merge base %s and 2 files", code, cmp, root)
	}
	var names []string
	for _, f := range files {
		names = append(names, f.(map[string]any)["filename"].(string))
	}
	if strings.Join(names, " ") != "run.sh t/a.yaml" {
		t.Errorf("compare lists %v, want run.sh and t/a.yaml", names)
	}
	if code, pr := get(t, api+"/pulls/8", token); code != 200 || pr["state"] != "open" || pr["head"].(map[string]any)["sha"] != change {
		t.Errorf("pulls/8: %d %v; want open at %s", code, pr, change)
	}
	if code, c := get(t, api+"/commits/v1", token); code != 200 || c["sha"] != root {
		t.Errorf("commits/v1 (an annotated tag): %d %v; want %s", code, c, root)
	}
	if code, r := get(t, api, token); code != 200 || r["default_branch"] != "main" {
		t.Errorf("the repository: %d %v", code, r)
	}
	if code, _ := get(t, api+"/pulls/8", "another"); code != 401 {
		t.Errorf("another token: %d, want 401", code)
	}
	if code, _ := get(t, url+"/repos/acme/other/commits/main", token); code != 404 {
		t.Errorf("another repository: %d, want 404", code)
	}

	exit, out := stop()
	if exit != 0 || !strings.Contains(out, "acme/fixture: 3 commit(s), default branch main, branches change main, tags v1; pull request #8 at "+change[:7]+", open") {
		t.Fatalf("exit %d:\n%s", exit, out)
	}
	raw, err := os.ReadFile(rep)
	if err != nil {
		t.Fatal(err)
	}
	var got report
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Requests) != 6 || got.Requests[0].Op != "compare" || got.Requests[0].Status != 200 || got.Requests[4].Status != 401 || got.Requests[5].Status != 404 {
		t.Errorf("report: %s", raw)
	}
}

// A closed event's pull request is closed; a payload that names commits
// the repository does not have, or another repository, is refused.
func TestPayloads(t *testing.T) {
	dir, _, main, change := gitRepo(t)
	url, stop := serve(t, "-repo", dir, "-repository", repository, "-token", token, "-event", payload(t, "closed", change, main))
	if code, pr := get(t, url+"/repos/"+repository+"/pulls/8", token); code != 200 || pr["state"] != "closed" {
		t.Errorf("pulls/8: %d %v; want closed", code, pr)
	}
	if code, _ := stop(); code != 0 {
		t.Errorf("exit %d", code)
	}

	unknown := strings.Repeat("0", 40)
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown head", []string{"-event", payload(t, "opened", unknown, main)}, "the pull request's head \"" + unknown + "\" is not a commit"},
		{"unknown base", []string{"-event", payload(t, "opened", change, unknown)}, "the pull request's base"},
		{"another repository", []string{"-repository", "acme/other", "-event", payload(t, "opened", change, main)}, "the payload's repository is acme/fixture, not acme/other"},
		{"no default branch", []string{"-default-branch", "trunk"}, "has no branch trunk"},
		{"not a repository", []string{"-repo", t.TempDir()}, "git rev-list"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"-repo", dir, "-repository", repository, "-token", token}, tt.args...)
			var stdout, stderr strings.Builder
			if code := run(context.Background(), args, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("exit %d, %q; want 1 and %q", code, stderr.String(), tt.want)
			}
		})
	}
	var stderr strings.Builder
	if code := run(context.Background(), []string{"-repo", dir, "-token", token}, io.Discard, &stderr); code != 2 {
		t.Errorf("without -repository: exit %d, want 2", code)
	}
}
