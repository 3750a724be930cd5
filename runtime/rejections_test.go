package runtime_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/devicejs/devicejs/runtime"
	"github.com/devicejs/devicejs/runtime/runtimetest"
)

// TestUnhandledRejections checks which rejections end the run as "Uncaught (in promise)":
// those still without a handler once the JS stack is empty and the microtasks have run,
// and only those.
func TestUnhandledRejections(t *testing.T) {
	tt := []struct {
		name string
		src  string
		out  string // printed before the end
		want string // prefix of Error(); "" means the run ends normally
	}{
		{"Promise.reject at the top level", "Promise.reject(new Error('top'));",
			"", "test.js:1:16: Uncaught (in promise) Error: top\n\tat <anonymous> (test.js:1:16)"},
		{"a string reason", "print('a');\nPromise.reject('text');\nprint('b');",
			"a\nb\n", "test.js:2:15: Uncaught (in promise) text"},
		{"undefined reason", "Promise.reject();", "", "test.js:1:15: Uncaught (in promise) undefined"},
		{"an Error made elsewhere: where it was made", "var e = new Error('made');\nfunction later() { Promise.reject(e); }\nlater();",
			"", "test.js:1:9: Uncaught (in promise) Error: made\n\tat <anonymous> (test.js:1:9)"},
		{"a non-Error reason from a microtask: no position", "Promise.resolve().then(function() { throw 5; });", "", "test.js: Uncaught (in promise) 5"},
		{"an Error whose stack property was replaced", "var e = new Error('s'); e.stack = 'fake (evil.js:9:9)';\nPromise.reject(e);",
			"", "test.js:1:9: Uncaught (in promise) Error: s"},
		{"async function throws", "async function f() {\n  throw new Error('async');\n}\nf();",
			"", "test.js:2:9: Uncaught (in promise) Error: async\n\tat f (test.js:2:9)\n\tat <anonymous> (test.js:4:2)"},
		{"async function throws after an await", "async function f() {\n  await null;\n  throw new TypeError('late');\n}\nf();",
			"", "test.js:3:9: Uncaught (in promise) TypeError: late\n\tat f (test.js:3:9)"},
		{"nested async functions: the outer promise is the unhandled one", "async function inner() { throw new Error('inner'); }\nasync function outer() { await inner(); }\nouter();",
			"", "test.js:1:32: Uncaught (in promise) Error: inner\n\tat inner (test.js:1:32)\n\tat outer (test.js:2:37)"},
		{"reject() in an executor", "new Promise(function(resolve, reject) {\n  reject(new RangeError('exec'));\n});",
			"", "test.js:2:10: Uncaught (in promise) RangeError: exec"},
		{"throw in an executor", "new Promise(function() { throw 'exec throw'; });", "", "test.js:1:1: Uncaught (in promise) exec throw"},
		{"in a timer callback", "setTimeout(function() {\n  Promise.reject(new Error('cb'));\n}, 1);\nprint('top');",
			"top\n", "test.js:2:18: Uncaught (in promise) Error: cb"},
		{"a then callback throws", "Promise.resolve(1).then(function() { throw new Error('then'); });",
			"", "test.js:1:44: Uncaught (in promise) Error: then"},
		{"handled later in a timer is too late", "var p = Promise.reject(new Error('late'));\nsetTimeout(function() { p.catch(function() { print('caught'); }); }, 1);",
			"", "test.js:1:24: Uncaught (in promise) Error: late"},
		{"the first of two is reported", "Promise.reject(new Error('one'));\nPromise.reject(new Error('two'));",
			"", "test.js:1:16: Uncaught (in promise) Error: one"},
		{"catch then rethrow", "Promise.reject(1).catch(function(e) { throw new Error('again ' + e); });",
			"", "test.js:"},
		{"handled in the same job", "var p = Promise.reject(new Error('x'));\np.catch(function(e) { print('caught ' + e.message); });",
			"caught x\n", ""},
		{"handled in a microtask of the same job", "var p = Promise.reject(new Error('x'));\nPromise.resolve().then(function() { p.catch(function() { print('caught'); }); });",
			"caught\n", ""},
		{"then with a rejection handler", "Promise.reject(2).then(null, function(e) { print('handled ' + e); });",
			"handled 2\n", ""},
		{"awaited in a try", "async function f() { throw new Error('x'); }\n(async function() { try { await f(); } catch (e) { print('caught ' + e.message); } })();",
			"caught x\n", ""},
		{"async function caught by .catch", "async function f() { throw 1; }\nf().catch(function(e) { print('caught ' + e); });",
			"caught 1\n", ""},
		{"Promise.all handled", "Promise.all([Promise.reject(1), Promise.reject(2)]).catch(function(e) { print('all ' + e); });",
			"all 1\n", ""},
		{"Promise.allSettled", "Promise.allSettled([Promise.reject(1)]).then(function(r) { print(r[0].status); });",
			"rejected\n", ""},
		{"Promise.any: the AggregateError is unhandled (made by a microtask: no position)", "Promise.any([Promise.reject(1)]);", "", "test.js: Uncaught (in promise) AggregateError"},
		{"resolved promises", "Promise.resolve(1).then(function(v) { print('v ' + v); });", "v 1\n", ""},
		{"finally does not handle", "Promise.reject(new Error('f')).finally(function() { print('finally'); });",
			"finally\n", "test.js:"},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runtimetest.Run(t, tc.src)
			if out != tc.out {
				t.Errorf("printed %q, want %q", out, tc.out)
			}
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Run = %v, want nil", err)
				}
				return
			}
			var se *runtime.ScriptError
			if !errors.As(err, &se) || se.Kind != runtime.KindException {
				t.Fatalf("Run = %v, want a *ScriptError", err)
			}
			if !strings.HasPrefix(se.Error(), tc.want) || !strings.Contains(se.Error(), "Uncaught (in promise) ") {
				t.Errorf("Error() = %q, want the prefix %q", se.Error(), tc.want)
			}
		})
	}
}
