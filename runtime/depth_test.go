package runtime_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dop251/goja"

	"github.com/devicejs/devicejs/runtime"
	"github.com/devicejs/devicejs/runtime/runtimetest"
)

// TestRecursionIsCatchable: recursion past the call-stack bound, direct or through built-ins,
// throws a RangeError the script catches like any exception (as in browsers and Node); the
// script then goes on, can recurse again, and a deep recursion within the bound still works.
func TestRecursionIsCatchable(t *testing.T) {
	const report = ` } catch (e) { print(e instanceof RangeError, e.message) }`
	tt := []struct{ name, setup, call string }{
		{"direct", `function f() { return f() }`, `f()`},
		{"direct with arguments", `function r(n) { return r(n + 1) + 1 }`, `r(0)`},
		{"mutual", `function a(n) { return b(n) } function b(n) { return a(n + 1) }`, `a(0)`},
		{"function expression", `var f = function g() { return g() }`, `f()`},
		{"arrow with an expression body", `var f = () => f()`, `f()`},
		{"arrow with a block body", `var f = x => { return f(x) }`, `f(1)`},
		{"Array.prototype.map", `function f(a) { return a.map(f) } var a = [0]; a[0] = a`, `f(a)`},
		{"sort comparator", `function s() { [2, 1].sort(function(a, b) { return s() }) }`, `s()`},
		{"forEach with an arrow", `function w() { [1].forEach(() => w()) }`, `w()`},
		{"defineProperty getter", `var o = {}; Object.defineProperty(o, 'x', {get: function() { return o.x }})`, `o.x`},
		{"literal getter", `var o = {get x() { return this.x }}`, `o.x`},
		{"setter", `var o = {set x(v) { this.x = v }}`, `o.x = 1`},
		{"Proxy get trap", `var p = new Proxy({}, {get: function(t, k) { return p[k] }})`, `p.x`},
		{"Proxy has trap", `var p = new Proxy({}, {has: (t, k) => k in p})`, `'x' in p`},
		{"toJSON", `var o = {toJSON: function() { return JSON.stringify(o) }}`, `JSON.stringify(o)`},
		{"JSON.parse reviver", `function r(k, v) { return JSON.parse('[1]', r) }`, `JSON.parse('[1]', r)`},
		{"toString", `function g() { return String({toString: g}) }`, `g()`},
		{"valueOf", `var o = {valueOf: function() { return o + 1 }}`, `o * 2`},
		{"class method", `class C { m() { return this.m() } }`, `new C().m()`},
		{"static method", `class S { static m() { return S.m() } }`, `S.m()`},
		{"class constructor", `class C { constructor() { new C() } }`, `new C()`},
		{"derived constructor", `class B {} class D extends B { constructor() { super(); new D() } }`, `new D()`},
		{"class field initializer", `class A { x = new A() }`, `new A()`},
		{"generator calling itself", `function* g() { yield g().next() }`, `g().next()`},
		{"generator delegating to itself (a Go stack overflow unguarded)", `function* g() { yield* g() }`, `g().next()`},
		{"bound function and call", `function f() { return h.call(null) } var h = f.bind(null)`, `f()`},
		{"tagged template", "function t() { return t`x` }", `t()`},
		{"strict function", `function f() { 'use strict'; return f() }`, `f()`},
		{"Reflect.apply", `function f() { return Reflect.apply(f, null, []) }`, `f()`},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.setup + "\ntry { " + tc.call + report +
				"\nvar n = 0; for (var i = 0; i < 3; i++) try { " + tc.call + " } catch (e) { n++ }" +
				"\nfunction d(k) { return k ? d(k - 1) + 1 : 0 } print(n, d(9000))"
			out, err := runtimetest.Run(t, src)
			if err != nil {
				t.Fatalf("err %v", err)
			}
			if want := "true Maximum call stack size exceeded\n3 9000\n"; out != want {
				t.Errorf("output %q, want %q", out, want)
			}
		})
	}
}

// TestAsyncRecursionRejects: an async function that recurses past the bound rejects its
// promise with the RangeError.
func TestAsyncRecursionRejects(t *testing.T) {
	out, err := runtimetest.Run(t, `async function f() { await f() }
f().catch(function(e) { print(e instanceof RangeError, e.message) })`)
	if err != nil || out != "true Maximum call stack size exceeded\n" {
		t.Fatalf("out %q, err %v", out, err)
	}
}

// TestRecursionBound: the check throws where goja's own bound used to end the run, at
// Options.MaxCallStackSize frames; code below the bound is not affected.
func TestRecursionBound(t *testing.T) {
	for _, limit := range []int{100, 1000, runtime.DefaultMaxCallStackSize} {
		var out bytes.Buffer
		l := runtime.New(runtime.Options{Stdout: &out, MaxCallStackSize: limit})
		err := l.Run(t.Context(), "r.js", `var max = 0; function f(n) { max = n; f(n + 1) }
try { f(1) } catch (e) { print(max, e.name) }`)
		if err != nil {
			t.Fatal(err)
		}
		// The top level and the run take a few frames of the bound.
		var depth int
		var name string
		if _, err := fmtSscan(out.String(), &depth, &name); err != nil || name != "RangeError" || depth > limit || depth < limit-5 {
			t.Errorf("limit %d: output %q", limit, out.String())
		}
	}
}

// TestUncaughtRecursion: uncaught, the RangeError ends the run like any exception, at the
// first statement of the function that could not be entered (V8 reports that position too),
// with the stack of the calls that led there.
func TestUncaughtRecursion(t *testing.T) {
	tt := []struct {
		name, src   string
		line, col   int
		stackPrefix string
	}{
		{"function", "var x = 0;\nfunction r(n) { return r(n + 1) + 1 }\nr(0);", 2, 16,
			"\tat r (test.js:2:16)\n\tat r (test.js:2:25)\n\tat r (test.js:2:25)\n"},
		{"strict function", "function r(n) {\n  'use strict';\n  return r(n + 1) + 1\n}\nr(0);", 2, 16,
			"\tat r (test.js:2:16)\n\tat r (test.js:3:11)\n"},
		{"arrow", "var f = (n) => 1 + f(n)\nf(0)", 1, 15, "\tat f (test.js:1:15)\n\tat f (test.js:1:21)\n"},
		{"in a timer", "setTimeout(function() {\n  (function g() { g() })()\n}, 10)", 2, 18,
			"\tat g (test.js:2:18)\n\tat g (test.js:2:20)\n"},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runtimetest.Run(t, tc.src)
			var se *runtime.ScriptError
			if !errors.As(err, &se) {
				t.Fatalf("err %v, want a *ScriptError", err)
			}
			if se.Kind != runtime.KindException || se.Message != "RangeError: Maximum call stack size exceeded" ||
				se.Line != tc.line || se.Column != tc.col {
				t.Errorf("got %v %q at %d:%d, want test.js:%d:%d", se.Kind, se.Message, se.Line, se.Column, tc.line, tc.col)
			}
			if !strings.HasPrefix(se.Stack, tc.stackPrefix) {
				t.Errorf("stack %.300q, want prefix %q", se.Stack, tc.stackPrefix)
			}
			if strings.Contains(se.Stack, "__devicejs") {
				t.Error("the hidden check shows in the stack")
			}
		})
	}
}

// TestRecursionBackstop: code the check does not cover (the entry of a function made by new
// Function, a parameter's default value) still meets goja's own bound, 64 frames above, and
// ends the run with its uncatchable error rather than a Go stack overflow. (eval'd code, direct
// or not, and Function bodies are checked: TestEvalSource, TestEvalGuard.)
func TestRecursionBackstop(t *testing.T) {
	for _, src := range []string{
		`var f = new Function('f()'); try { f() } catch (e) { print('caught') }`,
		`function p(a = p()) { return a } try { p() } catch (e) { print('caught') }`,
	} {
		var out bytes.Buffer
		l := runtime.New(runtime.Options{Stdout: &out, MaxCallStackSize: 1000})
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		err := l.Run(ctx, "b.js", src)
		cancel()
		var se *runtime.ScriptError
		var so *goja.StackOverflowError
		if !errors.As(err, &se) || !errors.As(err, &so) || !strings.Contains(se.Message, "Maximum call stack size exceeded") || out.Len() != 0 {
			t.Errorf("%s: err %v, output %q", src, err, out.String())
		}
	}
}

// TestStrictnessKept: the check goes after the directive prologue, so "use strict" functions
// stay strict, and functions print their original source.
func TestStrictnessKept(t *testing.T) {
	out, err := runtimetest.Run(t, `function s() { 'use strict'; return this }
function n() { return this }
function u() {"use strict"
  return typeof this }
var a = () => { 'use strict'; return function() { return this }() }
class C { m() { return (function() { return this })() } }
print(s() === undefined, n() === globalThis, u(), a() === undefined, new C().m() === undefined)
try { (function() { 'use strict'; undeclared = 1 })() } catch (e) { print(e.name) }
print(String(s))
print(String(a), (x => x * 2).toString())
print(C)`)
	want := "true true undefined true true\nReferenceError\n" +
		"function s() { 'use strict'; return this }\n" +
		"() => { 'use strict'; return function() { return this }() } x => x * 2\n" +
		"class C { m() { return (function() { return this })() } }\n"
	if err != nil || out != want {
		t.Fatalf("out %q, err %v\nwant %q", out, err, want)
	}
}

// TestEntryPositionsMatchPlainGoja: the depth checks at function entries move no reported
// position: every frame of an exception is where plain goja, running the unmodified source,
// reports it (TestPositionsMatchPlainGoja does the same for loops).
func TestEntryPositionsMatchPlainGoja(t *testing.T) {
	for _, src := range []string{
		"var f = (a) => a.b.c; function g() { 'use strict'; return f({}) }\ng()",
		"class A { x = 1; y = null.z }\nnew A()",
		"var o = {get p() { return undefinedName }}; [1].map(x => o.p)",
		"function* gen() { yield 1; throw new Error('g') } for (var v of gen()) {}",
		"var h = function() {\"use strict\"\n  return (() => { null.q })() }; h()",
	} {
		t.Run(src, func(t *testing.T) {
			_, err := runtimetest.Run(t, src)
			var se *runtime.ScriptError
			if !errors.As(err, &se) {
				t.Fatalf("Run = %v, want a *ScriptError", err)
			}
			if want := plainGojaStack(t, src); se.Stack != want {
				t.Errorf("stack:\n%s\nplain goja:\n%s", se.Stack, want)
			}
		})
	}
}

// TestDepthCheckGlobal: the check is a hidden accessor of the global object: not enumerable,
// not deletable, not writable, its value undefined.
func TestDepthCheckGlobal(t *testing.T) {
	out, err := runtimetest.Run(t, `var d = Object.getOwnPropertyDescriptor(globalThis, '__devicejs$enter');
print(typeof d.get, d.set, d.enumerable, d.configurable, __devicejs$enter, delete globalThis.__devicejs$enter,
	Object.keys(globalThis).indexOf('__devicejs$enter'))
globalThis.__devicejs$enter = 1; print(typeof __devicejs$enter)`)
	if want := "function undefined false false undefined false -1\nundefined\n"; err != nil || out != want {
		t.Fatalf("out %q, err %v, want %q", out, err, want)
	}
}

// fmtSscan reads "depth name" from the test's output.
func fmtSscan(s string, depth *int, name *string) (int, error) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return 0, errors.New("not two fields")
	}
	n, err := strconv.Atoi(f[0])
	*depth, *name = n, f[1]
	return 2, err
}

// BenchmarkFunctionCall measures one JS function call, on the loop (with the
// call-depth check at function entry) and on plain goja: a recursive fib (a
// call per node, nothing else), a method call and an arrow function with an
// expression body called from a loop (which has its preemption point too).
// ns/call is the figure in docs/runtime.md.
func BenchmarkFunctionCall(b *testing.B) {
	for _, tc := range []struct {
		name, src string
		calls     int // JS calls per iteration
	}{
		{"fib", `function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2) }
			for (var i = 0; i < N; i++) fib(15)`, 1973},
		{"method", `var o = {n: 0, inc: function(d) { this.n += d; return this }}
			for (var i = 0; i < N; i++) o.inc(1)`, 1},
		{"arrow", `var add = (a, b) => a + b; var s = 0
			for (var i = 0; i < N; i++) s = add(s, i)`, 1},
	} {
		src := func(n int) string {
			return `(function() { var N = ` + strconv.Itoa(n) + `; ` + tc.src + ` })()`
		}
		report := func(b *testing.B) {
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*tc.calls), "ns/call")
		}
		b.Run(tc.name+"/instrumented", func(b *testing.B) {
			l := runtime.New(runtime.Options{Stdout: io.Discard})
			if err := l.Run(context.Background(), "bench.js", src(b.N)); err != nil {
				b.Fatal(err)
			}
			report(b)
		})
		b.Run(tc.name+"/plain", func(b *testing.B) {
			if _, err := goja.New().RunString(src(b.N)); err != nil {
				b.Fatal(err)
			}
			report(b)
		})
	}
}
