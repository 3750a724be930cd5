package isolation

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devicejs/devicejs/internal/syncbuf"
	"github.com/devicejs/devicejs/runtime"
)

// exitErr is the error of a child that exited with code.
func exitErr(t *testing.T, code int) error {
	t.Helper()
	err := exec.Command("/bin/sh", "-c", fmt.Sprintf("exit %d", code)).Run()
	if err == nil {
		t.Fatalf("exit %d gave no error", code)
	}
	return err
}

// fakeChild writes a shell script standing in for devicejs: it ignores its arguments and runs
// body, with the result descriptor as fd 3.
func fakeChild(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fake-devicejs")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// devicejsBinary builds the real binary once for the package's tests.
func devicejsBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "isolation-test-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "devicejs")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/devicejs/devicejs/cmd/devicejs").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("building devicejs: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

func bounded(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestRunFakeChildren: children that are not devicejs (any Binary may be given) write what
// they like on the result descriptor, or nothing; the parent judges them by their exit
// status, never hangs, and keeps only a valid line.
func TestRunFakeChildren(t *testing.T) {
	valid := `{"v":1,"exit":1,"ending":"script failed","error":{"kind":"exception","message":"Error: fake","file":"x.js","line":3,"column":1},"stats":{"published":5}}`
	for _, tc := range []struct {
		name   string
		body   string
		ending Ending
		code   int // ChildExitError's, when ending is NotStarted
		stats  uint64
	}{
		{"a valid line", "printf '%s\\n' '" + valid + "' >&3; exit 1", ScriptFailed, 0, 5},
		{"no line, exit 1", "echo 'x.js:1:1: Uncaught Error: printed only' >&2; exit 1", NotStarted, 1, 0},
		{"no line, exit 0", "exit 0", Finished, 0, 0},
		{"no line, exit 3", "exit 3", Canceled, 0, 0},
		{"garbage, exit 1", "echo 'garbage' >&3; exit 1", NotStarted, 1, 0},
		{"a valid line for exit 0, exit 1", "printf '%s\\n' '" + strings.Replace(valid, `"exit":1`, `"exit":0`, 1) + "' >&3; exit 1", NotStarted, 1, 0},
		{"an over-long line, exit 1", "head -c 3000000 /dev/zero | tr '\\0' 'a' >&3; exit 1", NotStarted, 1, 0},
		{"megabytes after a valid line", "printf '%s\\n' '" + valid + "' >&3; head -c 5000000 /dev/zero >&3; exit 1", ScriptFailed, 0, 5},
		{"the descriptor closed at once", "exec 3>&-; exit 0", Finished, 0, 0},
		{"a usage error", "echo 'devicejs: unknown flag: --result-fd' >&2; exit 2", NotStarted, 2, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Run(bounded(t), "x.js", "print(1)", Config{Binary: fakeChild(t, tc.body)})
			if tc.ending == NotStarted {
				var ce *ChildExitError
				if !errors.As(err, &ce) || ce.Code != tc.code {
					t.Fatalf("result %+v, err %v", res, err)
				}
				return
			}
			if err != nil || res.Ending != tc.ending || res.Stats.Published != tc.stats {
				t.Fatalf("result %+v, err %v", res, err)
			}
		})
	}

	t.Run("a grandchild holds the descriptor", func(t *testing.T) {
		// The child exits at once; its background child keeps fd 3 (and stderr) open for a
		// minute. Run returns after its bound (childWaitDelay), not after the minute.
		start := time.Now()
		res, err := Run(bounded(t), "x.js", "", Config{Binary: fakeChild(t, "sleep 60 & exit 0")})
		took := time.Since(start)
		if err != nil || res.Ending != Finished {
			t.Fatalf("result %+v, err %v", res, err)
		}
		if took > 30*time.Second {
			t.Errorf("took %v", took)
		}
	})

	t.Run("a child writing forever, killed by the caller", func(t *testing.T) {
		ctx, cancel := context.WithCancelCause(context.Background())
		stop := errors.New("stop")
		time.AfterFunc(500*time.Millisecond, func() { cancel(stop) })
		res, err := Run(ctx, "x.js", "", Config{Binary: fakeChild(t, "while :; do echo '{\"v\":1}'; done >&3")})
		if err != nil || res.Ending != Canceled || !errors.Is(res.Err, stop) {
			t.Fatalf("result %+v, err %v", res, err)
		}
	})
}

// TestRunStats runs the real `devicejs run` in a child: the Stats of the run cross the
// process boundary in the result line, with the script error of a failed run, and a child
// killed mid-run (the caller's context) gives Canceled and no line.
func TestRunStats(t *testing.T) {
	bin := devicejsBinary(t)
	// Three QoS 1 publishes, one after the other (the spec: a publish before the previous
	// one's callback may be discarded), each received back; then an uncaught error.
	src := `var c = mqtt.connect('mqtt://127.0.0.1:1883', {clientId: 'stats1'});
var sent = 0, got = 0;
function next() {
  c.publish('stats/t', 'm' + sent, {qos: 1}, function(err) { if (err.code === 0 && ++sent < 3) next(); });
}
c.on('connect', function() { c.subscribe('stats/#', {qos: 1}, function() { next(); }); });
c.on('message', function() { if (++got === 3) setTimeout(function() { FAIL; }, 100); });`
	var errOut syncbuf.Buffer
	res, err := Run(bounded(t), "stats.js", src, Config{Binary: bin, Broker: "embedded", Stderr: &errOut, Timeout: 30 * time.Second})
	if err != nil || res.Ending != ScriptFailed {
		t.Fatalf("result %+v, err %v, stderr %q", res, err, errOut.String())
	}
	var se *runtime.ScriptError
	if !errors.As(res.Err, &se) || se.Kind != runtime.KindException || se.File != "stats.js" || !strings.Contains(se.Message, "FAIL") {
		t.Errorf("script error %#v", res.Err)
	}
	if res.Stats.Published != 3 || res.Stats.Received != 3 {
		t.Errorf("stats %+v, want 3 published and 3 received", res.Stats)
	}
	if !strings.Contains(errOut.String(), "FAIL") {
		t.Errorf("stderr %q does not carry the error", errOut.String())
	}

	t.Run("finished, for elapsed", func(t *testing.T) {
		res, err := Run(bounded(t), "ok.js", `print('x');`, Config{Binary: bin, Broker: "embedded"})
		if err != nil || res.Ending != Finished {
			t.Fatalf("result %+v, err %v", res, err)
		}
		// --for 1s at time scale 100: 10 ms of wall time; the line, not the wall time, says
		// ForElapsed.
		res, err = Run(bounded(t), "tick.js", `setInterval(function() {}, 100);`, Config{Binary: bin, Broker: "embedded", For: time.Second, TimeScale: 100})
		if err != nil || res.Ending != ForElapsed {
			t.Fatalf("result %+v, err %v", res, err)
		}
	})

	t.Run("killed mid-run", func(t *testing.T) {
		ctx, cancel := context.WithCancelCause(context.Background())
		defer cancel(nil)
		var out syncbuf.Buffer
		stop := errors.New("caller stopped")
		done := make(chan struct{})
		var res Result
		var err error
		go func() {
			defer close(done)
			res, err = Run(ctx, "spin.js", `print('spinning'); while (1) {}`, Config{Binary: bin, Broker: "embedded", Stdout: &out})
		}()
		for deadline := time.Now().Add(30 * time.Second); out.String() == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		}
		cancel(stop)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("Run did not return 20 s after the cancel")
		}
		if err != nil || res.Ending != Canceled || !errors.Is(res.Err, stop) || res.Stats != (Stats{}) {
			t.Fatalf("result %+v, err %v, stdout %q", res, err, out.String())
		}
	})

	t.Run("result descriptor refused", func(t *testing.T) {
		// The child side checks the descriptor: not one of 0-2, and open.
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "x.js"), []byte("print(1)"), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, fd := range []string{"1", "2", "-1", "99"} {
			cmd := exec.Command(bin, "run", "--broker", "embedded", "--result-fd", fd, "x.js")
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "--result-fd") {
				t.Errorf("--result-fd %s: err %v, output %q", fd, err, out)
			}
		}
	})
}
