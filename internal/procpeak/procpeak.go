// Package procpeak measures the peak memory of a child process on Linux,
// by reading /proc.
package procpeak

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

// Watch reads the peak resident set of process pid (VmHWM in
// /proc/PID/status, which starts afresh at the process's exec) every
// interval until the returned function is called, and that function
// returns the largest seen, in bytes: 0 when /proc could not be read. Call
// it after the process has been waited for.
//
// The kernel's own figure for a child (rusage's maximum resident set, as
// exec.Cmd's ProcessState gives it) counts the parent's memory too: the
// child shares it from the fork until the exec.
func Watch(pid int, interval time.Duration) (stop func() int64) {
	var peak atomic.Int64
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		path := fmt.Sprintf("/proc/%d/status", pid)
		for {
			if raw, err := os.ReadFile(path); err == nil {
				if n, ok := hwm(raw); ok && n > peak.Load() {
					peak.Store(n)
				}
			}
			select {
			case <-done:
				return
			case <-time.After(interval):
			}
		}
	}()
	return func() int64 {
		close(done)
		<-stopped
		return peak.Load()
	}
}

// hwm reads the VmHWM line of a /proc/PID/status file, "VmHWM:   1234 kB",
// in bytes.
func hwm(status []byte) (int64, bool) {
	for line := range bytes.Lines(status) {
		v, ok := bytes.CutPrefix(line, []byte("VmHWM:"))
		if !ok {
			continue
		}
		v = bytes.TrimSuffix(bytes.TrimSpace(v), []byte("kB"))
		kib, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
		if err != nil || kib < 0 {
			return 0, false
		}
		return kib << 10, true
	}
	return 0, false
}
