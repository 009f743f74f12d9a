package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

// The release rewrites action.yml's `runs.image` with scripts/pin-action-image.sh
// (.github/workflows/release.yml, scripts/release.sh). These cases run the script
// itself on files written for each case.
func TestPinActionImage(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the release scripts run on Linux runners")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal("bash is needed to test scripts/pin-action-image.sh:", err)
	}
	script, err := filepath.Abs("../scripts/pin-action-image.sh")
	if err != nil {
		t.Fatal(err)
	}
	actionYML, err := os.ReadFile("../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	const (
		ref   = "docker://ghcr.io/miosa-dev/sandbox-templates-action@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
		other = "docker://ghcr.io/miosa-dev/sandbox-templates-action@sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
	)
	indent4 := strings.ReplaceAll(string(actionYML), "\n  ", "\n    ")
	if !strings.Contains(indent4, "\n    image: Dockerfile\n") {
		t.Fatal("../action.yml has no `  image: Dockerfile` line to re-indent")
	}
	nested := "name: x\ndescription: |\n  image: Dockerfile\nruns:\n  using: docker\n  env:\n    image: Dockerfile\n  image: Dockerfile # built by the runner\n  args: [version]\n"

	cases := []struct {
		name     string
		in       string
		args     []string // after the file; default: ref
		code     int
		want     string // the file afterwards; "" means unchanged
		stdout   string // printed (--print)
		errorHas string
	}{
		{name: "action.yml as it is (2 spaces)", in: string(actionYML), code: 0,
			want: strings.Replace(string(actionYML), "\n  image: Dockerfile\n", "\n  image: "+ref+"\n", 1)},
		{name: "4 spaces", in: indent4, code: 0,
			want: strings.Replace(indent4, "\n    image: Dockerfile\n", "\n    image: "+ref+"\n", 1)},
		{name: "quoted, with a comment, other image keys elsewhere", in: nested, code: 0,
			want: strings.Replace(nested, "  image: Dockerfile # built by the runner\n", "  image: "+ref+"\n", 1)},
		{name: "CRLF, no final newline", in: "runs:\r\n  using: docker\r\n  image: 'Dockerfile'", code: 0,
			want: "runs:\r\n  using: docker\r\n  image: " + ref},
		{name: "already pinned to this image", in: "runs:\n  using: docker\n  image: " + ref + "\n", code: 0},
		{name: "pinned to another image", in: "runs:\n  using: docker\n  image: " + other + "\n", code: 1, errorHas: "not Dockerfile"},
		{name: "no image key", in: "name: x\nruns:\n  using: composite\n  steps: []\n", code: 1, errorHas: "no 'image:' key"},
		{name: "image only outside runs", in: "image: Dockerfile\nruns:\n  using: docker\n", code: 1, errorHas: "no 'image:' key"},
		{name: "two image keys", in: "runs:\n  image: Dockerfile\n  using: docker\n  image: Dockerfile\n", code: 1, errorHas: "2 'image:' keys"},
		{name: "another Dockerfile path", in: "runs:\n  using: docker\n  image: build/Dockerfile\n", code: 1, errorHas: "not Dockerfile"},
		{name: "reference by tag, not digest", in: string(actionYML), args: []string{"docker://ghcr.io/miosa-dev/x:v1"}, code: 2, errorHas: "not a docker://"},
		{name: "upper-case reference", in: string(actionYML), args: []string{strings.Replace(ref, "miosa-dev", "Miosa-Dev", 1)}, code: 2, errorHas: "not a docker://"},
		{name: "print", in: "runs:\n  using: docker\n  image: \"" + ref + "\"  # pinned\n", args: []string{"--print"}, code: 0, stdout: ref + "\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			file := filepath.Join(t.TempDir(), "action.yml")
			if err := os.WriteFile(file, []byte(tc.in), 0o644); err != nil {
				t.Fatal(err)
			}
			args := []string{script, file, ref}
			if len(tc.args) == 1 && tc.args[0] == "--print" {
				args = []string{script, "--print", file}
			} else if tc.args != nil {
				args = append([]string{script, file}, tc.args...)
			}
			var stdout, stderr bytes.Buffer
			cmd := exec.Command(bash, args...)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout.String(), stderr.String())
			}
			if tc.errorHas != "" && !strings.Contains(stderr.String(), tc.errorHas) {
				t.Errorf("stderr %q does not say %q", stderr.String(), tc.errorHas)
			}
			if tc.stdout != "" && stdout.String() != tc.stdout {
				t.Errorf("stdout %q, want %q", stdout.String(), tc.stdout)
			}
			got, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			if want == "" {
				want = tc.in
			}
			if diff := cmp.Diff(want, string(got)); diff != "" {
				t.Errorf("file afterwards (-want +got):\n%s", diff)
			}
			if entries, _ := os.ReadDir(filepath.Dir(file)); len(entries) != 1 {
				t.Errorf("the script left %d files in the directory, want only action.yml", len(entries))
			}
		})
	}

	// The pinned action.yml of this repository is still valid YAML that says exactly this image and
	// is otherwise the same document.
	t.Run("pinned action.yml parses", func(t *testing.T) {
		t.Parallel()
		file := filepath.Join(t.TempDir(), "action.yml")
		if err := os.WriteFile(file, actionYML, 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(bash, script, file, ref).CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		pinned, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var before, after map[string]any
		if err := yaml.Unmarshal(actionYML, &before); err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(pinned, &after); err != nil {
			t.Fatalf("pinned action.yml: %v", err)
		}
		runs, _ := after["runs"].(map[string]any)
		if runs["image"] != ref {
			t.Errorf("runs.image = %v, want %s", runs["image"], ref)
		}
		before["runs"].(map[string]any)["image"] = ref
		if diff := cmp.Diff(before, after); diff != "" {
			t.Errorf("pinning changed more than runs.image (-want +got):\n%s", diff)
		}
	})
}
