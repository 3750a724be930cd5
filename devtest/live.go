package devtest

import (
	"errors"
	"sync"
	"time"
)

// Live records what is known of a run while it goes, for a report written when the process
// must end before the run returns (the CLI's memory backstop, a test stuck in a long built-in
// past its timeout, a signal during a stuck test): the files that ended, and of each file
// still running the tests that ended and the test running now. Set Options.Live to record a
// run; Snapshot is safe from any goroutine and never waits on a test file's loop (its state
// is published under Live's own lock as each test starts and ends).
type Live struct {
	mu    sync.Mutex
	files []*liveFile // in the order of the run's files
}

// liveFile is the published state of one file of the run. Guarded by Live.mu.
type liveFile struct {
	path    string
	started time.Time // zero: not started
	done    *FileResult
	tests   []TestResult // the file's tests as published (a running test keeps its zero Status)
	running int          // index in tests of the test running now; -1: none
	runAt   time.Time    // when the running test started
}

// init makes one slot per file, in order (RunFiles).
func (l *Live) init(files []string) []*liveFile {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]*liveFile, len(files))
	for i, p := range files {
		out[i] = &liveFile{path: p, running: -1}
	}
	l.files = append(l.files, out...)
	return out
}

// add makes the slot of a file run on its own (RunFile).
func (l *Live) add(path string) *liveFile {
	return l.init([]string{path})[0]
}

// begin marks the file started.
func (l *Live) begin(lf *liveFile) {
	if l == nil || lf == nil {
		return
	}
	l.mu.Lock()
	lf.started = time.Now()
	l.mu.Unlock()
}

// finish publishes the file's result.
func (l *Live) finish(lf *liveFile, r FileResult) {
	if l == nil || lf == nil {
		return
	}
	l.mu.Lock()
	lf.done = &r
	lf.running = -1
	l.mu.Unlock()
}

// publish copies the file's test idx (a result that is no longer written to, apart from the
// Status and Message of a late failure, which publish again) and, with running, marks it the
// test running now.
func (l *Live) publish(lf *liveFile, idx int, r TestResult, running bool) {
	if l == nil || lf == nil || idx < 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(lf.tests) <= idx {
		lf.tests = append(lf.tests, TestResult{})
	}
	lf.tests[idx] = r
	switch {
	case running:
		lf.running, lf.runAt = idx, time.Now()
	case lf.running == idx:
		lf.running = -1
	}
}

// Snapshot returns the results known now, in the order of the run's files: a file that ended
// as it ended; of a file still running, the tests that ended as they ended and the test
// running now failed with reason (a file stopped outside any test, in its top level, gets
// reason as its error); files not started yet are omitted, and so are the tests a running
// file has not started (the run did not reach them). It copies under Live's lock and never
// waits on a run.
func (l *Live) Snapshot(reason string) []FileResult {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []FileResult
	now := time.Now()
	for _, lf := range l.files {
		switch {
		case lf.done != nil:
			out = append(out, *lf.done)
			continue
		case lf.started.IsZero():
			continue
		}
		fr := FileResult{File: lf.path, Wall: now.Sub(lf.started), Tests: make([]TestResult, 0, len(lf.tests))}
		for i, t := range lf.tests {
			if i == lf.running {
				t.Status, t.Message, t.Wall = Failed, reason, now.Sub(lf.runAt)
			}
			if t.Status == "" {
				continue // never published (cannot happen: tests start in order)
			}
			fr.Tests = append(fr.Tests, t)
		}
		if lf.running < 0 {
			fr.Err = errors.New(reason)
		}
		out = append(out, fr)
	}
	return out
}
