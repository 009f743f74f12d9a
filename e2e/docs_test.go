package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/miosa-dev/sandbox-templates-action/internal/ghaction"
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
	var names []string
	cell := regexp.MustCompile("^\\| `([a-z-]+)` \\|")
	for _, line := range strings.Split(section(t, "../README.md", heading), "\n") {
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
	wantOutputs = append(wantOutputs, ghaction.PreviewOutputs...) // written by pull_request runs with preview: true
	wantOutputs = append(wantOutputs, ghaction.PlanFileOutput)
	slices.Sort(wantOutputs)
	if diff := cmp.Diff(wantOutputs, keys(a.Outputs)); diff != "" {
		t.Errorf("action.yml outputs (-code +action.yml):\n%s", diff)
	}
	if diff := cmp.Diff(keys(a.Outputs), readmeTable(t, "## Outputs")); diff != "" {
		t.Errorf("the README's Outputs table lists other outputs than action.yml (-action.yml +README):\n%s", diff)
	}
}

// CONTRIBUTING.md's Layout section lists every package of the module.
func TestContributingListsEveryPackage(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "./...").Output()
	if err != nil {
		t.Fatal(err)
	}
	layout := section(t, "../CONTRIBUTING.md", "## Layout")
	const module = "github.com/miosa-dev/sandbox-templates-action"
	for _, pkg := range strings.Fields(string(out)) {
		rel := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
		if rel == "" {
			rel = "main.go"
		} else if !strings.HasPrefix(rel, "internal/") {
			rel += "/"
		}
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(rel) + `\s`).MatchString(layout) {
			t.Errorf("CONTRIBUTING.md's Layout section does not list %s", rel)
		}
	}
}

// section returns the text of file under heading, up to the next heading of
// the same level.
func section(t *testing.T, file, heading string) string {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(raw), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("%s has no %q section", file, heading)
	}
	level := heading[:strings.Index(heading, " ")+1]
	if i := strings.Index(rest, "\n"+level); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// docFiles are the Markdown files whose links must hold.
func docFiles(t *testing.T) []string {
	t.Helper()
	pages, err := filepath.Glob("../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{"../README.md", "../CONTRIBUTING.md"}, pages...)
}

// prose is a Markdown file's lines outside fenced code blocks.
func prose(t *testing.T, file string) []string {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	fence := ""
	for _, l := range strings.Split(string(raw), "\n") {
		trimmed := strings.TrimSpace(l)
		switch {
		case fence != "":
			if strings.HasPrefix(trimmed, fence) && strings.Trim(trimmed, fence[:1]) == "" {
				fence = ""
			}
		case strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~"):
			fence = trimmed[:len(trimmed)-len(strings.TrimLeft(trimmed, trimmed[:1]))]
		default:
			out = append(out, l)
		}
	}
	return out
}

// anchors are the ids GitHub gives a Markdown file's headings: lower case,
// punctuation dropped, spaces as hyphens, -1, -2, ... on repeats.
func anchors(t *testing.T, file string) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	seen := map[string]int{}
	drop := regexp.MustCompile(`[^\p{L}\p{M}\p{N}_ -]`)
	linkText := regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
	for _, l := range prose(t, file) {
		h := strings.TrimLeft(l, "#")
		if h == l || !strings.HasPrefix(h, " ") {
			continue
		}
		id := strings.ReplaceAll(drop.ReplaceAllString(strings.ToLower(linkText.ReplaceAllString(strings.TrimSpace(h), "$1")), ""), " ", "-")
		if n := seen[id]; n > 0 {
			id = fmt.Sprintf("%s-%d", id, n)
		}
		seen[id]++
		ids[id] = true
	}
	return ids
}

// Every relative link in the README, CONTRIBUTING.md and docs/ points at a
// file that exists, and its #anchor at a heading of that file.
func TestDocsLinksResolve(t *testing.T) {
	t.Parallel()
	link := regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	code := regexp.MustCompile("`+[^`]*`+")
	checked := 0
	for _, file := range docFiles(t) {
		for _, l := range prose(t, file) {
			l = code.ReplaceAllString(l, "")
			for _, m := range link.FindAllStringSubmatch(l, -1) {
				target := m[1]
				if regexp.MustCompile(`^[a-z]+:`).MatchString(target) {
					continue // https:, mailto:
				}
				checked++
				path, anchor, _ := strings.Cut(target, "#")
				dest := file
				if path != "" {
					dest = filepath.Join(filepath.Dir(file), path)
				}
				if _, err := os.Stat(dest); err != nil {
					t.Errorf("%s: link %q: %v", file, target, err)
					continue
				}
				if anchor != "" && strings.HasSuffix(dest, ".md") && !anchors(t, dest)[anchor] {
					t.Errorf("%s: link %q: %s has no heading #%s", file, target, dest, anchor)
				}
			}
		}
	}
	if checked < 30 {
		t.Errorf("only %d relative links found: is the link pattern still right?", checked)
	}
}

// The README's workflows are the example files, byte for byte, and the
// quick start shows the push and the pull request workflows.
func TestReadmeWorkflowsAreTheExamples(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	examples := map[string]string{}
	for _, path := range exampleFiles(t) {
		body, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		examples[string(body)] = filepath.Base(path)
	}
	shown := map[string]bool{}
	for _, block := range regexp.MustCompile("(?s)\n```yaml\n(.*?)```\n").FindAllStringSubmatch(string(raw), -1) {
		if !strings.Contains(block[1], "\njobs:\n") {
			continue // a template file, not a workflow
		}
		name, ok := examples[block[1]]
		if !ok {
			t.Errorf("a README workflow is no file of examples/workflows; make it one, byte for byte:\n%s", block[1])
		}
		shown[name] = true
	}
	for _, want := range []string{"sync-templates.yml", "validate-templates.yml"} {
		if !shown[want] {
			t.Errorf("the README does not show examples/workflows/%s", want)
		}
	}
}

// The validate example in docs/templates.md is what the binary prints.
func TestTemplatesDocShowsValidate(t *testing.T) {
	t.Parallel()
	const cmdLine = "$ sandbox-templates validate --dir testdata/bad/many-problems\n"
	_, rest, ok := strings.Cut(section(t, "../docs/templates.md", "## Problems, on their lines"), cmdLine)
	if !ok {
		t.Fatalf("docs/templates.md shows no %q", cmdLine)
	}
	shown, _, _ := strings.Cut(rest, "```")
	cmd := exec.Command(bin, "validate", "--dir", "testdata/bad/many-problems")
	cmd.Dir = ".."
	out, _ := cmd.CombinedOutput()
	if diff := cmp.Diff(shown, string(out)); diff != "" {
		t.Errorf("docs/templates.md's validate example is not what validate prints (-doc +binary):\n%s", diff)
	}
}

// The README's two commands for every clone: the emulator run works, and
// the test command is the one .ci/run runs.
func TestReadmeCommandsForEveryClone(t *testing.T) {
	t.Parallel()
	const run, test = "go run . apply --emulator --dir testdata/good --wait --poll-interval 1s", "go test -race ./..."
	if want := "```sh\n" + run + "\n" + test + "\n```"; !strings.Contains(section(t, "../README.md", "## Working on this repository"), want) {
		t.Errorf("the README's Working on this repository section lacks\n%s", want)
	}
	ci, err := os.ReadFile("../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ci), "go test -race ") {
		t.Error(".ci/run does not run the README's test command")
	}
	args := strings.Fields(strings.TrimPrefix(run, "go run . "))
	cmd := exec.Command(bin, args...)
	cmd.Dir = ".."
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Status: success (3 to create") {
		t.Errorf("%s: %v\n%s", run, err, out)
	}
}

// TestReadmeIsShort keeps the README a front door a newcomer reads top
// down: at most 300 lines, with the quick start before the inputs, and
// everything else on the docs/ pages it links.
func TestReadmeIsShort(t *testing.T) {
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	if n := strings.Count(text, "\n"); n > 300 {
		t.Errorf("README.md has %d lines; move detail to a docs/ page and link it (at most 300)", n)
	}
	quick, inputs := strings.Index(text, "\n## Quick start"), strings.Index(text, "\n## Inputs")
	if quick < 0 || inputs < 0 || quick > inputs {
		t.Errorf("README.md: want a \"## Quick start\" section before \"## Inputs\" (at %d and %d)", quick, inputs)
	}
	if !strings.Contains(text, "MIOSA_API_KEY") {
		t.Error("README.md: the quick start must say to create the MIOSA_API_KEY secret")
	}
}
