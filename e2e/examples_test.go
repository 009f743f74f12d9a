package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The example workflows in examples/workflows, run: every job of each example
// under each event it declares. The action's step is the built binary against
// the emulator, with the example's with: inputs (api-url and api-key
// substituted); the other steps run with bash, their env: evaluated from the
// action's outputs as the runner evaluates it. Each event runs twice at one
// commit: the first run creates and builds, the re-run finds everything in
// place, and the steps that read the outputs must pass both times.

// exampleWorkflow is the part of a workflow file this test runs.
type exampleWorkflow struct {
	Name        string            `yaml:"name"`
	On          map[string]any    `yaml:"on"`
	Permissions map[string]string `yaml:"permissions"`
	Jobs        yaml.Node         `yaml:"jobs"` // a mapping, kept in file order
}

type exampleJob struct {
	Needs    any               `yaml:"needs"` // a job id or a list of them
	If       string            `yaml:"if"`
	Outputs  map[string]string `yaml:"outputs"`
	Strategy struct {
		Matrix map[string]any `yaml:"matrix"`
	} `yaml:"strategy"`
	Steps []exampleStep `yaml:"steps"`
}

type exampleStep struct {
	ID    string            `yaml:"id"`
	Name  string            `yaml:"name"`
	If    string            `yaml:"if"`
	Uses  string            `yaml:"uses"`
	Run   string            `yaml:"run"`
	Shell string            `yaml:"shell"`
	With  map[string]string `yaml:"with"`
	Env   map[string]string `yaml:"env"`
}

const thisAction = "miosa-dev/sandbox-templates-action@"

func readExample(t *testing.T, path string) (exampleWorkflow, []string, map[string]exampleJob) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var wf exampleWorkflow
	if err := yaml.Unmarshal(raw, &wf); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var order []string
	jobs := map[string]exampleJob{}
	for i := 0; i+1 < len(wf.Jobs.Content); i += 2 {
		var j exampleJob
		if err := wf.Jobs.Content[i+1].Decode(&j); err != nil {
			t.Fatalf("%s: job %s: %v", path, wf.Jobs.Content[i].Value, err)
		}
		order = append(order, wf.Jobs.Content[i].Value)
		jobs[wf.Jobs.Content[i].Value] = j
	}
	return wf, order, jobs
}

func exampleFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../examples/workflows/*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example workflows (%v)", err)
	}
	return files
}

// Outputs reach a shell step through env:, never through ${{ }} in the
// script (which strips a JSON value's quotes and lets a value become
// code); and each example grants the permissions its runs need.
func TestExamplesPassOutputsThroughEnv(t *testing.T) {
	t.Parallel()
	for _, path := range exampleFiles(t) {
		wf, order, jobs := readExample(t, path)
		for _, id := range order {
			for _, st := range jobs[id].Steps {
				if strings.Contains(st.Run, "${{") {
					t.Errorf("%s: job %s: a run: script holds an expression; pass it through env:\n%s", path, id, st.Run)
				}
			}
		}
		want := map[string]string{"contents": "read"}
		if _, ok := wf.On["pull_request"]; ok {
			want["pull-requests"] = "write" // the plan comment
		} else {
			want["deployments"] = "write" // the record a full apply writes
		}
		for scope, level := range want {
			if wf.Permissions[scope] != level {
				t.Errorf("%s: permissions.%s is %q, want %q", path, scope, wf.Permissions[scope], level)
			}
		}
	}
}

// Each example runs, jobs and shell steps included, for each of its events:
// see the top of this file.
func TestExamplesRunAgainstTheEmulator(t *testing.T) {
	t.Parallel()
	templates := (&workspace{dir: "../testdata/good"}).tree(t)
	for _, path := range exampleFiles(t) {
		wf, order, jobs := readExample(t, path)
		for _, event := range slices.Sorted(maps.Keys(wf.On)) {
			t.Run(filepath.Base(path)+"/"+event, func(t *testing.T) {
				t.Parallel()
				r := &exampleRun{t: t, wf: wf, order: order, jobs: jobs, event: event,
					e: startEmulator(t, nil), w: newWorkspace(t, templates), g: newGitHub(t)}
				r.setUp()
				for attempt := 1; attempt <= 2; attempt++ {
					r.attempt = attempt
					r.runWorkflow()
				}
				if event == "pull_request" {
					if n := len(r.g.Comments("acme/platform", 7)); n != 1 {
						t.Errorf("%d pull request comments after two runs, want 1", n)
					}
				}
			})
		}
	}
}

// exampleRun is one example workflow run for one event.
type exampleRun struct {
	t       *testing.T
	wf      exampleWorkflow
	order   []string
	jobs    map[string]exampleJob
	event   string
	attempt int
	e       *emu
	w       *workspace
	g       *gitHub
	env     map[string]string // the runner's environment of the action's step
}

// setUp commits the workspace to the fake GitHub and makes the event's
// runner environment, as GitHub would for this workflow.
func (r *exampleRun) setUp() {
	t, g := r.t, r.g
	sha := g.commit("main", r.w.tree(t))
	var payload map[string]any
	ref := "refs/heads/main"
	switch r.event {
	case "push":
		payload = map[string]any{"ref": ref, "after": sha}
	case "schedule":
		payload = map[string]any{"schedule": "17 3 * * *"}
	case "workflow_dispatch":
		payload = map[string]any{"ref": ref, "inputs": map[string]any{}}
	case "pull_request":
		base := g.commit("main", map[string]string{"README.md": "# platform\n"})
		sha = g.Commit([]string{base}, r.w.tree(t))
		g.SetBranch("templates", sha)
		g.SetPullHead("acme/platform", 7, sha)
		repo := map[string]any{"full_name": "acme/platform", "fork": false}
		payload = map[string]any{"action": "synchronize", "number": 7, "pull_request": map[string]any{"number": 7,
			"head": map[string]any{"sha": sha, "ref": "templates", "repo": repo}, "base": map[string]any{"ref": "main", "repo": repo}}}
		ref = "refs/pull/7/merge"
	case "release":
		g.Tag("v1.0.0", sha)
		g.Release("v1.0.0", false, true)
		payload = map[string]any{"action": "published", "release": map[string]any{"tag_name": "v1.0.0", "prerelease": false, "draft": false}}
		ref = "refs/tags/v1.0.0"
	default:
		t.Fatalf("the test cannot make a %s event: add it here", r.event)
	}
	r.env = with(g.env(t, r.event, sha, payload), map[string]string{"GITHUB_REF": ref,
		"GITHUB_WORKFLOW": r.wf.Name, "GITHUB_RUN_ID": "4242", "GITHUB_SERVER_URL": "https://github.example"})
}

// runWorkflow runs the jobs in file order; a job runs after those it needs.
func (r *exampleRun) runWorkflow() {
	t := r.t
	needs := map[string]any{}
	for _, id := range r.order {
		j := r.jobs[id]
		var deps []any
		switch n := j.Needs.(type) {
		case string:
			deps = []any{n}
		case []any:
			deps = n
		}
		need := map[string]any{}
		for _, d := range deps {
			out, ok := needs[d.(string)]
			if !ok {
				t.Fatalf("job %s needs %v, which has not run before it", id, d)
			}
			need[d.(string)] = out
		}
		ctx := map[string]any{"needs": need, "secrets": map[string]any{"MIOSA_API_KEY": testKey}}
		if j.If != "" && !truthy(r.eval(ctx, "${{ "+j.If+" }}")) {
			t.Logf("attempt %d: job %s skipped (if: %s)", r.attempt, id, j.If)
			needs[id] = map[string]any{"outputs": map[string]any{}}
			continue
		}
		var outputs map[string]any
		for _, m := range r.matrix(ctx, j) {
			outputs = r.runJob(id, j, withKey(ctx, "matrix", m))
		}
		needs[id] = map[string]any{"outputs": outputs}
	}
}

// matrix expands a job's strategy.matrix: one combination per value of
// each key, or one empty combination without a matrix.
func (r *exampleRun) matrix(ctx map[string]any, j exampleJob) []map[string]any {
	combos := []map[string]any{{}}
	for _, k := range slices.Sorted(maps.Keys(j.Strategy.Matrix)) {
		v := j.Strategy.Matrix[k]
		if s, ok := v.(string); ok {
			v = r.eval(ctx, s)
		}
		vals, ok := v.([]any)
		if !ok || len(vals) == 0 {
			r.t.Fatalf("attempt %d: matrix vector %q does not contain any values (%v)", r.attempt, k, v)
		}
		var next []map[string]any
		for _, c := range combos {
			for _, val := range vals {
				next = append(next, withKey(c, k, val))
			}
		}
		combos = next
	}
	return combos
}

// runJob runs one job's steps and returns its outputs.
func (r *exampleRun) runJob(id string, j exampleJob, ctx map[string]any) map[string]any {
	t := r.t
	steps := map[string]any{}
	ctx = withKey(ctx, "steps", steps)
	for i, st := range j.Steps {
		if st.If != "" && !truthy(r.eval(ctx, "${{ "+st.If+" }}")) {
			continue
		}
		name := fmt.Sprintf("job %s step %d %s", id, i+1, st.Name)
		switch {
		case strings.HasPrefix(st.Uses, "actions/checkout@"):
			// The workspace is the checkout.
		case strings.HasPrefix(st.Uses, thisAction):
			inputs := map[string]string{}
			for k, v := range st.With {
				inputs[k] = str(r.eval(ctx, v))
			}
			// The substitutions a run against the emulator needs; the
			// runner gives github.token to github-token.
			inputs["api-url"] = r.e.URL
			if inputs["api-key"] != testKey {
				t.Fatalf("%s: api-key is %q, want the MIOSA_API_KEY secret", name, inputs["api-key"])
			}
			if _, ok := inputs["github-token"]; !ok {
				inputs["github-token"] = ghToken
			}
			env := with(r.env, map[string]string{"GITHUB_JOB": id, "GITHUB_RUN_ATTEMPT": strconv.Itoa(r.attempt)})
			s := runAction(t, r.w, env, inputs)
			if s.Code != 0 {
				t.Fatalf("attempt %d: %s: the action exited %d\n%s", r.attempt, name, s.Code, s.log())
			}
			outs := map[string]any{}
			for k, v := range s.Outputs {
				outs[k] = v
			}
			if st.ID != "" {
				steps[st.ID] = map[string]any{"outputs": outs}
			}
		case st.Uses != "":
			t.Fatalf("%s: the test cannot run %s", name, st.Uses)
		default:
			r.shell(name, st, ctx)
		}
	}
	out := map[string]any{}
	for k, v := range j.Outputs {
		out[k] = str(r.eval(ctx, v))
	}
	return out
}

// shell runs a run: step as the runner does without a shell: key (bash -e),
// with its env: evaluated.
func (r *exampleRun) shell(name string, st exampleStep, ctx map[string]any) {
	t := r.t
	if st.Shell != "" && st.Shell != "bash" {
		t.Fatalf("%s: the test runs bash, not %s", name, st.Shell)
	}
	script := filepath.Join(t.TempDir(), "step.sh")
	if err := os.WriteFile(script, []byte(st.Run), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "-e", script)
	cmd.Dir = r.w.dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	for k, v := range st.Env {
		cmd.Env = append(cmd.Env, k+"="+str(r.eval(ctx, v)))
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("attempt %d: %s failed (%v):\n%s\nenv: %q", r.attempt, name, err, out, cmd.Env[2:])
	}
	t.Logf("attempt %d: %s:\n%s", r.attempt, name, out)
}

// with2 is m with key set to v, m unchanged.
func withKey(m map[string]any, key string, v any) map[string]any {
	out := maps.Clone(m)
	if out == nil {
		out = map[string]any{}
	}
	out[key] = v
	return out
}

// eval evaluates the ${{ }} expressions in s. When s is one expression and
// nothing else, the value is returned as it is (a matrix's list); else
// each is replaced by its text.
func (r *exampleRun) eval(ctx map[string]any, s string) any {
	v, err := evalTemplate(ctx, s)
	if err != nil {
		r.t.Fatalf("attempt %d: %q: %v", r.attempt, s, err)
	}
	return v
}

var exprRE = regexp.MustCompile(`\$\{\{(.*?)\}\}`)

func evalTemplate(ctx map[string]any, s string) (any, error) {
	if m := exprRE.FindStringSubmatchIndex(s); m != nil && m[0] == 0 && m[1] == len(s) {
		return evalExpr(ctx, s[m[2]:m[3]])
	}
	var firstErr error
	out := exprRE.ReplaceAllStringFunc(s, func(e string) string {
		v, err := evalExpr(ctx, exprRE.FindStringSubmatch(e)[1])
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return str(v)
	})
	return out, firstErr
}

// evalExpr evaluates the part of GitHub's expression language the examples
// use: contexts (a name missing from one is an error here, so a misspelt
// output fails), 'strings', numbers, true, false, null, .name and [index],
// fromJSON(), !, ==, !=, && and ||. Anything else is an error.
func evalExpr(ctx map[string]any, src string) (any, error) {
	p := &exprParser{ctx: ctx}
	if err := p.lex(src); err != nil {
		return nil, err
	}
	v, err := p.or()
	if err == nil && p.pos < len(p.toks) {
		err = fmt.Errorf("unexpected %q", p.toks[p.pos])
	}
	return v, err
}

type exprParser struct {
	ctx  map[string]any
	toks []string
	pos  int
}

var tokenRE = regexp.MustCompile(`^\s*('(?:[^']|'')*'|[A-Za-z_][A-Za-z0-9_-]*|-?[0-9]+(?:\.[0-9]+)?|==|!=|&&|\|\||[!()\[\].])`)

func (p *exprParser) lex(src string) error {
	for strings.TrimSpace(src) != "" {
		m := tokenRE.FindStringSubmatch(src)
		if m == nil {
			return fmt.Errorf("cannot read %q", src)
		}
		p.toks = append(p.toks, m[1])
		src = src[len(m[0]):]
	}
	return nil
}

func (p *exprParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *exprParser) next() string { s := p.peek(); p.pos++; return s }

func (p *exprParser) expect(tok string) error {
	if got := p.next(); got != tok {
		return fmt.Errorf("want %q, found %q", tok, got)
	}
	return nil
}

func (p *exprParser) or() (any, error) {
	v, err := p.and()
	for err == nil && p.peek() == "||" {
		p.next()
		var r any
		if r, err = p.and(); !truthy(v) {
			v = r
		}
	}
	return v, err
}

func (p *exprParser) and() (any, error) {
	v, err := p.cmp()
	for err == nil && p.peek() == "&&" {
		p.next()
		var r any
		if r, err = p.cmp(); truthy(v) {
			v = r
		}
	}
	return v, err
}

func (p *exprParser) cmp() (any, error) {
	l, err := p.unary()
	if err != nil || (p.peek() != "==" && p.peek() != "!=") {
		return l, err
	}
	op := p.next()
	r, err := p.unary()
	return equal(l, r) == (op == "=="), err
}

func (p *exprParser) unary() (any, error) {
	if p.peek() == "!" {
		p.next()
		v, err := p.unary()
		return !truthy(v), err
	}
	v, err := p.primary()
	for err == nil && (p.peek() == "." || p.peek() == "[") {
		var key any
		if p.next() == "." {
			key = p.next()
		} else if key, err = p.or(); err == nil {
			err = p.expect("]")
		}
		if err == nil {
			v, err = index(v, key)
		}
	}
	return v, err
}

func (p *exprParser) primary() (any, error) {
	tok := p.next()
	switch {
	case tok == "":
		return nil, fmt.Errorf("unexpected end")
	case tok == "(":
		v, err := p.or()
		if err == nil {
			err = p.expect(")")
		}
		return v, err
	case strings.HasPrefix(tok, "'"):
		return strings.ReplaceAll(tok[1:len(tok)-1], "''", "'"), nil
	case tok == "true" || tok == "false":
		return tok == "true", nil
	case tok == "null":
		return nil, nil
	case tok[0] == '-' || (tok[0] >= '0' && tok[0] <= '9'):
		return strconv.ParseFloat(tok, 64)
	case p.peek() == "(":
		p.next()
		arg, err := p.or()
		if err == nil {
			err = p.expect(")")
		}
		if err != nil {
			return nil, err
		}
		if !strings.EqualFold(tok, "fromJSON") {
			return nil, fmt.Errorf("the test knows no function %s()", tok)
		}
		var v any
		if err := json.Unmarshal([]byte(str(arg)), &v); err != nil {
			return nil, fmt.Errorf("fromJSON(%q): %v", str(arg), err)
		}
		return v, nil
	default:
		return index(p.ctx, tok)
	}
}

// index is v.key or v[key]; a name missing from a context or an object is
// an error.
func index(v, key any) (any, error) {
	switch c := v.(type) {
	case map[string]any:
		val, ok := c[str(key)]
		if !ok {
			return nil, fmt.Errorf("no %q here (there are %v)", str(key), slices.Sorted(maps.Keys(c)))
		}
		return val, nil
	case []any:
		i, ok := key.(float64)
		if !ok || int(i) < 0 || int(i) >= len(c) {
			return nil, fmt.Errorf("no index %v in a list of %d", key, len(c))
		}
		return c[int(i)], nil
	}
	return nil, fmt.Errorf("cannot index %v with %v", v, key)
}

// equal compares as GitHub does for the values here: strings without
// regard to case, anything else by value.
func equal(a, b any) bool {
	as, aok := a.(string)
	bs, bok := b.(string)
	if aok && bok {
		return strings.EqualFold(as, bs)
	}
	return reflect.DeepEqual(a, b)
}

func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case float64:
		return x != 0
	}
	return true
}

// str is a value as the runner writes it into text: strings as they are,
// null as nothing, numbers and booleans plainly, objects as JSON.
func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	raw, _ := json.Marshal(v)
	return string(raw)
}
