package cli_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// sourceShapes builds, in a fresh folder, the files that are not device scripts (issue 17
// findings 5 and 6): a character device, FIFOs with and without a writer, a directory, a file
// of 17 MiB and one of 16 MiB + 1 byte, a socket, symlinks to them and a symlink loop. It returns the path
// of each shape and the message devicejs must give for it.
func sourceShapes(t *testing.T) (dir string, shapes []struct{ name, path, want string }) {
	t.Helper()
	dir = t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	for _, n := range []string{"fifo.js", "fifo-writer.js"} {
		if err := syscall.Mkfifo(p(n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	feedFIFO(t, p("fifo-writer.js"))
	if err := os.Mkdir(p("dir.js"), 0o755); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("// 17 MiB of comment\n"), (17<<20)/21+1)
	if err := os.WriteFile(p("big.js"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	// one byte past the bound: a script of exactly 16 MiB is read (its parse is another matter)
	if err := os.WriteFile(p("past.js"), bytes.Repeat([]byte(" "), 16<<20+1), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", p("sock.js"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	for _, s := range [][2]string{{"zero-link.js", "/dev/zero"}, {"fifo-link.js", p("fifo.js")},
		{"loop-a.js", p("loop-b.js")}, {"loop-b.js", p("loop-a.js")}} {
		if err := os.Symlink(s[1], p(s[0])); err != nil {
			t.Fatal(err)
		}
	}
	shapes = []struct{ name, path, want string }{
		{"/dev/zero", "/dev/zero", "/dev/zero: not a regular file (a character device)"},
		{"/dev/urandom", "/dev/urandom", "/dev/urandom: not a regular file (a character device)"},
		{"FIFO without a writer", p("fifo.js"), "fifo.js: not a regular file (a FIFO)"},
		{"FIFO with a writer that never stops", p("fifo-writer.js"), "fifo-writer.js: not a regular file (a FIFO)"},
		{"directory", p("dir.js"), "dir.js: not a regular file (a directory)"},
		{"17 MiB file", p("big.js"), "big.js: larger than the source limit of"},
		{"16 MiB + 1 byte", p("past.js"), "past.js: larger than the source limit of"},
		{"socket", p("sock.js"), "sock.js: not a regular file (a socket)"},
		{"symlink to /dev/zero", p("zero-link.js"), "zero-link.js: not a regular file (a character device)"},
		{"symlink to a FIFO", p("fifo-link.js"), "fifo-link.js: not a regular file (a FIFO)"},
		{"symlink loop", p("loop-a.js"), "loop-a.js: too many levels of symbolic links"},
	}
	return dir, shapes
}

// feedFIFO writes to the FIFO at path without end whenever a reader opens it (a non-blocking
// open for writing fails until one does), until the test ends.
func feedFIFO(t *testing.T, path string) {
	var mu sync.Mutex
	var w *os.File
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		buf := bytes.Repeat([]byte("print(1);\n"), 6554)
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
			if err != nil {
				continue
			}
			mu.Lock()
			w = f
			mu.Unlock()
			for _, err := f.Write(buf); err == nil; _, err = f.Write(buf) {
			}
			f.Close()
		}
	}()
	t.Cleanup(func() {
		close(stop)
		mu.Lock()
		if w != nil {
			w.Close()
		}
		mu.Unlock()
		<-done
	})
}

// TestSourceFilesRegularOnly (issue 17 findings 5, 6): run, check, fleet and test of each
// shape, and device.start of it from a test file, end at once with an error naming the path
// and the kind of file (run, check, fleet: exit 2; test: the file fails, exit 1), never
// blocking in open or read and never reading past 16 MiB. The figures go to
// docs/reliability.md (go test -v -run TestSourceFilesRegularOnly).
func TestSourceFilesRegularOnly(t *testing.T) {
	t.Parallel()
	dir, shapes := sourceShapes(t)
	for _, sh := range shapes {
		starter := filepath.Join(t.TempDir(), "start.test.js")
		src := "test('start', function() { device.start(" + jsString(sh.path) + "); });\n"
		if err := os.WriteFile(starter, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			cmd  string
			args []string
			code int
			out  func(result) string
		}{
			{"run", []string{"run", "--timeout", "3s", sh.path}, 2, stderrOf},
			{"check", []string{"check", sh.path}, 2, stderrOf},
			{"fleet", []string{"fleet", "-n", "2", "--timeout", "3s", sh.path}, 2, stderrOf},
			{"test", []string{"test", "--timeout", "3s", sh.path}, 1, stdoutOf},
			{"device.start", []string{"test", "--timeout", "3s", starter}, 1, stdoutOf},
		} {
			t.Run(c.cmd+"/"+sh.name, func(t *testing.T) {
				code, out, want := c.code, c.out, sh.want
				switch {
				case c.cmd == "test" && sh.name == "directory":
					code, out, want = 2, stderrOf, "no *.test.js files found" // a folder of no test files
				case c.cmd == "test" && sh.name == "symlink loop":
					code, out = 2, stderrOf // an unreadable path (Collect's stat)
				}
				r := runBinary(t, c.args...)
				if r.code != code {
					t.Fatalf("exit %d, want %d\nstdout: %.500s\nstderr: %.500s", r.code, code, r.stdout, r.stderr)
				}
				if out := out(r); !strings.Contains(out, want) {
					t.Errorf("output %.500q, want %q", out, sh.want)
				}
				if r.wall > 10*time.Second {
					t.Errorf("took %v", r.wall)
				}
				t.Logf("exit %d in %v", r.code, r.wall.Round(time.Millisecond))
			})
		}
	}
	// A symlink to a regular file is read like the file.
	ok := filepath.Join(dir, "ok.js")
	if err := os.WriteFile(ok, []byte("print('hello')\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(ok, filepath.Join(dir, "ok-link.js")); err != nil {
		t.Fatal(err)
	}
	if r := runBinary(t, "run", filepath.Join(dir, "ok-link.js")); r.code != 0 || r.stdout != "hello\n" {
		t.Errorf("run of a symlink: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

func stdoutOf(r result) string { return r.stdout }
func stderrOf(r result) string { return r.stderr }

// TestDeviceStartPaths: device.start resolves a relative path against the test file's folder
// (also with ..), and accepts an absolute one (docs/testing.md, "Paths").
func TestDeviceStartPaths(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	for _, d := range []string{"tests", "scripts"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dev := filepath.Join(root, "scripts", "dev.js")
	if err := os.WriteFile(dev, []byte("print('up')\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "tests", "here.js"), []byte("print('here')\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := `
test('relative', function() { var d = device.start('here.js'); world.after(10); expect(d).toHavePrinted('here'); });
test('dot dot', function() { var d = device.start('../scripts/dev.js'); world.after(10); expect(d).toHavePrinted('up'); });
test('absolute', function() { var d = device.start(` + jsString(dev) + `); world.after(10); expect(d).toHavePrinted('up'); });
`
	tf := filepath.Join(root, "tests", "paths.test.js")
	if err := os.WriteFile(tf, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	// run from another folder: the paths are the test file's, not the working directory's
	cmd := exec.Command(binary, "test", tf)
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil || strings.Count(string(out), "ok   ") != 3 {
		t.Fatalf("%v\n%s", err, out)
	}
}

// TestTestFileMemoryBudget (issue 17 finding 5): allocations in a test file, and in a device
// it starts, end the file at --max-memory 64MiB with the budget error (exit 1) before the
// process holds more than twice the budget plus the baseline of a passing test run; the
// tests after it in the file do not run. Before: one test line reached 2-3 GB and ran 17-30 s
// past its --timeout. The figures go to docs/reliability.md (go test -v -run
// TestTestFileMemoryBudget).
func TestTestFileMemoryBudget(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("idle.js", "setInterval(function() {}, 1000);\n")
	write("leak.js", "var a = []; setInterval(function() { for (var i = 0; i < 50; i++) a.push(new Array(1e5).fill(i)); }, 10);\n")
	write("spin-leak.js", "var a = []; setTimeout(function() { while (1) a.push(new Array(1e5)); }, 10);\n")
	write("bomb.js", "setTimeout(function() { new Array(2e9).fill(0); }, 10);\n")
	base := runPeakOut(t, "test", "--max-memory", "64MiB", write("base.test.js", "test('t', function() { var d = device.start('idle.js'); world.after(1000); });\n"))
	if base.code != 0 || base.peak == 0 {
		t.Fatalf("baseline: exit %d, peak %d\n%s%s", base.code, base.peak, base.stdout, base.stderr)
	}
	bound := 2*rssBudget + base.peak
	tt := []struct{ name, body string }{
		{"new Array(2e9).fill(0)", "new Array(2e9).fill(0);"},
		{"'x'.repeat(2**28) in a loop", "var a = []; for (var i = 0; i < 100; i++) a.push('x'.repeat(2**28));"},
		{"'x'.repeat(2**24) in a loop", "var a = []; for (var i = 0; i < 1000; i++) a.push('x'.repeat(2**24) + i);"},
		{"while(1) a.push(new Array(1e5))", "var a = []; while (1) a.push(new Array(1e5));"},
		{"after a device started", "var d = device.start('idle.js'); world.after(100); var a = []; while (1) a.push(new Array(1e5));"},
		{"device leaking in a timer", "var d = device.start('leak.js'); world.after(3600 * 1000); world.after(3600 * 1000);"},
		{"device leaking in a busy loop", "var d = device.start('spin-leak.js'); world.after(60 * 1000); world.after(60 * 1000);"},
		{"device new Array(2e9).fill(0)", "var d = device.start('bomb.js'); world.after(1000); world.after(1000);"},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			p := write("bomb.test.js", "test('bomb', function() { "+tc.body+" });\ntest('after', function() { print('after ran'); });\n")
			r := runPeakOut(t, "test", "--max-memory", "64MiB", "--timeout", "30s", p)
			if r.killed {
				t.Fatalf("killed at %d MiB resident after %v", rssKill>>20, r.wall)
			}
			if r.code != 1 || !strings.Contains(r.stdout, "memory budget exceeded") || !strings.Contains(r.stdout, "bomb.test.js: bomb (") {
				t.Fatalf("exit %d, want 1 with the budget error\nstdout: %.1500s\nstderr: %.500s", r.code, r.stdout, r.stderr)
			}
			if strings.Contains(r.stdout, ": after") {
				t.Errorf("a test ran after the budget error:\n%s", r.stdout)
			}
			if r.peak > bound {
				t.Errorf("peak RSS %d MiB, over twice the budget plus the baseline (%d MiB)", r.peak>>20, bound>>20)
			}
			if r.wall > 25*time.Second {
				t.Errorf("took %v", r.wall)
			}
			line := ""
			for _, l := range strings.Split(r.stdout, "\n") {
				if strings.Contains(l, "memory budget exceeded") {
					line = strings.TrimSpace(l)
					break
				}
			}
			t.Logf("exit %d in %v, peak RSS %d MiB (bound %d MiB, baseline %d MiB): %s", r.code, r.wall.Round(time.Millisecond),
				r.peak>>20, bound>>20, base.peak>>20, line)
		})
	}
}

// TestTestCommandStuckStops (issue 17 finding 5): a test stuck in one long built-in call (one
// sort of 12 million one-letter strings, longer than the 3 s the stuck rule waits, built at the file's top
// level in under a second so that the test's time is the sort alone; no memory budget) is ended by --timeout (the file fails:
// exit 1, 2 s after the interrupt that follows the timeout) and by SIGTERM (exit 143, 2 s
// after the signal; the hard-stop message when the signal came during the sort). One call,
// not repeated sorts: a second sort of a sorted array is quick, and goja checks the interrupt
// between calls.
func TestTestCommandStuckStops(t *testing.T) {
	p := script(t, "sort.test.js", "var b = 'abcdefgh'.repeat(1.5e6).split('');\ntest('sort', function() { b.sort(); });\n")
	for _, tc := range []struct {
		name    string
		sig     syscall.Signal
		timeout string
		code    int
		msg     string // with --timeout
		bound   time.Duration
	}{
		{"--timeout 1s", 0, "1s", 1, `test "sort" did not stop within 3s after its timeout`, 20 * time.Second},
		{"SIGTERM", syscall.SIGTERM, "60s", 143, "", 15 * time.Second},
		{"SIGINT", syscall.SIGINT, "60s", 130, "", 15 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The three runs are separate processes that mostly wait on the stop (they share
			// nothing); run together, the sorts only get slower, that is longer stuck.
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, binary, "test", "--max-memory", "0", "--timeout", tc.timeout, p)
			var out, errOut bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errOut
			start := time.Now()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			signalled := start
			if tc.sig != 0 {
				time.Sleep(3 * time.Second) // inside the sort by then, most likely
				signalled = time.Now()
				if err := cmd.Process.Signal(tc.sig); err != nil {
					t.Fatal(err)
				}
			}
			err := cmd.Wait()
			wall := time.Since(start)
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			}
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out.String(), errOut.String())
			}
			if tc.sig == 0 && !strings.Contains(errOut.String(), tc.msg) {
				t.Errorf("stderr %q lacks %q", errOut.String(), tc.msg)
			}
			if wall > tc.bound {
				t.Errorf("took %v", wall)
			}
			t.Logf("exit %d %v after start, %v after the signal: %s", code, wall.Round(time.Millisecond),
				time.Since(signalled).Round(time.Millisecond), strings.TrimSpace(errOut.String()))
		})
	}
}
