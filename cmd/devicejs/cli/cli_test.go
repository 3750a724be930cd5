package cli_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"github.com/devicejs/devicejs/internal/syncbuf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// binary is the devicejs executable built once for the tests in this package.
var binary string

func TestMain(m *testing.M) {
	// The tests marked t.Parallel mostly wait on the binary they run (its timers, a broker, a
	// --for), so more of them than the default GOMAXPROCS run at once; an explicit -parallel
	// wins. Tests that time or measure the memory of a process stay serial: Go runs every
	// serial test before the parallel ones start, so those never share the machine with them.
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		flag.Set("test.parallel", strconv.Itoa(max(4, runtime.GOMAXPROCS(0))))
	}
	dir, err := os.MkdirTemp("", "devicejs-cli-test")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "devicejs")
	build := exec.Command("go", "build", "-o", binary, "github.com/devicejs/devicejs/cmd/devicejs")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("building devicejs: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is how one run of the real binary ended.
type result struct {
	code           int
	stdout, stderr string
	wall           time.Duration
}

// runBinary runs devicejs with args (bounded by a generous wall-time limit).
func runBinary(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errOut.String(), wall: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("running devicejs %v: %v", args, err)
	}
	return r
}

// script writes src to a file in a temporary folder and returns its path.
func script(t *testing.T, name, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestExitCodes is serial: "--for stops an endless interval" has 75 ms of wall time (7.5 s at
// --time-scale 100) for its ticks, too little beside the parallel tests.
func TestExitCodes(t *testing.T) {
	tt := []struct {
		name     string
		args     func(t *testing.T) []string
		code     int
		stdout   string // exact, when not empty
		stderrRE string // must match, when not empty
	}{
		{"version", func(*testing.T) []string { return []string{"version"} }, 0, "", ""},
		{"no arguments to run", func(*testing.T) []string { return []string{"run"} }, 2, "", "exactly one script"},
		{"unknown flag", func(*testing.T) []string { return []string{"run", "--bogus", "x.js"} }, 2, "", "unknown flag"},
		{"unknown command", func(*testing.T) []string { return []string{"frobnicate"} }, 2, "", "unknown command"},
		{"unreadable file", func(*testing.T) []string { return []string{"run", "/nonexistent/x.js"} }, 2, "", "cannot read script"},
		{"bad time scale", func(t *testing.T) []string {
			return []string{"run", "--time-scale", "0", script(t, "a.js", "")}
		}, 2, "", "time-scale"},
		{"finishes", func(t *testing.T) []string {
			return []string{"run", script(t, "a.js", "print('a', 1, true, null, undefined, {});")}
		}, 0, "a 1 true null undefined [object Object]\n", ""},
		{"timers run to completion", func(t *testing.T) []string {
			return []string{"run", "--time-scale", "100", script(t, "a.js",
				"setTimeout(function(){print('late')}, 2000); setTimeout(function(){print('early')}, 1000);")}
		}, 0, "early\nlate\n", ""},
		{"syntax error", func(t *testing.T) []string {
			return []string{"run", script(t, "bad.js", "var a = 1;\nvar = ;\n")}
		}, 1, "", `bad\.js:2:\d+`},
		{"uncaught exception at top level", func(t *testing.T) []string {
			return []string{"run", script(t, "throw.js", "print('before');\n  throw new Error('boom');\n")}
		}, 1, "before\n", `throw\.js:2:\d+.*boom`},
		{"uncaught exception in a timer", func(t *testing.T) []string {
			return []string{"run", "--time-scale", "100", script(t, "timer.js",
				"setTimeout(function() {\n  null.x;\n}, 1000);\n")}
		}, 1, "", `timer\.js:2:\d+`},
		{"thrown string", func(t *testing.T) []string {
			return []string{"run", script(t, "s.js", "throw 'Failed to create mqtt instance';")}
		}, 1, "", `Failed to create mqtt instance`},
		{"--for stops an endless interval", func(t *testing.T) []string {
			return []string{"run", "--time-scale", "100", "--for", "7500ms", script(t, "i.js",
				"var n = 0; setInterval(function(){ n++; if (n % 5 == 0) print(n); }, 1000);")}
		}, 0, "5\n", ""},
		{"--for stops a spinning loop", func(t *testing.T) []string {
			return []string{"run", "--time-scale", "100", "--for", "5s", script(t, "spin.js", "while(1) {}")}
		}, 0, "", ""},
		{"--timeout stops a spinning loop", func(t *testing.T) []string {
			return []string{"run", "--timeout", "300ms", script(t, "spin.js", "while(1) {}")}
		}, 3, "", "timeout"},
		{"sample 4 shape: spinning loop ended by an interval", func(t *testing.T) []string {
			return []string{"run", "--time-scale", "100", script(t, "s4.js", `var endEv = 0;
var to = setInterval(function() { print('end event'); endEv = 1; }, 30000);
while(1) {
  if (1 == endEv) { print('ABORT'); clearInterval(to); break; }
}`)}
		}, 0, "end event\nABORT\n", ""},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			r := runBinary(t, tc.args(t)...)
			if r.code != tc.code {
				t.Fatalf("exit code %d, want %d\nstdout: %s\nstderr: %s", r.code, tc.code, r.stdout, r.stderr)
			}
			if tc.stdout != "" && r.stdout != tc.stdout {
				t.Errorf("stdout %q, want %q", r.stdout, tc.stdout)
			}
			if tc.stderrRE != "" && !regexp.MustCompile(tc.stderrRE).MatchString(r.stderr) {
				t.Errorf("stderr %q does not match %q", r.stderr, tc.stderrRE)
			}
		})
	}
}

func TestUncaughtErrorHasStack(t *testing.T) {
	t.Parallel()
	p := script(t, "stack.js", "function inner() {\n  throw new Error('deep');\n}\nfunction outer() { inner(); }\nouter();\n")
	r := runBinary(t, "run", p)
	if r.code != 1 {
		t.Fatalf("exit code %d, want 1 (stderr %s)", r.code, r.stderr)
	}
	for _, want := range []string{"deep", "stack.js:2:", "inner", "outer"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
}

func TestTimeScaleRunsDeviceTimeFaster(t *testing.T) {
	// A 20 s timer at scale 100 fires after about 0.2 s of wall time; the bound is loose on purpose.
	p := script(t, "t.js", "var t0 = Date.now(); setTimeout(function(){ print(Date.now() - t0 >= 20000); }, 20000);")
	r := runBinary(t, "run", "--time-scale", "100", p)
	if r.code != 0 || r.stdout != "true\n" {
		t.Fatalf("code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if r.wall > 10*time.Second {
		t.Errorf("a 20 s device-time timer at scale 100 took %v of wall time", r.wall)
	}
}

func TestInterruptStopsCleanly(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGINT, 130}, {syscall.SIGTERM, 143}} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			p := script(t, "spin.js", "print('started');\nwhile(1) {}\n")
			cmd := exec.Command(binary, "run", p)
			out := &syncbuf.Buffer{}
			cmd.Stdout = out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(30 * time.Second)
			for !strings.Contains(out.String(), "started") && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Fatal("devicejs did not stop after the signal")
			}
			if got := cmd.ProcessState.ExitCode(); got != tc.code {
				t.Errorf("exit code %d, want %d", got, tc.code)
			}
		})
	}
}
