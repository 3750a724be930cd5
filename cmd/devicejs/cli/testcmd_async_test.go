package cli_test

import (
	"strings"
	"testing"
)

// TestTestCommandAsyncAndEquality: through the binary, asynchronous failures and unequal
// objects are FAIL lines with the test's own message and exit 1 (issue 17 findings 8 and 9:
// each was "ok", exit 0); the passing ones stay ok.
func TestTestCommandAsyncAndEquality(t *testing.T) {
	t.Parallel()
	file := script(t, "async.test.js", `
test('async assertion', async function() { await null; expect(1).toBe(2); });
test('rejected promise', function() { return Promise.reject(new Error('refused')); });
test('assertion in then', function() { Promise.resolve(3).then(function(v) { expect(v).toBe(4); }); });
test('throw in setTimeout', function() {
  return new Promise(function(res) { setTimeout(function() { throw new Error('timer boom'); }, 5); setTimeout(res, 50); });
});
test('NaN reading', function() { expect({temp: NaN}).toEqual({temp: 21.5}); });
test('function fields', function() { expect({f: function a() {}}).toEqual({f: function b() {}}); });
test('proxy', function() { expect(new Proxy({}, {})).toEqual({}); });
test('async ok', async function() { await null; expect({v: NaN, z: -0}).toEqual({v: NaN, z: 0}); });
test('refuse NaN', function() { broker.refuse(NaN); });
`)
	r := runBinary(t, "test", file)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"FAIL " + file + ": async assertion", "expect(1).toBe(2)",
		"FAIL " + file + ": rejected promise", "Error: refused",
		"FAIL " + file + ": assertion in then", "unhandled promise rejection: expect(3).toBe(4)",
		"FAIL " + file + ": throw in setTimeout", "uncaught in a timer callback: Error: timer boom",
		"FAIL " + file + ": NaN reading", "at .temp: expected 21.5, got NaN",
		"FAIL " + file + ": function fields", "at .f (functions are equal only to themselves)",
		"FAIL " + file + ": proxy", "got a Proxy, expected a plain object",
		"ok   " + file + ": async ok",
		"FAIL " + file + ": refuse NaN", "want a CONNACK refusal code 1..5",
		"FAIL: 1 passed, 8 failed, 0 skipped in 1 files",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}

	ok := script(t, "ok.test.js", `test('async ok', async function() { await new Promise(function(r) { setTimeout(r, 10); }); expect([1, , 3]).toEqual([1, undefined, 3]); });`)
	if r := runBinary(t, "test", ok); r.code != 0 || !strings.Contains(r.stdout, "PASS: 1 passed, 0 failed") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}
