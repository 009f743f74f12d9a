// Package e2e runs the built binary the way the GitHub runner runs a Docker
// action (INPUT_* variables with their hyphens, GITHUB_OUTPUT and
// GITHUB_STEP_SUMMARY files, the workspace directory) against the emulator
// over real HTTP, and asserts on the emulator's own counters.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
	_ "github.com/miosa-dev/sandbox-templates-action/internal/golden" // -update
)

// bin is the binary under test, built once by TestMain.
var bin string

func TestMain(m *testing.M) {
	flag.Parse()
	raiseParallel()
	dir, err := os.MkdirTemp("", "sandbox-templates-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "sandbox-templates")
	build := exec.Command("go", "build", "-o", bin, "..")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build binary:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// emu is an emulator served over real HTTP for one test.
type emu struct {
	*emulator.Server
	URL string // API base URL, ending in /api/v1
}

func startEmulator(t *testing.T, configure func(*emulator.Options)) *emu {
	t.Helper()
	opts := emulator.NewOptions()
	opts.BuildDuration = 0
	if configure != nil {
		configure(&opts)
	}
	s := emulator.New(opts)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &emu{Server: s, URL: srv.URL + "/api/v1"}
}

// workspace is a repository checkout with template files.
type workspace struct {
	dir string
	// mirror is a fake GitHub whose default branch holds the workspace as
	// each run finds it, made at the first run that asks for it.
	mirror   *gitHub
	mirrorMu sync.Mutex
}

func newWorkspace(t *testing.T, files map[string]string) *workspace {
	t.Helper()
	w := &workspace{dir: t.TempDir()}
	for name, body := range files {
		w.write(t, name, body)
	}
	return w
}

func (w *workspace) write(t *testing.T, name, body string) {
	t.Helper()
	p := filepath.Join(w.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// step is one run of the action.
type step struct {
	Code    int
	Stdout  string
	Stderr  string
	Outputs map[string]string
	Summary string
	Killed  bool // ended by a signal; Outputs are not read
	// OutputProblems are the GITHUB_OUTPUT lines that could not be read
	// (each also fails the test).
	OutputProblems []string
	rawOut         string
}

// runAction runs the binary as the runner runs a Docker action step.
func runAction(t *testing.T, w *workspace, env map[string]string, inputs map[string]string) step {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p := startAction(ctx, t, w, env, inputs)
	return p.wait(t)
}

// process is a started action step.
type process struct {
	cmd              *exec.Cmd
	stdout, stderr   *bytes.Buffer
	outFile, sumFile string
}

// startAction starts the binary as the runner starts a Docker action step,
// with the runner's environment, action.yml's defaults and the given inputs.
func startAction(ctx context.Context, t *testing.T, w *workspace, env map[string]string, inputs map[string]string) *process {
	t.Helper()
	files := t.TempDir()
	p := &process{outFile: filepath.Join(files, "set_output"), sumFile: filepath.Join(files, "step_summary"),
		stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
	for _, f := range []string{p.outFile, p.sumFile} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	vars := map[string]string{
		"GITHUB_ACTIONS":      "true",
		"GITHUB_WORKSPACE":    w.dir,
		"GITHUB_OUTPUT":       p.outFile,
		"GITHUB_STEP_SUMMARY": p.sumFile,
		"GITHUB_EVENT_NAME":   "push",
		"GITHUB_REF":          "refs/heads/main",
		// No request may leave this machine: a test that talks to GitHub
		// names its fake.
		"GITHUB_API_URL":     "http://127.0.0.1:1",
		"GITHUB_SHA":         "1111111111111111111111111111111111111111",
		"GITHUB_REPOSITORY":  "acme/platform",
		"GITHUB_RUN_ATTEMPT": "1",
		"HOME":               files,
		"PATH":               os.Getenv("PATH"),
	}
	// The runner passes every input, with action.yml's default when the
	// workflow gives none.
	for name, in := range actionDefaults() {
		vars["INPUT_"+strings.ToUpper(name)] = in
	}
	// Commit order: unless the test names a GitHub of its own (or a
	// token), a fake GitHub whose default branch holds the workspace as it
	// is now, so that the run is the head's own.
	_, ownGitHub := env["GITHUB_API_URL"]
	_, ownToken := inputs["github-token"]
	if !ownGitHub && !ownToken {
		g := w.mirrored(t)
		vars["GITHUB_API_URL"], vars["INPUT_GITHUB-TOKEN"] = g.URL(), ghToken
	}
	for k, v := range env {
		vars[k] = v
	}
	for k, v := range inputs {
		vars["INPUT_"+strings.ToUpper(k)] = v
	}
	p.cmd = exec.CommandContext(ctx, bin)
	p.cmd.Dir = w.dir
	for k, v := range vars {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start action: %v", err)
	}
	return p
}

// wait waits for the step to end and collects what it wrote.
func (p *process) wait(t *testing.T) step {
	t.Helper()
	err := p.cmd.Wait()
	s := step{Stdout: p.stdout.String(), Stderr: p.stderr.String()}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run action: %v", err)
		}
		s.Code = ee.ExitCode()
	}
	raw, _ := os.ReadFile(p.outFile)
	sum, _ := os.ReadFile(p.sumFile)
	s.rawOut, s.Summary = string(raw), string(sum)
	if s.Code == -1 {
		// Killed by a signal: it may have died in the middle of a line.
		s.Killed = true
		return s
	}
	s.Outputs, s.OutputProblems = readOutputs(s.rawOut)
	for _, p := range s.OutputProblems {
		t.Error(p)
	}
	return s
}

// actionDefaults reads the inputs' defaults from action.yml once.
var actionDefaults = sync.OnceValue(func() map[string]string {
	raw, err := os.ReadFile("../action.yml")
	if err != nil {
		panic(err)
	}
	var a actionYAML
	if err := yaml.Unmarshal(raw, &a); err != nil {
		panic(err)
	}
	out := map[string]string{}
	for name, in := range a.Inputs {
		// The runner evaluates an expression default such as
		// ${{ github.token }}; here there is no such token.
		if strings.Contains(in.Default, "${{") {
			in.Default = ""
		}
		out[name] = in.Default
	}
	return out
})

// readOutputs reads a GITHUB_OUTPUT file in both of its forms: name=value
// lines and name<<DELIMITER blocks. It returns the outputs and a problem for
// each line that is neither form and each output written twice.
func readOutputs(raw string) (map[string]string, []string) {
	out := map[string]string{}
	var problems []string
	sc := bufio.NewScanner(strings.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		line := sc.Text()
		if name, delim, ok := strings.Cut(line, "<<"); ok && !strings.Contains(name, "=") {
			var val []string
			for sc.Scan() && sc.Text() != delim {
				val = append(val, sc.Text())
			}
			out[name] = strings.Join(val, "\n")
			continue
		}
		name, val, ok := strings.Cut(line, "=")
		if !ok {
			problems = append(problems, fmt.Sprintf("GITHUB_OUTPUT line %q is neither name=value nor a heredoc", line))
			continue
		}
		if _, dup := out[name]; dup {
			problems = append(problems, fmt.Sprintf("output %q written twice", name))
		}
		out[name] = val
	}
	return out, problems
}

func (s step) json(t *testing.T, name string, v any) {
	t.Helper()
	raw, ok := s.Outputs[name]
	if !ok {
		t.Fatalf("output %q missing; outputs: %v", name, s.Outputs)
	}
	if err := json.Unmarshal([]byte(raw), v); err != nil {
		t.Fatalf("output %q = %q is not JSON: %v", name, raw, err)
	}
}

func (s step) log() string { return s.Stdout + s.Stderr }

// uuidRE finds UUIDs, which golden files replace with stable placeholders.
var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// scrub replaces each distinct UUID with <id-N> in order of appearance and
// durations with <dur>, so golden files do not depend on ids or timing.
func scrub(s string) string {
	seen := map[string]string{}
	s = uuidRE.ReplaceAllStringFunc(s, func(id string) string {
		if r, ok := seen[id]; ok {
			return r
		}
		seen[id] = fmt.Sprintf("<id-%d>", len(seen)+1)
		return seen[id]
	})
	s = regexp.MustCompile(`127\.0\.0\.1:\d+`).ReplaceAllString(s, "127.0.0.1:<port>")
	return regexp.MustCompile(`\b\d+(\.\d+)?(ms|µs|s)\b`).ReplaceAllString(s, "<dur>")
}
