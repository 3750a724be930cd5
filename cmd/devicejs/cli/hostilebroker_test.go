package cli_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devicejs/devicejs/internal/testbroker"
)

// Issue 17 item 1: a broker crashed devicejs (a SUBACK with more return codes than the
// SUBSCRIBE had filters panicked paho's reader goroutine: exit 2 and a Go stack dump). These
// tests run the real binary, `run` and `fleet` without workers, against scripted brokers that
// break MQTT in many ways: the script sees the failure codes and `close` (or error 1), the exit
// code is 0 and stderr holds no Go panic.

// hostileRun is one run of the binary with its peak RSS.
type hostileRun struct {
	result
	peakRSS int64
}

// runWithRSS runs devicejs with args and reports the child's peak RSS (getrusage).
func runWithRSS(t *testing.T, args ...string) hostileRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	r := hostileRun{result: result{stdout: out.String(), stderr: errOut.String(), wall: time.Since(start)}}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("running devicejs %v: %v", args, err)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.peakRSS = ru.Maxrss << 10
	}
	return r
}

// noGoPanic fails when stderr shows a Go panic or stack dump.
func noGoPanic(t *testing.T, r hostileRun) {
	t.Helper()
	if r.code == 2 || strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine ") {
		t.Fatalf("exit %d with a Go panic:\n%s", r.code, r.stderr)
	}
}

// TestHostileBrokerRun runs `devicejs run` against each hostile broker: exit 0, the script's
// output as expected, no Go panic, and the time and peak RSS of the run.
func TestHostileBrokerRun(t *testing.T) {
	for _, sh := range testbroker.HostileShapes() {
		t.Run(sh.Name, func(t *testing.T) {
			t.Parallel()
			addr := testbroker.Scripted(t, sh.Answer)
			r := runWithRSS(t, "run", "--broker", addr, "--for", "3s", "--timeout", "30s", script(t, "hostile.js", testbroker.HostileScript))
			noGoPanic(t, r)
			if r.code != 0 {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			if r.stdout != sh.Stdout {
				t.Errorf("stdout %q, want %q", r.stdout, sh.Stdout)
			}
			t.Logf("FIGURE hostile-broker run: %s: %s; wall %v; peak RSS %.1f MiB",
				sh.Name, strings.ReplaceAll(strings.TrimSpace(r.stdout), "\n", ", "), r.wall.Round(time.Millisecond), float64(r.peakRSS)/(1<<20))
		})
	}
}

// TestHostileBrokerFleet runs `devicejs fleet -n 3` (instances in this process, no --workers)
// against each hostile broker: every instance reports, exit 0, no Go panic.
func TestHostileBrokerFleet(t *testing.T) {
	for _, sh := range testbroker.HostileShapes() {
		t.Run(sh.Name, func(t *testing.T) {
			t.Parallel()
			addr := testbroker.Scripted(t, sh.Answer)
			r := runWithRSS(t, "fleet", "-n", "3", "--broker", addr, "--for", "3s", "--timeout", "30s", script(t, "hostile.js", testbroker.HostileScript))
			noGoPanic(t, r)
			if r.code != 0 {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			for i := range 3 {
				var want strings.Builder
				for _, line := range strings.SplitAfter(sh.Stdout, "\n") {
					if line != "" {
						fmt.Fprintf(&want, "[%d] %s", i, line)
					}
				}
				var got strings.Builder
				for _, line := range strings.SplitAfter(r.stdout, "\n") {
					if strings.HasPrefix(line, fmt.Sprintf("[%d] ", i)) {
						got.WriteString(line)
					}
				}
				if got.String() != want.String() {
					t.Errorf("instance %d printed %q, want %q (all: %q)", i, got.String(), want.String(), r.stdout)
				}
			}
			t.Logf("FIGURE hostile-broker fleet -n 3: %s: wall %v; peak RSS %.1f MiB", sh.Name, r.wall.Round(time.Millisecond), float64(r.peakRSS)/(1<<20))
		})
	}
}
