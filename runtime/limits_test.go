package runtime_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/devicejs/devicejs/runtime"
	"github.com/devicejs/devicejs/runtime/runtimetest"
	"github.com/devicejs/devicejs/runtime/sandbox"
)

// ecmaGlobals are the ECMAScript built-in globals goja provides. A goja upgrade that adds a
// standard one (WeakRef, Iterator...) belongs here; anything else is a sandbox leak.
var ecmaGlobals = []string{
	"AggregateError", "Array", "ArrayBuffer", "BigInt", "BigInt64Array", "BigUint64Array", "Boolean",
	"DataView", "Date", "Error", "EvalError", "Float32Array", "Float64Array", "Function", "Infinity",
	"Int16Array", "Int32Array", "Int8Array", "JSON", "Map", "Math", "NaN", "Number", "Object", "Promise",
	"Proxy", "RangeError", "ReferenceError", "Reflect", "RegExp", "Set", "String", "Symbol", "SyntaxError",
	"TypeError", "URIError", "Uint16Array", "Uint32Array", "Uint8Array", "Uint8ClampedArray", "WeakMap",
	"WeakSet", "decodeURI", "decodeURIComponent", "encodeURI", "encodeURIComponent", "escape", "eval",
	"globalThis", "isFinite", "isNaN", "parseFloat", "parseInt", "undefined", "unescape",
}

// deviceGlobals are what the runtime adds: print, the timers, the hidden preemption tick, the
// hidden call-depth check and the hidden check of eval and Function source (all three
// non-enumerable; see docs/runtime.md).
var deviceGlobals = []string{"print", "setTimeout", "setInterval", "clearTimeout", "clearInterval",
	"__devicejs$tick", "__devicejs$enter", "__devicejs$source"}

// TestSandboxGlobals lists every own property of the global object, enumerable or not: exactly
// the ECMAScript built-ins plus the device globals (goja's non-standard GoError is removed).
func TestSandboxGlobals(t *testing.T) {
	out, err := runtimetest.Run(t, `print(Object.getOwnPropertyNames(globalThis).join('\n'))`)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Fields(out)
	want := append(slices.Clone(ecmaGlobals), deviceGlobals...)
	for _, g := range got {
		if !slices.Contains(want, g) {
			t.Errorf("unexpected global %q", g)
		}
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("missing global %q", w)
		}
	}
	out, err = runtimetest.Run(t, `print(typeof require, typeof process, typeof console, typeof module, typeof GoError,
		Object.getOwnPropertySymbols(globalThis).map(String).join())`)
	if err != nil || out != "undefined undefined undefined undefined undefined Symbol(Symbol.toStringTag)\n" {
		t.Fatalf("out %q, err %v", out, err)
	}
}

// TestCatchableRangeErrors: hostile nesting and lengths that goja would handle in unbounded Go
// recursion or uninterruptible Go loops throw a RangeError the script can catch.
func TestCatchableRangeErrors(t *testing.T) {
	tt := []struct{ name, src, want string }{
		{"deep JSON.parse (a Go stack overflow unguarded)",
			`var s = new Array(10000002).join('['); try { JSON.parse(s) } catch (e) { print(e.name, e.message) }`,
			"RangeError JSON.parse: nesting deeper than 10000 levels\n"},
		{"JSON.parse at the bound",
			`var n = 10000; var v = JSON.parse(new Array(n + 1).join('[') + new Array(n + 1).join(']')); print(Array.isArray(v))`,
			"true\n"},
		{"JSON.parse brackets in strings do not count",
			`print(JSON.parse('"' + new Array(20000).join('[') + '"').length, JSON.parse('["\\"[["]')[0])`,
			"19999 \"[[\n"},
		{"JSON.parse converts its argument once",
			`var n = 0; print(JSON.parse({toString: function() { n++; return '[1]' }})[0], n)`, "1 1\n"},
		{"JSON.parse reviver",
			`print(JSON.stringify(JSON.parse('{"a":1}', function(k, v) { return typeof v == 'number' ? v * 2 : v })))`,
			"{\"a\":2}\n"},
		{"deep JSON.stringify",
			`var o = {}; for (var i = 0; i < 20000; i++) o = {a: o}; try { JSON.stringify(o) } catch (e) { print(e.name, e.message) }`,
			"RangeError JSON.stringify: nesting deeper than 10000 levels\n"},
		{"deep JSON.stringify through toJSON",
			`function N(d) { this.d = d } N.prototype.toJSON = function() { return this.d > 0 ? [new N(this.d - 1)] : 0 };
			 try { JSON.stringify(new N(20000)) } catch (e) { print(e.name) }`, "RangeError\n"},
		{"JSON.stringify with replacer, indent and array replacer keep their meaning",
			`print(JSON.stringify({a: 1, b: [2]}, function(k, v) { return typeof v == 'number' ? v + 1 : v }),
			       JSON.stringify({a: 1, b: 2}, ['b']), JSON.stringify([1], null, 1), JSON.stringify(undefined), JSON.stringify.length,
			       JSON.stringify({a: 1, b: 2}, new Proxy(['a'], {})))`,
			"{\"a\":2,\"b\":[3]} {\"b\":2} [\n 1\n] undefined 3 {\"a\":1}\n"},
		{"JSON.stringify of a shared (not cyclic) object",
			`var x = {v: 1}; print(JSON.stringify({a: x, b: [x]}))`, "{\"a\":{\"v\":1},\"b\":[{\"v\":1}]}\n"},
		{"JSON.stringify of a cycle is still a TypeError",
			`var a = {}; a.a = a; try { JSON.stringify(a) } catch (e) { print(e.name) }`, "TypeError\n"},
		{"nested arrays to string",
			`var a = []; for (var i = 0; i < 20000; i++) a = [a]; try { String(a) } catch (e) { print(e.name, e.message) }
			 try { a.toLocaleString() } catch (e) { print(e.name) } try { a.join() } catch (e) { print(e.name) }`,
			"RangeError Array.prototype.join: arrays nested deeper than 10000 levels\nRangeError\nRangeError\n"},
		{"join and toString keep their meaning",
			`var c = [1]; c.push(c); print(String(c), [1, [2, [3]]].join(';'), [1, 2].toLocaleString(), Array.prototype.join.length, [].join.name)`,
			"1, 1;2,3 1,2 1 join\n"},
		{"the join bound resets after a throw",
			`var a = []; for (var i = 0; i < 20000; i++) a = [a]; for (var k = 0; k < 3; k++) try { String(a) } catch (e) {}
			 var b = []; for (var i = 0; i < 9000; i++) b = [b]; print(String(b) === '')`, "true\n"},
		{"repeat beyond the string length bound",
			`try { 'ab'.repeat(Math.pow(2, 29)) } catch (e) { print(e.name, e.message) }`, "RangeError Invalid string length\n"},
		{"repeat keeps its own errors and lone surrogates",
			`try { 'a'.repeat(-1) } catch (e) { print(e.name) } print('\uD800'.repeat(3).charCodeAt(2), 'ab'.repeat(2.9), ''.repeat(1e10) === '')`,
			"RangeError\n55296 abab true\n"},
		{"repeat on null",
			`try { String.prototype.repeat.call(null, 1) } catch (e) { print(e.name) }`, "TypeError\n"},
		{"padStart and padEnd",
			`try { 'a'.padEnd(Math.pow(2, 30)) } catch (e) { print(e.name) } print('a'.padStart(3, 'xy'), 'a'.padEnd(1e12, '') === 'a', 'a'.padEnd(3) + '|')`,
			"RangeError\nxya true a  |\n"},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runtimetest.Run(t, tc.src)
			if err != nil {
				t.Fatalf("err %v (out %q)", err, out)
			}
			if out != tc.want {
				t.Errorf("output %q, want %q", out, tc.want)
			}
		})
	}
}

// TestDeepSourceIsASyntaxError: goja's parser recurses on the Go stack without a bound, so the
// script's own source is checked first.
func TestDeepSourceIsASyntaxError(t *testing.T) {
	src := "var x = " + strings.Repeat("(", 20000) + "1" + strings.Repeat(")", 20000) + ";"
	_, err := runtimetest.Run(t, src)
	var se *runtime.ScriptError
	if !errors.As(err, &se) || se.Kind != runtime.KindSyntax || !strings.Contains(se.Message, "nested deeper") {
		t.Fatalf("err %v", err)
	}
}

// TestRegexpBacktrackingIsBounded: a catastrophic back-reference pattern (regexp2, not RE2)
// gives up after RegexpMatchTimeout and behaves as no match.
func TestRegexpBacktrackingIsBounded(t *testing.T) {
	start := time.Now()
	out, err := runtimetest.Run(t, `print(/^(a+)+\1$/.test('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab'), /^(a+)\1$/.test('aaaa'))`)
	if err != nil || out != "false true\n" {
		t.Fatalf("out %q, err %v", out, err)
	}
	if d := time.Since(start); d > sandbox.RegexpMatchTimeout+5*time.Second {
		t.Errorf("took %v", d)
	}
	t.Logf("catastrophic match gave up after %v", time.Since(start))
}

// TestMemoryBudget: memory bombs end the run with a KindLimit error soon after the live heap
// passes Options.MaxMemory; JS cannot catch it.
func TestMemoryBudget(t *testing.T) {
	const budget = 64 << 20
	tt := []struct{ name, src string }{
		{"growing array", `var a = []; while (1) { a.push('x'.repeat(4096) + a.length) }`},
		{"string doubling", `var s = 'x'; try { while (1) { s += s } } catch (e) { print('caught', e) }`},
		{"typed arrays", `var k = []; for (;;) k.push(new Float64Array(1 << 20))`},
		{"in a timer callback", `setTimeout(function() { var a = []; for (;;) a.push({i: a.length, s: 'y' + a.length}) }, 10)`},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			l := runtime.New(runtime.Options{Stdout: io.Discard, MaxMemory: budget})
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			start := time.Now()
			err := l.Run(ctx, "bomb.js", tc.src)
			var se *runtime.ScriptError
			if !errors.As(err, &se) || se.Kind != runtime.KindLimit || !errors.Is(err, runtime.ErrMemoryBudget) {
				t.Fatalf("err %v", err)
			}
			// Each typed array is 8 MiB: the watchdog or, when the heap is near the budget, the
			// typed array constructor's guard (guard_alloc.go) stops the run.
			if !strings.HasPrefix(se.Error(), "bomb.js: memory budget exceeded: the heap holds ") &&
				!strings.HasPrefix(se.Error(), "bomb.js: memory budget exceeded: Float64Array would allocate about 8 MiB") {
				t.Errorf("message %q", se.Error())
			}
			t.Logf("%s stopped after %v: %s", tc.name, time.Since(start), se.Message)
		})
	}
}
