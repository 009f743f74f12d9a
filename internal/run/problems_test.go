package run

import (
	"context"
	"testing"

	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
)

// TestProblemIn: a template's problems are the errors in its own file,
// counted once at load for all files (deciding a template, as every
// create does, looks them up instead of scanning every file's), and those
// the server's verdict adds.
func TestProblemIn(t *testing.T) {
	t.Parallel()
	root := writeFiles(t, map[string]string{
		"sandbox-templates/a.yaml": "build_spec:\n  from: node:22\n",
		"sandbox-templates/b.yaml": "build_spec:\n  from: 1\n  steps: x\n",
		"sandbox-templates/c.yaml": "build_spec:\n  from: node:22\n",
	})
	e := &env{cfg: Config{Root: root}, log: &runLog{rep: quiet{}}}
	l, err := e.load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	byFile := map[string]*spec.Template{}
	for _, tpl := range l.Templates {
		byFile[tpl.File] = tpl
	}
	a, b := byFile["sandbox-templates/a.yaml"], byFile["sandbox-templates/b.yaml"]
	if a == nil || b == nil {
		t.Fatalf("templates %v", l.Templates)
	}
	if got := l.problemIn(a, nil); got != "" {
		t.Errorf("a: %q, want no problem", got)
	}
	if got := l.problemIn(b, nil); got != "2 problem(s) in sandbox-templates/b.yaml" {
		t.Errorf("b: %q, want its 2 schema errors", got)
	}
	extra := diag.List{
		{Path: a.File, Severity: diag.Error, Message: "rejected"},
		{Path: a.File, Severity: diag.Warning, Message: "a warning is no problem"},
		{Path: b.File, Severity: diag.Error, Message: "another file's"},
	}
	if got := l.problemIn(a, extra); got != "1 problem(s) in sandbox-templates/a.yaml" {
		t.Errorf("a with the server's verdict: %q, want 1 problem", got)
	}
}
