package cli

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/devicejs/devicejs/devtest"
)

// abruptWriteBound bounds the writing of --junit and --report when `devicejs test` ends
// abruptly: the process is ending because something is stuck, so the exit waits for the files
// at most this long.
const abruptWriteBound = 2 * time.Second

// testOutputs writes the --junit and --report files of `devicejs test` once: at the end of the
// run, or, when the process must end before the run returns (the memory backstop, a test
// stuck in a long built-in past its --timeout, a signal during a stuck test), of what is
// known at that moment (devtest.Live.Snapshot). Each file goes through a temporary file
// renamed when whole (writeFileWhole, writeReportFile).
type testOutputs struct {
	opts   *TestOptions
	live   *devtest.Live
	replay func(devtest.TestResult) string

	mu      sync.Mutex
	written bool
}

// write writes the files of results unless they were written already. The JUnit file comes
// first: CI reads it.
func (o *testOutputs) write(results []devtest.FileResult) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.written {
		return nil
	}
	o.written = true
	if o.opts.JUnit != "" {
		err := writeFileWhole(o.opts.JUnit, func(w io.Writer) error {
			return devtest.WriteJUnitReplay(w, results, o.replay)
		})
		if err != nil {
			return fmt.Errorf("--junit: %w", err)
		}
	}
	if o.opts.Report != "" {
		if err := writeReportFile(o.opts.Report, testReportData(results)); err != nil {
			return fmt.Errorf("--report: %w", err)
		}
	}
	return nil
}

// abrupt writes the files of the run so far, the running tests failed with reason, before an
// abrupt exit. It never waits on a test file's loop (the snapshot is taken under
// devtest.Live's lock) and returns within abruptWriteBound even when the writing does not
// end (then the files are as they were: the temporary file is never renamed half-written).
func (o *testOutputs) abrupt(reason string) {
	if o.opts.JUnit == "" && o.opts.Report == "" {
		return
	}
	done := make(chan error, 1)
	go func() { done <- o.write(o.live.Snapshot(reason)) }()
	t := time.NewTimer(abruptWriteBound)
	defer t.Stop()
	select {
	case err := <-done:
		if err != nil {
			fmt.Fprintf(o.opts.IO.ErrOut, "devicejs: %v\n", err)
		}
	case <-t.C:
		fmt.Fprintf(o.opts.IO.ErrOut, "devicejs: --junit/--report not written within %v; exiting\n", abruptWriteBound)
	}
}
