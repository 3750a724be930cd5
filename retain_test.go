package devicejs_test

import (
	"context"
	"errors"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	"github.com/devicejs/devicejs"
	"github.com/devicejs/devicejs/runtime"
)

// bigArray is JS that makes `big`, a 24 MiB string in the VM's heap (one allocation: fast even
// under the race detector; enough to tell a kept VM from a kept error).
const bigArray = "var big = 'x'.repeat(24 << 20);\n"

// liveHeap is the heap in use after two collections.
func liveHeap() uint64 {
	goruntime.GC()
	goruntime.GC()
	var m goruntime.MemStats
	goruntime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestFailedResultHoldsNoVM keeps the Result of a run that failed while its VM held a
// 24 MiB string and checks that the heap returns near where it was: the error carries its
// text, position and stack as plain Go values, never the VM (issue 22, finding 2). Each shape
// of failure keeps the big string reachable from what was thrown.
func TestFailedResultHoldsNoVM(t *testing.T) {
	tt := []struct {
		name, src                        string
		kind                             runtime.ErrorKind
		message, errName, stack, errLine string
	}{
		{name: "Error object", src: bigArray + "var e = new Error('boom'); e.big = big; throw e;",
			kind: runtime.KindException, message: "Error: boom", errName: "Error", stack: "(t.js:2:", errLine: "t.js:2:"},
		{name: "TypeError from goja", src: bigArray + "function f(o) { return o.x.y }\nf({big: big});",
			kind: runtime.KindException, message: "TypeError: Cannot read property 'y' of undefined", errName: "TypeError", stack: "at f (t.js:2:", errLine: "t.js:2:"},
		{name: "plain object", src: bigArray + "throw {big: big, toString: function() { return 'obj' + big.length }};",
			kind: runtime.KindException, message: "obj25165824", stack: "(t.js:2:", errLine: "t.js:2:"},
		{name: "closure", src: bigArray + "throw function() { return big };",
			kind: runtime.KindException, message: "function() { return big }", stack: "(t.js:2:", errLine: "t.js:2:"},
		{name: "Error subclass", src: bigArray + "class MyError extends Error { constructor(m) { super(m); this.name = 'MyError'; this.big = big } }\nthrow new MyError('bad');",
			kind: runtime.KindException, message: "MyError: bad", errName: "MyError", stack: "(t.js:2:", errLine: "t.js:2:"},
		{name: "not an Error", src: bigArray + "function E(m) { this.message = m; this.big = big }\nE.prototype = Object.create(Error.prototype);\nE.prototype.name = 'MyError';\nthrow new E('bad');",
			kind: runtime.KindException, message: "MyError: bad", stack: "(t.js:5:", errLine: "t.js:5:"},
		{name: "name getter", src: bigArray + "var e = new Error('g'); e.big = big;\nObject.defineProperty(e, 'name', {get: function() { return big.length > 0 ? 'Got' : '' }});\nthrow e;",
			kind: runtime.KindException, message: "Got: g", errName: "Got", stack: "(t.js:2:", errLine: "t.js:2:"},
		{name: "name getter throws", src: bigArray + "var e = new Error('g'); e.big = big;\nObject.defineProperty(e, 'name', {get: function() { throw big }});\nthrow e;",
			kind: runtime.KindException, message: "<a value that cannot be converted to a string>", stack: "(t.js:2:", errLine: "t.js:2:"},
		{name: "in a timer", src: bigArray + "setTimeout(function() {\n  var e = new RangeError('late'); e.big = big; throw e;\n}, 1);",
			kind: runtime.KindException, message: "RangeError: late", errName: "RangeError", stack: "(t.js:3:", errLine: "t.js:3:"},
		{name: "unhandled rejection", src: bigArray + "var e = new Error('rej'); e.big = big;\nPromise.reject(e);",
			kind: runtime.KindException, message: "(in promise) Error: rej", errName: "Error", stack: "(t.js:2:", errLine: "t.js:2:"},
		{name: "stack overflow", src: bigArray + "function r() { return r() + big.length }\nr();",
			kind: runtime.KindException, message: "RangeError: Maximum call stack size exceeded", errName: "RangeError", stack: "at r (t.js:2:", errLine: "t.js:2:"},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			before := liveHeap()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			res, err := devicejs.Run(ctx, devicejs.Script{Name: "t.js", Source: tc.src}, devicejs.Config{})
			if err != nil {
				t.Fatal(err)
			}
			after := liveHeap()
			if res.Ending != devicejs.ScriptFailed {
				t.Fatalf("ending %v, err %v", res.Ending, res.Err)
			}
			held := int64(after) - int64(before)
			t.Logf("the kept Result holds %d bytes of heap", held)
			// Generous: the string alone is 24 MiB; a kept VM is that or more.
			if held > 8<<20 {
				t.Errorf("the kept Result holds %d MiB of heap", held>>20)
			}
			var se *runtime.ScriptError
			if !errors.As(res.Err, &se) {
				t.Fatalf("Err %T %v, want a *runtime.ScriptError", res.Err, res.Err)
			}
			if se.Kind != tc.kind || se.Message != tc.message || se.Name != tc.errName || se.File != "t.js" ||
				se.Line < 2 || se.Column < 1 || !strings.Contains(se.Stack, tc.stack) ||
				!strings.HasPrefix(se.Error(), tc.errLine) {
				t.Errorf("ScriptError %+v\nError() %q", *se, se.Error())
			}
			goruntime.KeepAlive(res)
		})
	}
}

// TestKeptResultsSmall keeps the Results of 200 failed runs of small scripts and checks what
// each holds: its ScriptError's strings, a few KiB (issue 22, finding 2: it was 36 KiB, the
// VM). The figure is logged for docs/embedding.md.
func TestKeptResultsSmall(t *testing.T) {
	const n = 200
	srcs := []string{
		"throw new Error('boom')",
		"function f() { null.x }\nf()",
		"setTimeout(function() { throw {code: 7} }, 1)",
		"Promise.reject(new TypeError('no'))",
	}
	kept := make([]devicejs.Result, 0, n)
	before := liveHeap()
	for i := range n {
		res, err := devicejs.Run(context.Background(), devicejs.Script{Name: "t.js", Source: srcs[i%len(srcs)]}, devicejs.Config{})
		if err != nil || res.Ending != devicejs.ScriptFailed {
			t.Fatalf("%v %v %v", res.Ending, res.Err, err)
		}
		kept = append(kept, res)
	}
	after := liveHeap()
	per := (int64(after) - int64(before)) / n
	t.Logf("a kept failed Result holds %d bytes", per)
	if per > 8<<10 {
		t.Errorf("a kept failed Result holds %d bytes, want a few KiB", per)
	}
	goruntime.KeepAlive(kept)
}
