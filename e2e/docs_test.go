package e2e

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/miosa-dev/sandbox-templates-action/internal/report"
	"github.com/miosa-dev/sandbox-templates-action/internal/run"
	"github.com/miosa-dev/sandbox-templates-action/internal/settings"
)

// actionYAML is the part of action.yml this test checks.
type actionYAML struct {
	Inputs map[string]struct {
		Description string `yaml:"description"`
		Default     string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Description string `yaml:"description"`
	} `yaml:"outputs"`
	Runs struct {
		Using string `yaml:"using"`
		Image string `yaml:"image"`
	} `yaml:"runs"`
}

func readActionYAML(t *testing.T) actionYAML {
	t.Helper()
	raw, err := os.ReadFile("../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var a actionYAML
	if err := yaml.Unmarshal(raw, &a); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	return a
}

// readmeTable returns the first column of the README table under heading.
func readmeTable(t *testing.T, heading string) []string {
	t.Helper()
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(raw), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("README has no %q section", heading)
	}
	var names []string
	cell := regexp.MustCompile("^\\| `([a-z-]+)` \\|")
	for _, line := range strings.Split(rest, "\n") {
		if strings.HasPrefix(line, "## ") {
			break
		}
		if m := cell.FindStringSubmatch(line); m != nil {
			names = append(names, m[1])
		}
	}
	slices.Sort(names)
	return names
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// The documented inputs and outputs are the ones the code reads and writes.
func TestActionYAMLAndReadmeMatchTheCode(t *testing.T) {
	t.Parallel()
	a := readActionYAML(t)
	if a.Runs.Using != "docker" || a.Runs.Image != "Dockerfile" {
		t.Errorf("runs = %+v, want docker with image Dockerfile", a.Runs)
	}
	// The inputs come from the settings table: action.yml's inputs block
	// and the README's Inputs table are generated from it.
	raw, err := os.ReadFile("../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	if want, err := settings.Splice(string(raw), "inputs:", "outputs:", settings.ActionInputs()+"\n"); err != nil || want != string(raw) {
		t.Errorf("action.yml's inputs are not the settings table's (%v): run go generate ./internal/settings", err)
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if want, err := settings.Splice(string(readme), "| input | default | meaning |", "", settings.ReadmeInputs()); err != nil || want != string(readme) {
		t.Errorf("the README's Inputs table is not the settings table's (%v): run go generate ./internal/settings", err)
	}
	var names []string
	for _, st := range settings.All {
		names = append(names, st.Name)
	}
	slices.Sort(names)
	if diff := cmp.Diff(names, keys(a.Inputs)); diff != "" {
		t.Errorf("action.yml inputs (-table +action.yml):\n%s", diff)
	}
	for name, in := range a.Inputs {
		if strings.TrimSpace(in.Description) == "" {
			t.Errorf("input %s has no description", name)
		}
		if st, _ := settings.Lookup(name); strings.TrimSuffix(in.Default, "\n") != st.Default {
			t.Errorf("input %s: action.yml's default %q, the table's %q", name, in.Default, st.Default)
		}
	}
	var wantOutputs []string
	for _, kv := range report.Outputs(&run.Result{}) {
		wantOutputs = append(wantOutputs, kv[0])
	}
	slices.Sort(wantOutputs)
	if diff := cmp.Diff(wantOutputs, keys(a.Outputs)); diff != "" {
		t.Errorf("action.yml outputs (-code +action.yml):\n%s", diff)
	}
	readmeOut := readmeTable(t, "## Outputs")
	if diff := cmp.Diff(wantOutputs, readmeOut); diff != "" {
		t.Errorf("README outputs (-code +README):\n%s", diff)
	}
}

// The README's Development section lists every package of the module.
func TestReadmeListsEveryPackage(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "./...").Output()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, dev, ok := strings.Cut(string(raw), "\n## Development\n")
	if !ok {
		t.Fatal("README has no Development section")
	}
	dev, _, _ = strings.Cut(dev, "\n## ")
	const module = "github.com/miosa-dev/sandbox-templates-action"
	for _, pkg := range strings.Fields(string(out)) {
		rel := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
		if rel == "" {
			rel = "main.go"
		} else if !strings.HasPrefix(rel, "internal/") {
			rel += "/"
		}
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(rel) + `\s`).MatchString(dev) {
			t.Errorf("the README's Development section does not list %s", rel)
		}
	}
}
