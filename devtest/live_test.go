package devtest_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/devicejs/devicejs/devtest"
)

// TestLiveSnapshot: Options.Live's snapshot, taken from another goroutine while a file is
// stuck (a spinning test, or its top level), holds the tests that ended as they ended, the
// running test failed with the reason (or the file's error when no test runs), and omits the
// tests not started and the files not started; once the run returns it holds the run's
// results.
func TestLiveSnapshot(t *testing.T) {
	const reason = "the process ended: stuck"
	for _, tc := range []struct {
		name    string
		src     string
		want    map[string]devtest.Status // the first file's tests in the snapshot
		fileErr bool                      // the snapshot's first file has reason as its error
	}{
		{"spinning test", "test('first', function() {});\ntest('spin', function() { while (true) {} });\ntest('later', function() {});\n",
			map[string]devtest.Status{"first": devtest.Passed, "spin": devtest.Failed}, false},
		{"after a skip and a failure", "test.skip('skipped', function() {}, 'not now');\ntest('bad', function() { throw new Error('no'); });\n" +
			"test('ok', function() {});\ntest('spin', function() { for (;;) {} });\ntest('later', function() {});\n",
			map[string]devtest.Status{"skipped": devtest.Skipped, "bad": devtest.Failed, "ok": devtest.Passed, "spin": devtest.Failed}, false},
		{"awaited test spinning in a timer", "test('first', function() {});\n" +
			"test('spin', function() { return new Promise(function(res) { setTimeout(function() { while (true) {} }, 10); }); });\n",
			map[string]devtest.Status{"first": devtest.Passed, "spin": devtest.Failed}, false},
		{"top level", "test('registered', function() {});\nwhile (true) {}\n", map[string]devtest.Status{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			a, b := filepath.Join(dir, "a.test.js"), filepath.Join(dir, "b.test.js")
			if err := os.WriteFile(a, []byte(tc.src), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(b, []byte("test('b', function() {});\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			live := &devtest.Live{}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan []devtest.FileResult, 1)
			go func() {
				done <- devtest.RunFiles(ctx, []string{a, b}, devtest.Options{Live: live, Timeout: time.Minute, Parallel: 1}, nil)
			}()
			// Wait until the file is stuck: the snapshot shows it with the reason.
			var snap []devtest.FileResult
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				snap = live.Snapshot(reason)
				if len(snap) == 1 && stuckWith(snap[0], reason, tc.fileErr) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no stuck file in the snapshot after 30 s: %+v", snap)
				}
			}
			cancel()
			results := <-done
			if len(snap) != 1 || snap[0].File != a {
				t.Fatalf("snapshot has %d files (%+v), want only %s (b not started)", len(snap), snap, a)
			}
			got := map[string]devtest.Status{}
			for _, r := range snap[0].Tests {
				got[r.Name] = r.Status
				if r.Name == "spin" && r.Message != reason {
					t.Errorf("spin: message %q, want %q", r.Message, reason)
				}
				if r.Name == "spin" && r.TestSeed == 0 {
					t.Errorf("spin: no test seed")
				}
			}
			if len(got) != len(tc.want) {
				t.Errorf("snapshot tests %v, want %v", got, tc.want)
			}
			for n, s := range tc.want {
				if got[n] != s {
					t.Errorf("%s: %q, want %q (all: %v)", n, got[n], s, got)
				}
			}
			if (snap[0].Err != nil) != tc.fileErr {
				t.Errorf("file error %v, want one: %v", snap[0].Err, tc.fileErr)
			}
			// After the run: the snapshot is the run's results.
			after := live.Snapshot(reason)
			if len(after) != len(results) {
				t.Fatalf("after the run: %d files, run returned %d", len(after), len(results))
			}
			for i := range results {
				if after[i].File != results[i].File || len(after[i].Tests) != len(results[i].Tests) || (after[i].Err == nil) != (results[i].Err == nil) {
					t.Errorf("after the run, file %d: %+v, want %+v", i, after[i], results[i])
				}
			}
		})
	}
}

// stuckWith reports whether f shows its test "spin" failed with reason, or with fileErr reason
// as its error.
func stuckWith(f devtest.FileResult, reason string, fileErr bool) bool {
	if fileErr {
		return f.Err != nil && f.Err.Error() == reason
	}
	for _, r := range f.Tests {
		if r.Name == "spin" && r.Message == reason {
			return true
		}
	}
	return false
}
