package procpeak

import (
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"
)

func TestHWM(t *testing.T) {
	tests := []struct {
		name   string
		status string
		want   int64
		ok     bool
	}{
		{"a status file", "Name:\tx\nVmPeak:\t  9000 kB\nVmHWM:\t    1234 kB\nVmRSS:\t  1000 kB\n", 1234 << 10, true},
		{"the last line, no newline", "Name:\tx\nVmHWM:\t7 kB", 7 << 10, true},
		{"no VmHWM (a kernel thread)", "Name:\tkthreadd\nState:\tS\n", 0, false},
		{"unreadable", "VmHWM:\tlots kB\n", 0, false},
		{"negative", "VmHWM:\t-1 kB\n", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := hwm([]byte(tt.status))
			if got != tt.want || ok != tt.ok {
				t.Errorf("hwm(%q) = %d, %t; want %d, %t", tt.status, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// allocEnv makes the test binary, run again by TestWatch, hold that many
// MiB for a while and exit.
const allocEnv = "PROCPEAK_TEST_ALLOC_MIB"

func TestMain(m *testing.M) {
	if os.Getenv(allocEnv) != "" {
		b := make([]byte, 32<<20)
		for i := range b {
			b[i] = byte(i)
		}
		time.Sleep(100 * time.Millisecond)
		runtime.KeepAlive(b)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestWatch runs a child that touches 32 MiB and checks that the peak
// read is at least that, and below the memory this test holds, which a
// figure that counted the parent's would be above.
func TestWatch(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc to read")
	}
	ballast := make([]byte, 128<<20)
	for i := 0; i < len(ballast); i += 4096 {
		ballast[i] = 1
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), allocEnv+"=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop := Watch(cmd.Process.Pid, 2*time.Millisecond)
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	peak := stop()
	runtime.KeepAlive(ballast)
	if peak < 32<<20 || peak >= 128<<20 {
		t.Errorf("peak %d MiB, want at least 32 MiB and below 128 MiB", peak>>20)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		t.Logf("peak %d MiB; rusage says %d MiB", peak>>20, ru.Maxrss>>10)
	}
}
