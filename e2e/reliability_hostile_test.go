package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
)

// TestReliabilityHostileServer: huge bodies, malformed JSON, unknown states,
// the key echoed back in an error, redirects to another host, and ids that
// hold newlines and "::". The binary must not crash, leak the key, follow a
// redirect, or let server text write outputs or workflow commands; a clean
// re-run afterwards converges with no duplicates.
func TestReliabilityHostileServer(t *testing.T) {
	t.Parallel()
	// elsewhere is the other host a redirect points to; it counts what
	// reaches it and whether an Authorization header came along.
	var elsewhereHits, elsewhereAuth atomic.Int64
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhereHits.Add(1)
		if r.Header.Get("Authorization") != "" {
			elsewhereAuth.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`[]`))
	}))
	t.Cleanup(elsewhere.Close)

	cases := []struct {
		name  string
		wait  bool
		rules []emulator.Rule
		// fails says the first run must fail (status failed or timeout);
		// otherwise it may succeed or fail.
		fails bool
	}{
		{name: "huge list body", rules: []emulator.Rule{{Endpoint: "list", Kind: emulator.FaultHugeBody}}, fails: true},
		{name: "huge body after a committed create", rules: []emulator.Rule{{Endpoint: "create", Kind: emulator.FaultHugeBody, Count: 2}}, fails: true},
		{name: "huge build status bodies", wait: true, rules: []emulator.Rule{{Endpoint: "get_build", Kind: emulator.FaultHugeBody, Size: 2 << 20}}},
		{name: "malformed list", rules: []emulator.Rule{{Endpoint: "list", Kind: emulator.FaultMalformedJSON}}, fails: true},
		{name: "malformed create after commit", rules: []emulator.Rule{{Endpoint: "create", Kind: emulator.FaultMalformedJSON, Count: 2}}, fails: true},
		{name: "malformed everything at random", wait: true, rules: []emulator.Rule{{Endpoint: "*", Kind: emulator.FaultMalformedJSON, Rate: 0.3}}},
		{name: "malformed schema and validate", rules: []emulator.Rule{
			{Endpoint: "schema", Kind: emulator.FaultMalformedJSON}, {Endpoint: "validate", Kind: emulator.FaultMalformedJSON},
		}},
		{name: "unknown build states", wait: true, rules: []emulator.Rule{{Endpoint: "*", Kind: emulator.FaultUnknownState, State: "::error::teleporting\n::add-mask::x", Count: 8}}},
		{name: "key echoed in errors", rules: []emulator.Rule{{Endpoint: "*", Kind: emulator.FaultEchoAuth, Rate: 0.5, Status: 503}}},
		{name: "key echoed in a 400", rules: []emulator.Rule{{Endpoint: "create", Kind: emulator.FaultEchoAuth}}, fails: true},
		{name: "redirect to another host", rules: []emulator.Rule{{Endpoint: "list", Kind: emulator.FaultRedirect, Location: elsewhere.URL + "/api/v1/sandbox-templates"}}, fails: true},
		{name: "redirect of a create", rules: []emulator.Rule{{Endpoint: "create", Kind: emulator.FaultRedirect, Location: elsewhere.URL + "/api/v1/sandbox-templates"}}, fails: true},
		{name: "hostile ids", wait: true, rules: []emulator.Rule{{Endpoint: "*", Kind: emulator.FaultHostileIDs}}},
		{name: "hostile ids with a heredoc delimiter", rules: []emulator.Rule{{Endpoint: "create", Kind: emulator.FaultHostileIDs, ID: "x\nstatus=success\nEOF\n::set-output name=status::success\n%0A::error::hostile-id"}}},
	}
	for _, tc := range cases {
		for _, seed := range seeds(t) {
			t.Run(fmt.Sprintf("%s/seed=%d", tc.name, seed), func(t *testing.T) {
				t.Parallel()
				c := newCase(t, "hostile server", seed)
				e := c.emulator(func(o *emulator.Options) {
					o.Faults.Rules = tc.rules
					if tc.wait {
						// Builds take a moment, so the run reports their
						// state changes while it waits.
						o.BuildDuration = 1500 * time.Millisecond
					}
				})
				w := newWorkspace(t, fiveTemplates)
				in := map[string]string{"timeout": "8s", "wait": fmt.Sprint(tc.wait), "poll-interval": "1s"}
				before := elsewhereHits.Load()
				s := c.run(w, withSHA(shaA), c.inputs(e, in))
				status := s.Outputs["status"]
				t.Logf("exit %d status %s; faults %v\n%s", s.Code, status, e.Counters().FaultsByKind, errorLines(s))
				if !slices.Contains([]string{"success", "failed", "timeout"}, status) || (status == "success") != (s.Code == 0) {
					t.Errorf("exit %d status %q\n%s", s.Code, status, s.log())
				}
				if tc.fails && status == "success" {
					t.Errorf("the run succeeded through %s", tc.name)
				}
				if status != "success" && errorLines(s) == "" {
					t.Errorf("status %s without an ::error:: line saying why\n%s", status, s.log())
				}
				if hits := elsewhereHits.Load() - before; hits > 0 {
					t.Errorf("the redirect was followed: %d request(s) reached the other host, %d with Authorization", hits, elsewhereAuth.Load())
				}
				if strings.HasPrefix(tc.name, "redirect") && !strings.Contains(errorLines(s), "redirect") {
					t.Errorf("the error does not say it was a redirect:\n%s", errorLines(s))
				}
				if strings.HasPrefix(tc.name, "huge") && status != "success" && !strings.Contains(s.Stdout, "larger than") {
					t.Errorf("the log does not say the body was too large:\n%s", s.Stdout)
				}
				if !strings.HasPrefix(tc.name, "hostile ids") {
					c.convergeAfter(e, w, nil)
					return
				}
				// Hostile ids: the outputs hold them intact, as JSON; a
				// run at a new commit plans with them (reasons name the
				// builds) and changes nothing.
				diffs := matchesState(t, e, s)
				next := c.run(w, withSHA(shaB), c.inputs(e, in))
				if next.Code != 0 || next.Outputs["has-changes"] != "false" {
					diffs = append(diffs, fmt.Sprintf("run at a new commit: exit %d has-changes %q", next.Code, next.Outputs["has-changes"]))
				}
				for _, d := range diffs {
					t.Errorf("hostile ids: %s", d)
				}
				dupT, dupB := c.remote(e, fiveNames, 1)
				c.fig.ConvergeChecked, c.fig.Converged = true, s.Code == 0 && dupT == 0 && dupB == 0 && len(diffs) == 0
			})
		}
	}
	if n := elsewhereAuth.Load(); n > 0 {
		t.Errorf("the Authorization header reached another host %d time(s)", n)
	}
}

// TestReliabilityHostileRepository runs every bad-input case of the
// validation suite (testdata/bad) and the file-system hazards through the
// action with a key, as a push: each fails with positioned errors and not
// one API write.
func TestReliabilityHostileRepository(t *testing.T) {
	t.Parallel()
	type repoCase struct {
		name  string
		setup func(t *testing.T, root string)
		// want are diagnostics ("path:line:col: ...") the log must show;
		// the first ten, GitHub's limit, must also be annotations.
		want []string
	}
	var cases []repoCase
	dirs, err := filepath.Glob(filepath.Join("..", "testdata", "bad", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range dirs {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			continue
		}
		golden, err := os.ReadFile(dir + ".golden")
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, repoCase{
			name:  filepath.Base(dir),
			setup: func(t *testing.T, root string) { copyTree(t, dir, root) },
			want:  strings.Split(strings.TrimSpace(string(golden)), "\n"),
		})
	}
	if len(cases) < 35 {
		t.Fatalf("found %d bad cases in testdata/bad", len(cases))
	}
	good := "build_spec:\n  from: node:22\n"
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.yaml"), []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	file := func(name, body string) func(*testing.T, string) {
		return func(t *testing.T, root string) {
			p := filepath.Join(root, "sandbox-templates", name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				t.Skipf("cannot create %q here: %v", name, err)
			}
		}
	}
	link := func(target, name string) func(*testing.T, string) {
		return func(t *testing.T, root string) {
			if err := os.MkdirAll(filepath.Join(root, "sandbox-templates"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, filepath.Join(root, "sandbox-templates", name)); err != nil {
				t.Skipf("symlinks: %v", err)
			}
		}
	}
	cases = append(cases,
		repoCase{"symlink out of the repository", link(filepath.Join(outside, "secret.yaml"), "secret.yaml"),
			[]string{"sandbox-templates/secret.yaml: "}},
		repoCase{"symlink to /dev/zero", link("/dev/zero", "zero.yaml"), []string{"sandbox-templates/zero.yaml: "}},
		repoCase{"fifo", func(t *testing.T, root string) {
			file("ok.yaml", good)(t, root)
			if err := syscall.Mkfifo(filepath.Join(root, "sandbox-templates", "pipe.yaml"), 0o644); err != nil {
				t.Skipf("mkfifo: %v", err)
			}
		}, []string{"sandbox-templates/pipe.yaml: "}},
		repoCase{"file name with a newline and a command", file("a\n::error::b.yaml", good), []string{`"sandbox-templates/a\n::error::b.yaml"`}},
		repoCase{"file name with ::", file("::warning::x.yaml", good), []string{`"sandbox-templates/::warning::x.yaml"`}},
		repoCase{"file over 1 MiB", file("big.yaml", good+"#"+strings.Repeat("x", 2<<20)+"\n"), []string{"sandbox-templates/big.yaml: "}},
		repoCase{"too many files", func(t *testing.T, root string) {
			file("t00000.yaml", good)(t, root)
			for i := 1; i <= spec.DefaultMaxFiles; i++ {
				if err := os.WriteFile(filepath.Join(root, "sandbox-templates", fmt.Sprintf("t%05d.yaml", i)), []byte(good), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}, []string{fmt.Sprintf("%d files", spec.DefaultMaxFiles+1)}},
	)

	e := newCase(t, "hostile repository (API writes)", 1).emulator(nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newCase(t, "hostile repository", 1)
			w := &workspace{dir: t.TempDir()}
			tc.setup(t, w.dir)
			start := time.Now()
			s := c.run(w, withSHA(shaA), c.inputs(e, map[string]string{"timeout": "20s"}))
			if s.Code != 1 || s.Outputs["status"] != "failed" {
				t.Errorf("exit %d status %q, want 1 and failed\n%s", s.Code, s.Outputs["status"], s.log())
			}
			for i, want := range tc.want {
				if !strings.Contains(s.Stdout, want) {
					t.Errorf("the log does not show %q:\n%s", want, s.Stdout)
				}
				if path, line, ok := position(want); ok && i < 10 && !annotated(s.Stdout, path, line) {
					t.Errorf("no annotation at %s line %s:\n%s", path, line, s.Stdout)
				}
			}
			if !strings.Contains(s.Stdout, "::error") {
				t.Errorf("no error annotation:\n%s", s.Stdout)
			}
			if d := time.Since(start); d > 15*time.Second {
				t.Errorf("the run took %s", d)
			}
		})
	}
	t.Cleanup(func() {
		cnt := e.Counters()
		if cnt.Writes != 0 || cnt.Requests["create"] != 0 || cnt.Requests["create_build"] != 0 || cnt.Requests["delete"] != 0 {
			t.Errorf("bad repositories led to API writes: writes %d, requests %v", cnt.Writes, cnt.Requests)
		}
		t.Logf("%d hostile repositories, API requests %v", len(cases), cnt.Requests)
	})
}

// annotated reports whether the log has an error or warning annotation on
// the file's line.
func annotated(log, path, line string) bool {
	for _, l := range strings.Split(log, "\n") {
		if (strings.HasPrefix(l, "::error ") || strings.HasPrefix(l, "::warning ")) &&
			strings.Contains(l, "file="+path+",line="+line+",") {
			return true
		}
	}
	return false
}

// position reads "path:line:col: ..." from a diagnostic line; ok is false
// for diagnostics without a line.
func position(diag string) (path, line string, ok bool) {
	parts := strings.SplitN(diag, ":", 4)
	if len(parts) < 4 || parts[1] == "" || strings.HasPrefix(diag, `"`) {
		return "", "", false
	}
	for _, r := range parts[1] {
		if r < '0' || r > '9' {
			return "", "", false
		}
	}
	return parts[0], parts[1], parts[1] != "0"
}

// copyTree copies the directory src into dst (files and directories only).
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
