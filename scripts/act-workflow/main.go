// Command act-workflow turns a workflow written for users (an example of
// examples/workflows, the docs' workflows) into the one scripts/e2e-act.sh
// runs under act against the local emulator. It makes exactly one change to
// each step that uses this action, and nothing else: with: gets api-url:
// URL (the emulator's), or its api-url is replaced.
//
// The step keeps its uses: as users write it (OWNER/REPO@REF), and act
// resolves that reference to this checkout (--local-repository
// OWNER/REPO@REF=DIR). Rewriting it to uses: ./ would need the repository
// checked out before the step, which a user's workflow need not do: on
// GitHub the runner downloads the action whatever the job checked out, and
// the docs' preview workflow deletes previews on the closed event without
// a checkout. With -o, it prints each such reference, one a line, for the
// caller to hand to act.
//
// The secret the workflow reads is given to act (-s MIOSA_API_KEY=...), not
// written here. The file is edited as text, so comments and layout stay as
// they are; the result is then parsed and compared with the original plus
// that change, and any other difference is an error.
//
//	go run ./scripts/act-workflow -api-url http://127.0.0.1:8787/api/v1 -o out.yml examples/workflows/sync-templates.yml
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// action is this action's repository, as a workflow's uses: names it.
const action = "miosa-dev/sandbox-templates-action"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("act-workflow", flag.ContinueOnError)
	fs.SetOutput(stderr)
	apiURL := fs.String("api-url", "", "the api-url every step of the action gets (required)")
	out := fs.String("o", "", "write the workflow here (default: standard output)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: act-workflow -api-url URL [-o OUT] WORKFLOW.yml")
		fmt.Fprintln(stderr, "With -o, the action's references the workflow uses (OWNER/REPO@REF) are printed, one a line.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 || *apiURL == "" {
		fs.Usage()
		return 2
	}
	path := fs.Arg(0)
	src, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(stderr, "act-workflow: %v\n", err)
		return 1
	}
	res, loc, err := Localize(src, *apiURL)
	if err != nil {
		fmt.Fprintf(stderr, "act-workflow: %s: %v\n", path, err)
		return 1
	}
	if *out == "" {
		_, err = stdout.Write(res)
	} else if err = os.WriteFile(*out, res, 0o644); err == nil {
		for _, r := range loc.Refs {
			fmt.Fprintln(stdout, r)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "act-workflow: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "act-workflow: %s: %d step(s) of %s get api-url %s\n", path, loc.Steps, action, *apiURL)
	return 0
}

// edit replaces line (0-based) from column col (0-based) to its end with text,
// or, when insert is set, puts text as a new line before line.
type edit struct {
	line, col int
	insert    bool
	text      string
}

// Localized is what Localize changed.
type Localized struct {
	Steps int      // steps of this action, each given api-url
	Refs  []string // the published references they use (OWNER/REPO@REF), sorted, each once
}

// Localize returns src with api-url given to each step of this action, and
// what it changed. It is an error when no step uses the action, or when the
// result differs from src in anything else.
func Localize(src []byte, apiURL string) ([]byte, Localized, error) {
	var none Localized
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, none, fmt.Errorf("parse: %w", err)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, none, errors.New("not a workflow: the document is not a mapping")
	}
	jobs := value(doc.Content[0], "jobs")
	if jobs == nil || jobs.Kind != yaml.MappingNode {
		return nil, none, errors.New("not a workflow: no jobs mapping")
	}
	url := scalar(apiURL)
	var edits []edit
	var found []stepRef
	refs := map[string]bool{}
	for i := 1; i < len(jobs.Content); i += 2 {
		job := jobs.Content[i]
		steps := value(job, "steps")
		if steps == nil || steps.Kind != yaml.SequenceNode {
			continue
		}
		for n, step := range steps.Content {
			uses := value(step, "uses")
			if uses == nil || !ours(uses.Value) {
				continue
			}
			where := fmt.Sprintf("job %s, step %d", jobs.Content[i-1].Value, n+1)
			if uses.Kind != yaml.ScalarNode || uses.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
				return nil, none, fmt.Errorf("%s: uses is not a one-line scalar", where)
			}
			found = append(found, stepRef{job: jobs.Content[i-1].Value, index: n})
			if strings.HasPrefix(uses.Value, action+"@") {
				refs[uses.Value] = true
			}
			usesKey := key(step, "uses")
			with := value(step, "with")
			switch {
			case with == nil:
				pad := strings.Repeat(" ", usesKey.Column-1)
				edits = append(edits, edit{line: uses.Line, insert: true, text: pad + "with:\n" + pad + "  api-url: " + url})
			case with.Kind != yaml.MappingNode || with.Style&yaml.FlowStyle != 0 || len(with.Content) == 0:
				return nil, none, fmt.Errorf("%s: with is not a block mapping", where)
			case value(with, "api-url") != nil:
				v := value(with, "api-url")
				if v.Kind != yaml.ScalarNode || v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
					return nil, none, fmt.Errorf("%s: api-url is not a one-line scalar", where)
				}
				edits = append(edits, edit{line: v.Line - 1, col: v.Column - 1, text: url})
			default:
				first := with.Content[0]
				edits = append(edits, edit{line: first.Line - 1, insert: true, text: strings.Repeat(" ", first.Column-1) + "api-url: " + url})
			}
		}
	}
	if len(found) == 0 {
		return nil, none, fmt.Errorf("no step uses %s", action)
	}
	res := apply(src, edits)
	if err := verify(src, res, found, apiURL); err != nil {
		return nil, none, err
	}
	loc := Localized{Steps: len(found)}
	for r := range refs {
		loc.Refs = append(loc.Refs, r)
	}
	sort.Strings(loc.Refs)
	return res, loc, nil
}

// ours reports whether a step's uses: names this action, published or local.
func ours(uses string) bool {
	return strings.HasPrefix(uses, action+"@") || uses == "./" || uses == "."
}

func key(m *yaml.Node, name string) *yaml.Node {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == name {
			return m.Content[i]
		}
	}
	return nil
}

func value(m *yaml.Node, name string) *yaml.Node {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == name {
			return m.Content[i+1]
		}
	}
	return nil
}

var plain = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._~:/?=&%+@-]*$`)

// scalar writes s as a YAML scalar: plain when it is safe, else double-quoted.
func scalar(s string) string {
	if plain.MatchString(s) && !strings.Contains(s, ": ") {
		return s
	}
	return strconv.Quote(s)
}

// apply makes the edits on src, last line first so earlier line numbers hold.
func apply(src []byte, edits []edit) []byte {
	lines := strings.SplitAfter(string(src), "\n")
	sort.SliceStable(edits, func(i, j int) bool { return edits[i].line > edits[j].line })
	for _, e := range edits {
		if e.insert {
			lines = append(lines[:e.line], append([]string{e.text + "\n"}, lines[e.line:]...)...)
			continue
		}
		end := ""
		if strings.HasSuffix(lines[e.line], "\n") {
			end = "\n"
		}
		lines[e.line] = lines[e.line][:e.col] + e.text + end
	}
	return []byte(strings.Join(lines, ""))
}

type stepRef struct {
	job   string
	index int
}

// verify parses both files and checks that res is src with, on the steps
// found, with.api-url set to apiURL, and nothing else.
func verify(src, res []byte, found []stepRef, apiURL string) error {
	var want, got map[string]any
	if err := yaml.Unmarshal(src, &want); err != nil {
		return err
	}
	if err := yaml.Unmarshal(res, &got); err != nil {
		return fmt.Errorf("the rewritten workflow does not parse: %w", err)
	}
	jobs, _ := want["jobs"].(map[string]any)
	for _, f := range found {
		job, _ := jobs[f.job].(map[string]any)
		steps, _ := job["steps"].([]any)
		step, _ := steps[f.index].(map[string]any)
		with, _ := step["with"].(map[string]any)
		if with == nil {
			with = map[string]any{}
			step["with"] = with
		}
		with["api-url"] = apiURL
	}
	if !reflect.DeepEqual(want, got) {
		var w, g bytes.Buffer
		_ = yaml.NewEncoder(&w).Encode(want)
		_ = yaml.NewEncoder(&g).Encode(got)
		return fmt.Errorf("the rewrite changed more than api-url:\nwant:\n%s\ngot:\n%s", w.String(), g.String())
	}
	return nil
}
