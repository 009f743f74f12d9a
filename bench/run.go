package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/procpeak"
)

// runResult is one finished subprocess.
type runResult struct {
	Start, End time.Time
	Wall       time.Duration
	Code       int
	MaxRSSKiB  int64
	Stdout     string
	Stderr     string
}

// run starts name with args and env (added to a minimal environment) and
// waits for it.
func run(ctx context.Context, dir string, env []string, name string, args ...string) (*runResult, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir()}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	res := &runResult{Start: time.Now()}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	peak := procpeak.Watch(cmd.Process.Pid, 5*time.Millisecond)
	err := cmd.Wait()
	polled := peak() >> 10
	res.End = time.Now()
	res.Wall = res.End.Sub(res.Start)
	res.Stdout, res.Stderr = stdout.String(), stderr.String()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.Code = ee.ExitCode()
	case err != nil:
		return nil, fmt.Errorf("run %s: %w", name, err)
	}
	res.MaxRSSKiB = polled
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && polled == 0 {
		res.MaxRSSKiB = ru.Maxrss // KiB on Linux; an upper bound (see procpeak.Watch)
	}
	return res, nil
}

// applyOut is the part of `apply --json` the bench reads.
type applyOut struct {
	Status   string   `json:"status"`
	Problems []string `json:"problems"`
	Builds   []struct {
		Name    string `json:"name"`
		BuildID string `json:"build_id"`
		State   string `json:"state"`
	} `json:"builds"`
}

// applyArgs are the command line of one apply run.
type applyArgs struct {
	dir          string
	url          string
	commit       string
	concurrency  int // 0: the binary's default
	wait         bool
	pollInterval time.Duration
}

// runApply runs `sandbox-templates apply --json` and decodes its result.
func runApply(ctx context.Context, bin string, a applyArgs) (*runResult, *applyOut, error) {
	args := []string{"apply", "--json", "--api-url", a.url, "--dir", a.dir, "--commit-sha", a.commit, "--repository", "bench/bench"}
	if a.concurrency > 0 {
		args = append(args, "--concurrency", fmt.Sprint(a.concurrency))
	}
	if a.wait {
		args = append(args, "--wait", "--poll-interval", a.pollInterval.String())
	}
	res, err := run(ctx, a.dir, []string{"MIOSA_API_KEY=" + benchKey}, bin, args...)
	if err != nil {
		return nil, nil, err
	}
	var out applyOut
	if err := json.Unmarshal([]byte(res.Stdout), &out); err != nil {
		return res, nil, fmt.Errorf("apply output: %w (exit %d, stderr %s)", err, res.Code, lastLines(res.Stderr, 5))
	}
	return res, &out, nil
}

// lastLines returns the last n lines of s, for error messages.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// actionRun is one run of the action beyond its workspace: what the runner
// and the workflow give it.
type actionRun struct {
	url         string   // the emulator's API URL (input api-url)
	commit      string   // GITHUB_SHA
	attempt     int      // GITHUB_RUN_ATTEMPT
	github      string   // GITHUB_API_URL; "" for none that answers, and then no token
	token       string   // input github-token
	concurrency int      // input concurrency; 0: the default
	extra       []string // more environment, e.g. INPUT_SCOPE=all
	// keep, when set, is handed the run's output and summary files before
	// they are removed.
	keep func(output, summary string)
}

// runAsAction runs the binary as the GitHub runner runs the action's step
// (INPUT_* variables, GITHUB_OUTPUT file, the event payload) for a push to
// main, the default branch, in apply mode, and returns the run and its
// status output.
func runAsAction(ctx context.Context, bin, dir string, a actionRun) (*runResult, string, error) {
	files, err := os.MkdirTemp("", "bench-action")
	if err != nil {
		return nil, "", err
	}
	defer os.RemoveAll(files)
	out, event := filepath.Join(files, "output"), filepath.Join(files, "event.json")
	payload := `{"repository":{"full_name":"bench/bench","default_branch":"main"}}`
	if err := os.WriteFile(event, []byte(payload), 0o644); err != nil {
		return nil, "", err
	}
	// No request may leave this machine: without a fake GitHub, its URL
	// is one where nothing answers.
	ghURL := cmp.Or(a.github, "http://127.0.0.1:1")
	env := []string{
		"GITHUB_ACTIONS=true",
		"GITHUB_WORKSPACE=" + dir,
		"GITHUB_OUTPUT=" + out,
		"GITHUB_STEP_SUMMARY=" + filepath.Join(files, "summary"),
		"GITHUB_EVENT_NAME=push",
		"GITHUB_EVENT_PATH=" + event,
		"GITHUB_REF=refs/heads/main",
		"GITHUB_SHA=" + a.commit,
		"GITHUB_REPOSITORY=bench/bench",
		"GITHUB_API_URL=" + ghURL,
		fmt.Sprintf("GITHUB_RUN_ATTEMPT=%d", a.attempt),
		"INPUT_API-KEY=" + benchKey,
		"INPUT_API-URL=" + a.url,
		"INPUT_MODE=apply",
		"INPUT_GITHUB-TOKEN=" + a.token,
	}
	if a.concurrency > 0 {
		env = append(env, fmt.Sprintf("INPUT_CONCURRENCY=%d", a.concurrency))
	}
	env = append(env, a.extra...)
	res, err := run(ctx, dir, env, bin)
	if err != nil {
		return nil, "", err
	}
	if a.keep != nil {
		a.keep(out, filepath.Join(files, "summary"))
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		return res, "", fmt.Errorf("action outputs: %w", err)
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(l, "status="); ok {
			return res, v, nil
		}
	}
	return res, "", fmt.Errorf("action outputs hold no status (exit %d): %s", res.Code, lastLines(res.Stdout+res.Stderr, 5))
}
