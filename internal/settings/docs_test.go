package settings_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/miosa-dev/sandbox-templates-action/internal/settings"
)

// action.yml's inputs block and the README's Inputs table are what go
// generate ./internal/settings writes from the table.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	t.Parallel()
	tests := []struct{ file, start, end, part string }{
		{"action.yml", "inputs:", "outputs:", settings.ActionInputs() + "\n"},
		{"README.md", "| input | default | meaning |", "", settings.ReadmeInputs()},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(filepath.Join("..", "..", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			want, err := settings.Splice(string(raw), tt.start, tt.end, tt.part)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, string(raw)); diff != "" {
				t.Errorf("%s is not the settings table's: run go generate ./internal/settings (-generated +file):\n%s", tt.file, diff)
			}
		})
	}
}

func TestSplice(t *testing.T) {
	t.Parallel()
	doc := "# title\ninputs:\n  old: 1\noutputs:\n  x: 2\n\n| a |\n|---|\n| b |\n\nafter\n"
	tests := []struct {
		name, start, end, part string
		want, wantErr          string
	}{
		{"up to a line", "inputs:", "outputs:", "inputs:\n  new: 1\n",
			"# title\ninputs:\n  new: 1\noutputs:\n  x: 2\n\n| a |\n|---|\n| b |\n\nafter\n", ""},
		{"up to a blank line", "| a |", "", "| c |\n",
			"# title\ninputs:\n  old: 1\noutputs:\n  x: 2\n\n| c |\n\nafter\n", ""},
		{"no start", "nothing:", "outputs:", "", "", `no line starting with "nothing:"`},
		{"no end", "inputs:", "runs:", "", "", `no line starting with "runs:" after "inputs:"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := settings.Splice(doc, tt.start, tt.end, tt.part)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if _, err := settings.Splice("x\nstart\nno blank line", "start", "", ""); err == nil || !strings.Contains(err.Error(), "no blank line") {
		t.Errorf("error %v, want no blank line", err)
	}
}

// Every line of a description in action.yml is at most 70 characters, so
// the generated file reads well; a longer word stands alone on its line.
func TestActionInputsWrap(t *testing.T) {
	t.Parallel()
	for _, l := range strings.Split(settings.ActionInputs(), "\n") {
		text := strings.TrimPrefix(l, "      ")
		if text != l && len(text) > 70 && strings.Contains(text, " ") {
			t.Errorf("line of %d characters: %q", len(text), text)
		}
	}
}
