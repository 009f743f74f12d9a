package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
	"github.com/miosa-dev/sandbox-templates-action/internal/run"
	"github.com/miosa-dev/sandbox-templates-action/internal/settings"
	"github.com/miosa-dev/sandbox-templates-action/internal/spec"
)

// validation is the outcome of reading and checking the templates offline.
type validation = run.Checked

// runValidate is the validate subcommand.
func runValidate(_ context.Context, env *Env, args []string) int {
	fs := flagSet("validate")
	jsonOut := fs.Bool("json", false, "print one JSON object {files, templates, problems} instead of text")
	paths := &listFlag{}
	fs.Var(paths, "path", "glob of template files, relative to the root (repeatable; default \"sandbox-templates/*.yaml\" and \"sandbox-templates/*.yml\")")
	names := &listFlag{comma: true}
	fs.Var(names, "templates", "check only these template names (repeatable or comma-separated; default all)")
	dir := fs.String("dir", "", "repository root (default $GITHUB_WORKSPACE, else the working directory)")
	noFiles := mustLookup(settings.IfNoFiles)
	ifNoFiles := fs.String(noFiles.Name, noFiles.Default, strings.ReplaceAll(noFiles.Usage, "`", ""))
	about := "Reads the template files, checks each build_spec against the embedded schema and prints every\n" +
		"problem as path:line:col: field: message [rule]. Works offline: no API key, no network.\n" +
		"Exit status: 0 no problems, 1 problems found, 2 bad command line."
	if code, ok := parse(env, fs, "[--json] [--path GLOB ...] [--templates NAME ...] [--if-no-files-found error|warn|ignore] [--dir DIR]", about, args); !ok {
		return code
	}
	sv, err := settings.Parse([]settings.Setting{noFiles}, func(string) (string, bool) { return *ifNoFiles, true },
		func(name string) string { return "--" + name })
	if err != nil {
		fmt.Fprintf(env.Stderr, "validate: %v\n", err)
		return ExitUsage
	}
	root, err := rootDir(*dir, env.Getenv)
	if err != nil {
		fmt.Fprintf(env.Stderr, "validate: %v\n", err)
		return ExitProblems
	}
	v, err := run.CheckFiles(spec.Options{Root: root, Patterns: paths.values, IfNoFiles: sv.String(settings.IfNoFiles)}, names.values, nil)
	if err != nil {
		fmt.Fprintf(env.Stderr, "validate: %v\n", err)
		return ExitProblems
	}
	for _, n := range v.Notices {
		textReporter{env: env}.Notice(n)
	}
	if *jsonOut {
		err = writeJSON(env.Stdout, v)
	} else {
		err = writeText(env.Stdout, v)
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "validate: write output: %v\n", err)
		return ExitProblems
	}
	if v.Diagnostics.HasErrors() {
		return ExitProblems
	}
	return ExitOK
}

// writeText prints the problems and a summary, or, when there are no
// errors, one line per template.
func writeText(w io.Writer, v *validation) error {
	var b strings.Builder
	b.WriteString(v.Diagnostics.Text())
	errs := v.Diagnostics.Errors()
	if errs > 0 {
		if len(v.Bad) > 0 {
			fmt.Fprintf(&b, "%s in %d of %s\n", plural(errs, "problem"), len(v.Bad), plural(len(v.Files), "file"))
		} else {
			fmt.Fprintf(&b, "%s; %s checked\n", plural(errs, "problem"), plural(len(v.Files), "file"))
		}
		_, err := io.WriteString(w, b.String())
		return err
	}
	byFile := slices.Clone(v.Templates)
	slices.SortFunc(byFile, func(a, b *spec.Template) int { return cmp.Compare(a.File, b.File) })
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, t := range byFile {
		fmt.Fprintf(tw, "ok\t%s\t%s\t(%s)\n", t.File, t.Name, describe(t.BuildSpec))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(&b, "%s valid in %s\n", plural(len(v.Templates), "template"), plural(len(v.Files), "file"))
	_, err := io.WriteString(w, b.String())
	return err
}

// describe summarizes a build_spec for the ok line:
// "from node:22-bookworm, 3 steps" or "runtime node 20, 1 package".
func describe(s map[string]any) string {
	var parts []string
	str := func(k string) string {
		v, _ := s[k].(string)
		return safe(v)
	}
	count := func(k, noun string) {
		if l, ok := s[k].([]any); ok {
			parts = append(parts, plural(len(l), noun))
		}
	}
	if from := str("from"); from != "" {
		parts = append(parts, "from "+from)
		count("steps", "step")
	}
	if rt := str("runtime"); rt != "" {
		if ver := str("version"); ver != "" {
			rt += " " + ver
		}
		parts = append(parts, "runtime "+rt)
		count("packages", "package")
	}
	return strings.Join(parts, ", ")
}

// safe quotes text from a user's file when it holds anything but printable
// characters, so it cannot break a log line or start a workflow command.
func safe(s string) string {
	if strings.Contains(s, "::") || strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return strconv.QuoteToASCII(s)
	}
	return s
}

// plural renders "1 file" or "2 files".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// jsonTemplate is one template in the --json output.
type jsonTemplate struct {
	Name        string            `json:"name"`
	File        string            `json:"file"`
	Line        int               `json:"line"`
	Col         int               `json:"col"`
	Description string            `json:"description,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	BuildSpec   map[string]any    `json:"build_spec"`
	Digest      string            `json:"digest"`
	Valid       bool              `json:"valid"`
}

// jsonReport is the --json output.
type jsonReport struct {
	Files     int            `json:"files"`
	Templates []jsonTemplate `json:"templates"`
	Problems  diag.List      `json:"problems"`
}

// writeJSON prints the validation as one JSON object.
func writeJSON(w io.Writer, v *validation) error {
	r := jsonReport{Files: len(v.Files), Templates: []jsonTemplate{}, Problems: v.Diagnostics}
	if r.Problems == nil {
		r.Problems = diag.List{}
	}
	for _, t := range v.Templates {
		r.Templates = append(r.Templates, jsonTemplate{
			Name: t.Name, File: t.File, Line: t.Line, Col: t.Col, Description: t.Description,
			Metadata: t.Metadata, BuildSpec: t.BuildSpec, Digest: t.Digest(), Valid: !v.Bad[t.File],
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
