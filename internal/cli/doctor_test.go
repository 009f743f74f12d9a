package cli

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/miosa-dev/sandbox-templates-action/internal/emulator"
)

func TestDoctorCommand(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(emulator.New(emulator.NewOptions()))
	t.Cleanup(srv.Close)
	const canary = "msk_canary_Rf6Yt2Nc8Ks4Pq"
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string // in stdout
	}{
		{"emulator URL from the environment", map[string]string{"MIOSA_API_KEY": canary, "MIOSA_API_URL": srv.URL + "/api/v1"},
			[]string{"doctor"}, ExitOK, "The action can work with this server and key."},
		{"--api-url overrides the environment", map[string]string{"MIOSA_API_KEY": canary, "MIOSA_API_URL": "http://127.0.0.1:1/api/v1"},
			[]string{"doctor", "--api-url", srv.URL + "/api/v1"}, ExitOK, "ok    key        accepted"},
		{"a URL that cannot work", map[string]string{"MIOSA_API_KEY": canary},
			[]string{"doctor", "--api-url", srv.URL}, ExitProblems, "fail  url"},
		{"no key", nil, []string{"doctor", "--api-url", srv.URL + "/api/v1"}, ExitProblems, "fail  key        MIOSA_API_KEY is not set"},
		{"built-in emulator", nil, []string{"doctor", "--emulator"}, ExitOK, "ok    validate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runCLI(t, tt.env, tt.args...)
			if code != tt.code || !strings.Contains(out, tt.want) {
				t.Errorf("exit %d (want %d), stdout does not hold %q:\n%s\nstderr:\n%s", code, tt.code, tt.want, out, errOut)
			}
			if strings.Contains(out+errOut, canary[4:12]) {
				t.Errorf("the key is printed:\n%s%s", out, errOut)
			}
		})
	}
}

func TestDoctorJSON(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(emulator.New(emulator.NewOptions()))
	t.Cleanup(srv.Close)
	code, out, _ := runCLI(t, map[string]string{"MIOSA_API_KEY": "msk_test_Jw3Xc9Ld5Vb"}, "doctor", "--json", "--api-url", srv.URL+"/api/v1")
	var doc struct {
		OK     bool `json:"ok"`
		Checks []struct {
			Name, Status string
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out)
	}
	if code != ExitOK || !doc.OK || len(doc.Checks) != 8 {
		t.Errorf("exit %d, ok %v, %d checks:\n%s", code, doc.OK, len(doc.Checks), out)
	}
}

func TestDoctorHelp(t *testing.T) {
	t.Parallel()
	code, out, _ := runCLI(t, nil, "help", "doctor")
	if code != ExitOK {
		t.Errorf("exit %d", code)
	}
	cliGolden.Check(t, "help-doctor.golden", out)
}
