package devtest_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devicejs/devicejs/devtest"
)

// TestLongHandlerSeesNoTimePass: a timer callback that computes for a long time (at least 50 ms
// of wall time, more under -race or a loaded machine) while another timer is due 1 ms later
// sees Date.now() unchanged from its start to its end: the world knows the script is busy
// (runtime.IdleClock) and does not move device time, whatever the wall time.
func TestLongHandlerSeesNoTimePass(t *testing.T) {
	src, err := os.ReadFile("testdata/idle/compute.js")
	if err != nil {
		t.Fatal(err)
	}
	test, err := os.ReadFile("testdata/idle/compute.test.js")
	if err != nil {
		t.Fatal(err)
	}
	// 40,000 iterations take 0.1-0.6 s of wall time under -race: well over 50 ms, well under
	// StuckAfter (a script silent for that long lets time move on, docs/testing.md).
	for _, n := range []string{"5000", "40000"} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "compute.js"), []byte(strings.ReplaceAll(string(src), "ITERATIONS", n)), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "compute.test.js"), test, 0o600); err != nil {
			t.Fatal(err)
		}
		r := runFile(t, filepath.Join(dir, "compute.test.js"), devtest.Options{})
		if r.Failed() || len(r.Tests) != 1 {
			t.Fatalf("%s iterations: %+v %v", n, r.Tests, r.Err)
		}
		if n == "40000" && r.Tests[0].Wall.Milliseconds() < 50 {
			t.Errorf("the handler computed for %v of wall time, want at least 50 ms: raise the iterations", r.Tests[0].Wall)
		}
	}
}

// TestDeviceTimeTraceIsDeterministic (issue 18 B): the same test file gives the same
// device-time trace, event for event, on every run, also with a CPU hog spinning beside it.
func TestDeviceTimeTraceIsDeterministic(t *testing.T) {
	const file = "testdata/idle/lossy.test.js"
	var first string
	for i, hog := range []bool{false, true, false, true} {
		stop := make(chan struct{})
		if hog {
			for range 2 {
				go func() {
					x := 0
					for {
						select {
						case <-stop:
							return
						default:
						}
						for j := 0; j < 1e5; j++ {
							x += j
						}
					}
				}()
			}
		}
		r := devtest.RunFile(context.Background(), file, devtest.Options{Seed: 7})
		close(stop)
		if r.Failed() || len(r.Tests) != 1 {
			t.Fatalf("run %d: %+v %v", i, r.Tests, r.Err)
		}
		var b strings.Builder
		for _, d := range r.Tests[0].Devices {
			b.WriteString(devtest.FormatTrace(d.Trace))
			for _, l := range d.Lines {
				fmt.Fprintf(&b, "%8dms print %s\n", l.AtMs, l.Text)
			}
		}
		if i == 0 {
			first = b.String()
			if strings.Count(first, "\n") < 50 {
				t.Fatalf("a short trace:\n%s", first)
			}
			continue
		}
		if got := b.String(); got != first {
			t.Fatalf("run %d (hog %v): the trace differs from run 0:\n%s", i, hog, firstDiff(first, got))
		}
	}
}

// firstDiff shows the first differing line of two traces.
func firstDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(la) && i < len(lb); i++ {
		if la[i] != lb[i] {
			return fmt.Sprintf("line %d:\n  run 0: %s\n  this:  %s", i+1, la[i], lb[i])
		}
	}
	return fmt.Sprintf("lengths %d and %d lines", len(la), len(lb))
}

// TestTopLevelLoopHoldsTime: a script whose top level runs a loop of 5,000 iterations (well under
// runtime.SpinIdleAfter) sees neither Date.now() move nor a 10-ms interval fire before the loop
// ends (the loop counted idle from its first iteration, and the world jumped ahead, before; the
// loop is short so that it ends well within StuckAfter on a loaded machine under -race).
func TestTopLevelLoopHoldsTime(t *testing.T) {
	for range 5 {
		r := runFile(t, "testdata/idle/toplevel.test.js", devtest.Options{})
		if r.Failed() || len(r.Tests) != 1 || r.Tests[0].Status != devtest.Passed {
			t.Fatalf("%+v %v", r.Tests, r.Err)
		}
	}
}
