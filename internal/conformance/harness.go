package conformance

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"github.com/devicejs/devicejs/internal/syncbuf"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"time"
)

// T is what a scenario needs from its test: the subset of testing.TB that the suite uses, so
// the same scenarios run under `go test` (a *testing.T) and under `devicejs conformance`
// (a Recorder).
type T interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	TempDir() string
	Cleanup(func())
}

// scriptRun is one devicejs process whose stdout is read line by line as it runs.
type scriptRun struct {
	t      T
	cmd    *exec.Cmd
	stderr syncbuf.Buffer
	done   chan struct{}
	err    error

	mu    sync.Mutex
	lines []string
	seen  chan struct{} // closed and replaced whenever a line arrives
}

// startRun starts `binary run args...`, bounded by a generous wall-time limit.
func startRun(t T, binary string, args ...string) *scriptRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cmd := exec.CommandContext(ctx, binary, append([]string{"run"}, args...)...)
	r := &scriptRun{t: t, cmd: cmd, done: make(chan struct{}), seen: make(chan struct{})}
	cmd.Stderr = &r.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatalf("%v", err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("%v", err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			r.mu.Lock()
			r.lines = append(r.lines, sc.Text())
			close(r.seen)
			r.seen = make(chan struct{})
			r.mu.Unlock()
		}
		r.err = cmd.Wait()
		cancel()
		close(r.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r
}

// output returns the lines printed so far.
func (r *scriptRun) output() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.lines...)
}

// waitFor waits until a line matching re appears after the first `after` lines; it returns the
// index of that line. It fails the test after limit.
func (r *scriptRun) waitFor(re string, after int, limit time.Duration) int {
	r.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.After(limit)
	for {
		r.mu.Lock()
		for i := after; i < len(r.lines); i++ {
			if rx.MatchString(r.lines[i]) {
				r.mu.Unlock()
				return i
			}
		}
		seen := r.seen
		r.mu.Unlock()
		select {
		case <-seen:
		case <-r.done:
			if i := indexFrom(r.output(), rx, after); i >= 0 {
				return i
			}
			r.t.Fatalf("devicejs ended before printing %q\nstdout:\n%s\nstderr:\n%s", re, strings.Join(r.output(), "\n"), r.stderr.String())
		case <-deadline:
			r.t.Fatalf("no line matching %q within %v\nstdout:\n%s", re, limit, strings.Join(r.output(), "\n"))
		}
	}
}

// finish waits for the process to exit and checks that it exited 0 without an uncaught exception.
func (r *scriptRun) finish() []string {
	r.t.Helper()
	select {
	case <-r.done:
	case <-time.After(2 * time.Minute):
		r.t.Fatalf("devicejs did not exit")
	}
	var ee *exec.ExitError
	if r.err != nil {
		code := -1
		if errors.As(r.err, &ee) {
			code = ee.ExitCode()
		}
		r.t.Fatalf("devicejs exited %d: %v\nstdout:\n%s\nstderr:\n%s", code, r.err, strings.Join(r.output(), "\n"), r.stderr.String())
	}
	if strings.Contains(r.stderr.String(), "Uncaught") {
		r.t.Fatalf("uncaught exception:\n%s", r.stderr.String())
	}
	return r.output()
}

func indexFrom(lines []string, rx *regexp.Regexp, from int) int {
	for i := from; i < len(lines); i++ {
		if rx.MatchString(lines[i]) {
			return i
		}
	}
	return -1
}

// expectInOrder checks that each pattern matches a line, in this order (other lines may come
// between), and that no line matches a forbidden pattern.
func expectInOrder(t T, lines []string, inOrder []string, forbidden []string) {
	t.Helper()
	at := 0
	for _, p := range inOrder {
		i := indexFrom(lines, regexp.MustCompile(p), at)
		if i < 0 {
			t.Errorf("no line matching %q after line %d\nstdout:\n%s", p, at, numbered(lines))
			return
		}
		at = i + 1
	}
	for _, p := range forbidden {
		if i := indexFrom(lines, regexp.MustCompile(p), 0); i >= 0 {
			t.Errorf("line %d %q matches forbidden %q\nstdout:\n%s", i, lines[i], p, numbered(lines))
		}
	}
}

// countMatching counts the lines that match re.
func countMatching(lines []string, re string) int {
	rx := regexp.MustCompile(re)
	n := 0
	for _, l := range lines {
		if rx.MatchString(l) {
			n++
		}
	}
	return n
}

func numbered(lines []string) string {
	var b strings.Builder
	for i, l := range lines {
		fmt.Fprintf(&b, "%3d %s\n", i, l)
	}
	return b.String()
}
