package devtest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/devicejs/devicejs/devtest"
)

// TestAsyncFailures: failures of asynchronous code fail the test that was running (issue 17
// finding 9: each of these was reported ok). want lists each test's status and what its
// message has (and lacks: the failure of another test).
func TestAsyncFailures(t *testing.T) {
	type want struct {
		status devtest.Status
		has    []string
		lacks  []string
	}
	pass := want{status: devtest.Passed}
	for _, tc := range []struct {
		name    string
		src     string
		opts    devtest.Options
		fileErr string
		want    []want
	}{
		{name: "async test, failing assertion after await",
			src:  `test('a', async function() { await null; expect(1).toBe(2); });`,
			want: []want{{devtest.Failed, []string{"expect(1).toBe(2)", "expected: 2", "x.test.js:1:"}, nil}}},
		{name: "async test, failing assertion before any await",
			src:  `test('a', async function() { expect('x').toEqual({}); });`,
			want: []want{{devtest.Failed, []string{`expect("x").toEqual({})`}, nil}}},
		{name: "returned rejected promise",
			src:  `test('a', function() { return Promise.reject(new Error('nope')); });`,
			want: []want{{devtest.Failed, []string{"Error: nope"}, nil}}},
		{name: "returned rejected promise, not an Error",
			src:  `test('a', function() { return Promise.reject({code: NaN}); });`,
			want: []want{{devtest.Failed, []string{"{code: NaN}"}, nil}}},
		{name: "assertion in a returned .then",
			src:  `test('a', function() { return Promise.resolve(1).then(function(v) { expect(v).toBe(2); }); });`,
			want: []want{{devtest.Failed, []string{"expect(1).toBe(2)"}, nil}}},
		{name: "assertion in a .then not returned",
			src:  `test('a', function() { Promise.resolve(1).then(function(v) { expect(v).toBe(2); }); });`,
			want: []want{{devtest.Failed, []string{"unhandled promise rejection", "expect(1).toBe(2)"}, nil}}},
		{name: "unhandled rejection in a synchronous test",
			src:  `test('a', function() { Promise.reject(new TypeError('lost')); });`,
			want: []want{{devtest.Failed, []string{"unhandled promise rejection: TypeError: lost"}, nil}}},
		{name: "rejection handled in the same tick is fine",
			src:  `test('a', function() { var p = Promise.reject(1); p.catch(function() {}); });`,
			want: []want{pass}},
		{name: "throw in the test's own setTimeout while it awaits",
			src: `test('a', function() { return new Promise(function(res) {
				setTimeout(function() { throw new Error('in timer'); }, 10);
				setTimeout(res, 2000);
			}); });`,
			want: []want{{devtest.Failed, []string{"uncaught in a timer callback: Error: in timer", "x.test.js:2:"}, nil}}},
		{name: "rejection after await",
			src:  `test('a', async function() { await new Promise(function(r) { setTimeout(r, 10); }); throw new Error('late'); });`,
			want: []want{{devtest.Failed, []string{"Error: late"}, nil}}},
		{name: "two failing async tests in a row, each its own",
			src: `test('one', async function() { await null; throw new Error('first'); });
				test('two', async function() { await new Promise(function(r) { setTimeout(r, 5); }); expect('b').toBe('c'); });
				test('three', async function() { await null; });`,
			want: []want{{devtest.Failed, []string{"first"}, []string{"toBe"}},
				{devtest.Failed, []string{`expect("b").toBe("c")`}, []string{"first"}}, pass}},
		{name: "timer throws after its test ended: that test fails, not the next",
			src: `test('early', function() { setTimeout(function() { expect(1).toBe(3); }, 20); });
				test('next', async function() { await new Promise(function(r) { setTimeout(r, 300); }); });`,
			want: []want{{devtest.Failed, []string{"after the test ended: uncaught in a timer callback: expect(1).toBe(3)"}, nil},
				{devtest.Passed, nil, nil}}},
		{name: "unhandled rejection after its test ended",
			src: `test('early', function() { setTimeout(function() { Promise.reject(new Error('later')); }, 20); });
				test('next', async function() { await new Promise(function(r) { setTimeout(r, 300); }); });`,
			want: []want{{devtest.Failed, []string{"after the test ended: unhandled promise rejection: Error: later"}, nil}, pass}},
		{name: "a passing async test with a device stays ok",
			src: `test('a', async function() {
				var d = device.start('sensor.js');
				await null;
				world.after(12000);
				await Promise.resolve();
				expect(d).toHavePublished({topic: 'sensors/sensor-1/temp'});
			});`,
			want: []want{pass}},
		{name: "a thenable that rejects",
			src:  `test('a', function() { return {then: function(ok, bad) { bad(new Error('thenable')); }}; });`,
			want: []want{{devtest.Failed, []string{"Error: thenable"}, nil}}},
		{name: "a thenable whose then throws",
			src:  `test('a', function() { return {then: function() { throw new Error('then threw'); }}; });`,
			want: []want{{devtest.Failed, []string{"then threw"}, nil}}},
		{name: "a promise that never settles times out, the next test runs",
			src: `test('a', function() { return new Promise(function() {}); });
				test('b', function() {});`,
			opts: devtest.Options{Timeout: 300 * time.Millisecond},
			want: []want{{devtest.Failed, []string{"timed out after 300ms", "did not settle"}, nil}, pass}},
		{name: "a setInterval left running does not keep the file forever",
			src:  `test('a', function() { setInterval(function() {}, 10); });`,
			opts: devtest.Options{Timeout: 500 * time.Millisecond},
			want: []want{pass}},
		{name: "an interval that keeps throwing: bounded messages",
			src:  `test('a', function() { setInterval(function() { throw new Error('tick'); }, 1); });`,
			opts: devtest.Options{Timeout: 300 * time.Millisecond},
			want: []want{{devtest.Failed, []string{"after the test ended", "not shown"}, nil}}},
		{name: "top-level rejection is the file's",
			src:     `Promise.reject(new Error('top')); test('a', function() {});`,
			fileErr: "Uncaught (in promise) Error: top"},
		{name: "top-level timer throw is the file's",
			src:     `setTimeout(function() { throw new Error('top timer'); }, 0); test('a', function() { world.after(10); });`,
			fileErr: "top timer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			r := devtest.RunFile(context.Background(), writeTest(t, tc.src), tc.opts)
			t.Logf("%v wall", time.Since(start))
			if tc.fileErr != "" {
				if r.Err == nil || !strings.Contains(r.Err.Error(), tc.fileErr) {
					t.Fatalf("file error %v, want one containing %q", r.Err, tc.fileErr)
				}
				return
			}
			if r.Err != nil {
				t.Fatalf("file error: %v", r.Err)
			}
			if len(r.Tests) != len(tc.want) {
				t.Fatalf("%d results (%+v), want %d", len(r.Tests), r.Tests, len(tc.want))
			}
			for i, w := range tc.want {
				got := r.Tests[i]
				if got.Status != w.status {
					t.Errorf("test %q: %s (%s), want %s", got.Name, got.Status, got.Message, w.status)
				}
				for _, s := range w.has {
					if !strings.Contains(got.Message, s) {
						t.Errorf("test %q: message lacks %q:\n%s", got.Name, s, got.Message)
					}
				}
				for _, s := range w.lacks {
					if strings.Contains(got.Message, s) {
						t.Errorf("test %q: message has %q:\n%s", got.Name, s, got.Message)
					}
				}
			}
		})
	}
}
