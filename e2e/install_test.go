package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// versionShape is what `version` prints: a tag, a pseudo-version (with
// +dirty from a checkout with changes), or devel with the VCS revision.
var versionShape = regexp.MustCompile(`^(v\d+\.\d+\.\d+\S*|devel(\+[0-9a-f]{1,12}(\.dirty)?)?)\n$`)

// `go install .../cmd/sandbox-templates@VERSION` installs a binary named
// sandbox-templates whose `version` prints the module version (or, for a
// build of a checkout, devel and the revision); a stamped version wins.
func TestInstallNamesTheBinary(t *testing.T) {
	t.Parallel()
	gobin := t.TempDir()
	install := exec.Command("go", "install", "./cmd/sandbox-templates")
	install.Dir = ".."
	install.Env = append(os.Environ(), "GOBIN="+gobin)
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("go install: %v\n%s", err, out)
	}
	installed := filepath.Join(gobin, "sandbox-templates")
	out, err := exec.Command(installed, "version").Output()
	if err != nil || !versionShape.Match(out) {
		t.Errorf("sandbox-templates version: %q, %v; want a version or devel+REVISION", out, err)
	}
	help, _ := exec.Command(installed, "help").Output()
	if !strings.HasPrefix(string(help), "Usage: sandbox-templates <command>") {
		t.Errorf("help of the installed binary:\n%s", help)
	}

	stamped := filepath.Join(t.TempDir(), "stamped")
	build := exec.Command("go", "build", "-ldflags", "-X main.version=v9.8.7", "-o", stamped, "./cmd/sandbox-templates")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if out, err := exec.Command(stamped, "version").Output(); err != nil || string(out) != "v9.8.7\n" {
		t.Errorf("stamped build prints %q, %v; want v9.8.7", out, err)
	}
	// The action's binary, built from the module root, is the same program.
	if out, err := exec.Command(bin, "version").Output(); err != nil || !versionShape.Match(out) {
		t.Errorf("the module root's build prints %q, %v", out, err)
	}
}

// The pre-commit hook runs a binary that `go install ./...` (what pre-commit
// runs for a golang hook) installs, under the name cmd/sandbox-templates
// gives it; no other main package of the module installs under that name.
func TestPreCommitHookRunsTheInstalledBinary(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../.pre-commit-hooks.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var hooks []struct {
		ID, Language, Entry, Files string
	}
	if err := yaml.Unmarshal(raw, &hooks); err != nil || len(hooks) == 0 {
		t.Fatalf("hooks: %v, %d", err, len(hooks))
	}
	list := exec.Command("go", "list", "-f", `{{if eq .Name "main"}}{{.ImportPath}} {{.Target}}{{end}}`, "./...")
	list.Dir = ".."
	out, err := list.Output()
	if err != nil {
		t.Fatal(err)
	}
	installs := map[string][]string{} // binary name -> packages
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, target, _ := strings.Cut(line, " ")
		name := strings.TrimSuffix(filepath.Base(target), ".exe")
		installs[name] = append(installs[name], pkg)
	}
	const cmdPkg = "github.com/miosa-dev/sandbox-templates-action/cmd/sandbox-templates"
	for _, h := range hooks {
		name := strings.Fields(h.Entry)[0]
		if h.Language != "golang" || !slices.Equal(installs[name], []string{cmdPkg}) {
			t.Errorf("hook %s runs %q, which `go install ./...` installs from %v; want %s alone", h.ID, name, installs[name], cmdPkg)
		}
	}
	// The hook's command, run where pre-commit runs it (the repository's
	// root), passes on good files and fails on a bad one.
	w := newWorkspace(t, threeTemplates)
	run := func() (int, string) {
		cmd := exec.Command(bin, strings.Fields(hooks[0].Entry)[1:]...)
		cmd.Dir = w.dir
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		}
		return 0, string(out)
	}
	if code, out := run(); code != 0 {
		t.Errorf("hook on good files: exit %d\n%s", code, out)
	}
	w.write(t, "sandbox-templates/bad.yaml", "build_spec:\n  size: huge\n")
	if code, out := run(); code != 1 || !strings.Contains(out, "sandbox-templates/bad.yaml:2:") {
		t.Errorf("hook on a bad file: exit %d\n%s", code, out)
	}
}
