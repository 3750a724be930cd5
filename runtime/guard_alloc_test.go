package runtime_test

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dop251/goja"

	"github.com/devicejs/devicejs/internal/syncbuf"
	"github.com/devicejs/devicejs/runtime"
	"github.com/devicejs/devicejs/runtime/sandbox"
)

// allocShapes are one-line scripts whose built-in asks goja for one allocation far larger
// than any machine (2^40 bytes and up) or, for the issue's own shapes, 32-64 GiB: before the
// allocation guards each was a Go "fatal error: runtime: out of memory" (or, past 2^48, a Go
// panic that ended the run), budget or not. builtin is what the budget error names.
var allocShapes = []struct{ name, src, builtin string }{
	{"sort of a length set to 2^32-1", `var a = []; a.length = 2**32 - 1; a.sort()`, "Array.prototype.sort"},
	{"sort with a comparator", `var a = [3, 1]; a.length = 2**32 - 1; a.sort(function(x, y) { return x - y })`, "Array.prototype.sort"},
	{"sort of new Array(2^32-1)", `new Array(2**32 - 1).sort()`, "Array.prototype.sort"},
	{"sort.call of an array-like", `Array.prototype.sort.call({length: 2**32 - 1})`, "Array.prototype.sort"},
	{"sort.call of a 2^53-1 array-like", `Array.prototype.sort.call({length: 2**53 - 1, 0: 1})`, "Array.prototype.sort"},
	{"sort through Reflect.apply", `Reflect.apply(Array.prototype.sort, {length: 2**40}, [])`, "Array.prototype.sort"},
	{"sort of a Proxy", `var a = []; a.length = 2**32 - 1; Array.prototype.sort.call(new Proxy(a, {}))`, "Array.prototype.sort"},
	{"sort of a Proxy with a length trap", `[].sort.call(new Proxy({}, {get: function(t, k) { return k === 'length' ? 2**40 : undefined }}))`, "Array.prototype.sort"},
	{"sort of a subclassed array", `class A extends Array {}; var a = new A(); a.length = 2**32 - 1; a.sort()`, "Array.prototype.sort"},
	{"toSorted", `var a = []; a.length = 2**32 - 1; a.toSorted()`, "Array.prototype.toSorted"},
	{"toSorted of an array-like", `Array.prototype.toSorted.call({length: 2**40}, function(a, b) { return a - b })`, "Array.prototype.toSorted"},
	{"toReversed", `Array.prototype.toReversed.call({length: 2**40})`, "Array.prototype.toReversed"},
	{"with", `Array.prototype.with.call({length: 2**40}, 0, 1)`, "Array.prototype.with"},
	{"toSpliced", `Array.prototype.toSpliced.call({length: 2**40}, 0, 0, 1)`, "Array.prototype.toSpliced"},
	{"new Float64Array(4e9)", `new Float64Array(4e9)`, "Float64Array"},
	{"new Float64Array(2^45)", `new Float64Array(2**45)`, "Float64Array"},
	{"new Float64Array of an array-like", `new Float64Array({length: 2**32 - 1})`, "Float64Array"},
	{"new BigInt64Array(2^34)", `new BigInt64Array(2**34)`, "BigInt64Array"},
	{"new Uint8Array(2^41)", `new Uint8Array(2**41)`, "Uint8Array"},
	{"new Int32Array of a string length", `new Int32Array('1e12')`, "Int32Array"},
	{"new Float32Array of a sparse array", `var a = []; a.length = 2**32 - 1; new Float32Array(a)`, "Float32Array"},
	{"Float64Array.from an array-like", `Float64Array.from({length: 2**32 - 1})`, "Float64Array"},
	{"Float64Array.from with a map function", `Float64Array.from({length: 2**40}, function(x) { return 1 })`, "Float64Array"},
	{"Float64Array.from a sparse array", `var a = []; a.length = 2**32 - 1; Float64Array.from(a)`, "TypedArray.from"},
	{"Uint8Array.of through apply", `Uint8Array.of.apply(Uint8Array, {length: 2**40})`, "Function.prototype.apply"},
	{"subclassed typed array", `class F extends Float64Array {}; new F(2**40)`, "Float64Array"},
	{"Reflect.construct of a typed array", `Reflect.construct(Float64Array, [2**40])`, "Float64Array"},
	{"typed array constructor reached from an instance", `new (new Uint16Array(1).constructor)(2**45)`, "Uint16Array"},
	{"species constructor of slice", `var t = new Uint8Array(4); t.constructor = {}; t.constructor[Symbol.species] = function() { return new Float64Array(2**45) }; t.slice()`, "Float64Array"},
	{"new ArrayBuffer(2^35)", `new ArrayBuffer(2**35)`, "ArrayBuffer"},
	{"new ArrayBuffer(2^45)", `new ArrayBuffer(2**45)`, "ArrayBuffer"},
	{"ArrayBuffer from a typed array's buffer", `new (new Int8Array(1).buffer.constructor)(2**45)`, "ArrayBuffer"},
	{"subclassed ArrayBuffer", `class B extends ArrayBuffer {}; new B(2**45)`, "ArrayBuffer"},
	{"apply of {length: 4e9}", `Math.max.apply(null, {length: 4e9})`, "Function.prototype.apply"},
	{"apply of {length: 2^40}", `(function() {}).apply(null, {length: 2**40})`, "Function.prototype.apply"},
	{"Reflect.apply of {length: 2^40}", `Reflect.apply(Math.max, null, {length: 2**40})`, "Reflect.apply"},
	{"Reflect.construct of {length: 2^40}", `Reflect.construct(Date, {length: 2**40})`, "Reflect.construct"},
	{"apply of a sparse array", `var a = []; a.length = 2**32 - 1; Math.max.apply(null, a)`, "Function.prototype.apply"},
}

// TestAllocGuardsOn: the allocation guards are installed (goja's internals are where
// internal/gojainternal expects them).
func TestAllocGuardsOn(t *testing.T) {
	if !sandbox.AllocGuardsOn() {
		t.Fatal("the allocation guards are off: goja's layout changed (see internal/gojainternal)")
	}
	if c := sandbox.AllocationCap(); c < 1<<30 || c > 1<<50 {
		t.Errorf("AllocationCap %d", c)
	}
}

// TestAllocGuardsThrowWithoutBudget: with no budget, each shape throws a catchable
// RangeError (the script's catch runs, and the script goes on) instead of killing the
// process.
func TestAllocGuardsThrowWithoutBudget(t *testing.T) {
	for _, tc := range allocShapes {
		t.Run(tc.name, func(t *testing.T) {
			var out syncbuf.Buffer
			l := runtime.New(runtime.Options{Stdout: &out})
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			src := "try { " + tc.src + "; print('no error') } catch (e) { print(e.name, e instanceof RangeError) }\nprint('after')"
			if err := l.Run(ctx, "alloc.js", src); err != nil {
				t.Fatalf("err %v, stdout %q", err, out.String())
			}
			if got := out.String(); got != "RangeError true\nafter\n" {
				t.Errorf("stdout %q, want a caught RangeError", got)
			}
		})
	}
}

// TestAllocGuardsStopAtBudget: with a budget, each shape ends the run with the budget error
// naming the built-in, uncatchable (no catch, no finally, nothing after it runs), also
// through the fleet's guard budget (MemoryGuardBudget, no watchdog).
func TestAllocGuardsStopAtBudget(t *testing.T) {
	for _, opts := range []runtime.Options{{MaxMemory: guardBudget}, {MemoryGuardBudget: guardBudget}} {
		for _, tc := range allocShapes {
			t.Run(tc.name, func(t *testing.T) {
				var out syncbuf.Buffer
				opts.Stdout = &out
				l := runtime.New(opts)
				ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
				defer cancel()
				src := "try { " + tc.src + " } catch (e) { print('caught', e) } finally { print('finally') }\nprint('after')"
				err := l.Run(ctx, "alloc.js", src)
				var se *runtime.ScriptError
				if !errors.As(err, &se) || se.Kind != runtime.KindLimit || !errors.Is(err, runtime.ErrMemoryBudget) {
					t.Fatalf("err %v, stdout %q", err, out.String())
				}
				want := "alloc.js: memory budget exceeded: " + tc.builtin + " would allocate about "
				if !strings.HasPrefix(se.Error(), want) || !strings.HasSuffix(se.Error(), "the budget is 64 MiB") {
					t.Errorf("message %q, want it to start %q", se.Error(), want)
				}
				if o := out.String(); o != "" {
					t.Errorf("the script went on: stdout %q", o)
				}
			})
		}
	}
}

// TestAllocGuardsKeepSemantics: the checked built-ins answer as goja's own do (the wants
// were printed by plain goja v0.0.0-20260917113740-793a2a65c13b, the version in go.mod,
// which this process no longer has unchecked), without a budget and with one: results,
// errors, names, lengths, attributes, identities and subclassing.
func TestAllocGuardsKeepSemantics(t *testing.T) {
	tt := []struct{ src, want string }{
		{"[3, 1, 2].sort()", "[1,2,3]"},
		{"[3, 1, 10, 2].sort(function(a, b) { return a - b })", "[1,2,3,10]"},
		{"[3, , undefined, 1].sort()", "[1,3,null,null]"},
		{"Array.prototype.sort.call({length: 3, 0: 'b', 2: 'a'})", "{\"0\":\"a\",\"1\":\"b\",\"length\":3}"},
		{"[2, 1].sort(undefined)", "[1,2]"},
		{"(function() { var a = [3, 1]; a.length = 5; a.sort(); return [a.length, 0 in a, 2 in a, a[0]] })()", "[5,true,false,1]"},
		{"Array.prototype.sort.call(new Proxy([2, 1], {}))", "[1,2]"},
		{"[3, 1, 2].toSorted()", "[1,2,3]"},
		{"[1, 2, 3].toReversed()", "[3,2,1]"},
		{"[1, 2, 3].with(1, 9)", "[1,9,3]"},
		{"[1, 2, 3].toSpliced(1, 1, 'a', 'b')", "[1,\"a\",\"b\",3]"},
		{"Array.prototype.toSorted.call({length: 2, 0: 2, 1: 1})", "[1,2]"},
		{"Array.prototype.with.call({length: 2}, 0, 1)", "[1,null]"},
		{"new Float64Array(3)", "{\"0\":0,\"1\":0,\"2\":0}"},
		{"Array.from(new Uint8Array([1, 2, 300]))", "[1,2,44]"},
		{"Array.from(new Int16Array({length: 2, 0: 5}))", "[5,0]"},
		{"Array.from(new Float32Array(new Set([1.5, 2])))", "[1.5,2]"},
		{"new Uint8Array(new ArrayBuffer(8), 2, 3).length", "3"},
		{"Array.from(new Uint16Array(new Uint8Array([7, 8])))", "[7,8]"},
		{"new BigInt64Array(2).length", "2"},
		{"new Int32Array('3').length", "3"},
		{"new Int8Array(true).length", "1"},
		{"new Float64Array(2.7).length", "2"},
		{"new Uint8Array().length", "0"},
		{"new Uint8Array(undefined).length", "0"},
		{"new Uint8Array(null).length", "0"},
		{"Array.from(Float64Array.from([1, 2], function(x) { return x * 2 }))", "[2,4]"},
		{"Array.from(Uint8Array.from({length: 2, 1: 4}))", "[0,4]"},
		{"Array.from(Int8Array.of(1, 2))", "[1,2]"},
		{"new ArrayBuffer(5).byteLength", "5"},
		{"new ArrayBuffer('6').byteLength", "6"},
		{"new ArrayBuffer().byteLength", "0"},
		{"new ArrayBuffer(4).slice(1).byteLength", "3"},
		{"(function() { class F extends Float64Array { m() { return this.length } } var f = new F(3); return [f.m(), f instanceof Float64Array, f.constructor === F] })()", "[3,true,true]"},
		{"(function() { class B extends ArrayBuffer {} var b = new B(4); return [b.byteLength, b instanceof B] })()", "[4,true]"},
		{"Float64Array.prototype.constructor === Float64Array", "true"},
		{"Object.getPrototypeOf(Float64Array) === Object.getPrototypeOf(Uint8Array)", "true"},
		{"new Uint8Array(1).buffer.constructor === ArrayBuffer", "true"},
		{"[Float64Array.name, Float64Array.length, ArrayBuffer.name, ArrayBuffer.length, Float64Array.BYTES_PER_ELEMENT]", "[\"Float64Array\",3,\"ArrayBuffer\",1,8]"},
		{"[Array.prototype.sort.name, Array.prototype.sort.length, Array.prototype.toSpliced.length, Array.prototype.with.length]", "[\"sort\",1,2,2]"},
		{"Object.getOwnPropertyDescriptor(globalThis, 'Float64Array').writable + ' ' + Object.getOwnPropertyDescriptor(globalThis, 'Float64Array').enumerable", "\"true false\""},
		{"Object.getOwnPropertyDescriptor(Array.prototype, 'sort').enumerable", "false"},
		{"String(Float64Array)", "\"function Float64Array() { [native code] }\""},
		{"String(Array.prototype.sort)", "\"function sort() { [native code] }\""},
		{"Reflect.construct(Float64Array, [2], Uint8Array) instanceof Uint8Array", "true"},
		{"Math.max.apply(null, [1, 5, 2])", "5"},
		{"Math.max.apply(null, {length: 2, 0: 3, 1: 4})", "4"},
		{"Reflect.apply(Math.min, null, [4, 2])", "2"},
		{"Reflect.construct(Date, [0]).getTime()", "0"},
		{"(function() { return arguments.length }).apply(null, {length: 3})", "3"},
		{"(function() { var a = [1, 2]; a.length = 4; return (function() { return arguments.length }).apply(null, a) })()", "4"},
		{"Reflect.apply.name + Reflect.apply.length + Reflect.construct.length + Function.prototype.apply.length", "\"apply322\""},
		{"new Float64Array(2).fill(1).toString()", "\"1,1\""},
		{"new Uint8Array([3, 1, 2]).sort().join()", "\"1,2,3\""},
		{"new Uint8Array([1, 2, 3]).slice(1).length", "2"},
		{"new Float64Array(-1)", "\"RangeError\""},
		{"Float64Array(1)", "\"TypeError\""},
		{"new ArrayBuffer(-1)", "\"RangeError\""},
		{"ArrayBuffer(1)", "\"TypeError\""},
		{"[].sort(5)", "\"TypeError\""},
		{"[].toSorted(5)", "\"TypeError\""},
		{"[1].with(5, 1)", "\"RangeError\""},
		{"new Float64Array(Symbol())", "\"TypeError\""},
		{"new Uint8Array(2**53)", "\"RangeError\""},
		{"new ArrayBuffer(2**53)", "\"RangeError\""},
		{"Math.max.apply(null, 5)", "\"TypeError\""},
		{"Reflect.apply(5)", "\"TypeError\""},
		{"Reflect.construct(Math.max, [])", "\"TypeError\""},
		{"new Uint8Array(1n)", "\"TypeError\""},
		{"Float64Array.from(null)", "\"TypeError\""},
		{"Float64Array.from({length: 1}, 5)", "\"TypeError\""},
		{"Array.prototype.sort.call(null)", "\"TypeError\""},
		{"new Uint8Array(new ArrayBuffer(4), 8)", "\"RangeError\""},
	}
	checkResults(t, tt)
}

// checkResults runs each tc.src without a budget and at guardBudget, in a fresh loop with a
// global n = 0, and compares the JSON of its value (a bigint as its digits) or the name of
// what it threw with tc.want.
func checkResults(t *testing.T, tt []struct{ src, want string }) {
	t.Helper()
	for _, budget := range []int64{0, guardBudget} {
		for _, tc := range tt {
			var out syncbuf.Buffer
			l := runtime.New(runtime.Options{Stdout: &out, MaxMemory: budget})
			src := "var n = 0; var r; try { r = " + tc.src + " } catch (e) { r = e.name }\n" +
				"print(JSON.stringify(r, function(k, v) { return typeof v === 'bigint' ? String(v) : v }))"
			if err := l.Run(t.Context(), "sem.js", src); err != nil {
				t.Errorf("budget %d: %s: %v", budget, tc.src, err)
				continue
			}
			if got := strings.TrimSuffix(out.String(), "\n"); got != tc.want {
				t.Errorf("budget %d: %s: got %s, want %s", budget, tc.src, got, tc.want)
			}
		}
	}
}

// BenchmarkAllocGuards: the cost of the checked built-ins on small calls (a length read and
// one more Go call each): sort, apply, a typed array, a buffer and toSorted per iteration.
// Every VM of the process is checked, so the reference is the same loop on plain goja,
// measured outside (docs/reliability.md 17.2).
func BenchmarkAllocGuards(b *testing.B) {
	src := `var a = [3, 1, 2]; function f(x, y) { return x + y }
for (var i = 0; i < N; i++) { a.sort(); f.apply(null, a); new Uint8Array(16); new ArrayBuffer(8); a.toSorted() }`
	l := runtime.New(runtime.Options{Stdout: io.Discard})
	b.ResetTimer()
	if err := l.Run(b.Context(), "bench.js", "var N = "+strconv.Itoa(b.N)+";\n"+src); err != nil {
		b.Fatal(err)
	}
}

// TestHostArrayBufferConstructorChecked: an ArrayBuffer the host hands to a script first (a
// binary MQTT payload) exposes the checked constructor as .constructor, also when the script
// has touched no typed array or ArrayBuffer global before (goja's vm.NewArrayBuffer alone
// builds the constructor unchecked).
func TestHostArrayBufferConstructorChecked(t *testing.T) {
	var out syncbuf.Buffer
	l := runtime.New(runtime.Options{Stdout: &out})
	setup := func(l *runtime.Loop) error {
		return l.VM().Set("payload", func() goja.Value {
			return l.VM().ToValue(sandbox.NewArrayBuffer(l.VM(), []byte{1, 2}))
		})
	}
	src := `var p = payload();
try { new p.constructor(2 ** 45); print('allocated') } catch (e) { print(e.name, p.byteLength) }`
	if err := l.Run(t.Context(), "ab.js", src, setup); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "RangeError 2\n" {
		t.Errorf("got %q", got)
	}
}
