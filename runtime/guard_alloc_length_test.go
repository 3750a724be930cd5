package runtime_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/devicejs/devicejs/internal/syncbuf"
	"github.com/devicejs/devicejs/runtime"
)

// scriptLengths are array-likes whose length is made by script code when it is read (a
// getter, a Proxy's trap, valueOf, Symbol.toPrimitive), each the same every time, huge. Issue
// 17 re-verified 2026-12-06: the allocation guards read such a length as 0 (an object value
// was not converted) while goja converted it, so each of these one-liners was again "fatal
// error: runtime: out of memory", exit 2, at any --max-memory. %s is the array-like.
var scriptLengths = []struct{ name, like string }{
	{"length valueOf", `{length: {valueOf: function() { return 2**40 }}}`},
	{"length Symbol.toPrimitive", `{length: {[Symbol.toPrimitive]: function() { return 2**40 }}}`},
	{"length toString", `{length: {valueOf: undefined, toString: function() { return '1099511627776' }}}`},
	{"length getter", `{get length() { return 2**40 }}`},
	{"inherited length getter", `Object.create({get length() { return 2**40 }})`},
	{"Proxy of an array, length trap", `new Proxy([], {get: function(t, k) { return k === 'length' ? 2**40 : t[k] }})`},
	{"Proxy of a Proxy", `new Proxy(new Proxy({}, {get: function(t, k) { return k === 'length' ? 2**40 : undefined }}), {})`},
	{"typed array with a length getter", `(function() { var t = new Uint8Array(1); Object.defineProperty(t, 'length', {get: function() { return 2**40 }}); return t })()`},
	{"arguments with a length getter", `(function() { Object.defineProperty(arguments, 'length', {get: function() { return 2**40 }}); return arguments })()`},
}

// scriptLengthRoutes are the guarded built-ins that take an array-like, each by the lazy
// routes (a saved reference, Reflect.apply, Function.prototype.call.call, eval, new Function,
// a subclass). %s is the array-like; builtin is what the budget error names.
var scriptLengthRoutes = []struct{ name, src, builtin string }{
	{"sort.call", `Array.prototype.sort.call(%s)`, "Array.prototype.sort"},
	{"sort through a saved reference", `var s = [].sort; s.call(%s)`, "Array.prototype.sort"},
	{"sort through call.call", `Function.prototype.call.call(Array.prototype.sort, %s)`, "Array.prototype.sort"},
	{"sort with a comparator, through eval", `eval('Array.prototype.sort.call(' + 'L' + ', function(a, b) { return a - b })')`, "Array.prototype.sort"},
	{"toSorted", `Array.prototype.toSorted.call(%s)`, "Array.prototype.toSorted"},
	{"toReversed through Reflect.apply", `Reflect.apply(Array.prototype.toReversed, %s, [])`, "Array.prototype.toReversed"},
	{"with", `Array.prototype.with.call(%s, 0, 1)`, "Array.prototype.with"},
	{"toSpliced", `Array.prototype.toSpliced.call(%s, 0, 0, 1)`, "Array.prototype.toSpliced"},
	{"new Float64Array", `new Float64Array(%s)`, "Float64Array"},
	{"new BigInt64Array through new Function", `new Function('x', 'return new BigInt64Array(x)')(%s)`, "BigInt64Array"},
	{"subclassed typed array", `class F extends Uint8Array {}; new F(%s)`, "Uint8Array"},
	{"Reflect.construct of a typed array", `Reflect.construct(Int32Array, [%s])`, "Int32Array"},
	{"apply", `Math.max.apply(null, %s)`, "Function.prototype.apply"},
	{"apply through call.call", `Function.prototype.call.call(Function.prototype.apply, String.fromCharCode, null, %s)`, "Function.prototype.apply"},
	{"Reflect.apply", `Reflect.apply(Math.max, null, %s)`, "Reflect.apply"},
	{"Reflect.construct", `Reflect.construct(Date, %s)`, "Reflect.construct"},
}

// scriptLengthSrc is route r with array-like like (also bound to L, for the eval route).
func scriptLengthSrc(route, like string) string {
	return "var L = " + like + "; " + strings.ReplaceAll(route, "%s", "L")
}

// TestAllocGuardsScriptLengths: every array-like whose length is script code, by every
// route: without a budget a caught RangeError, with one the budget error naming the
// built-in (MaxMemory and the fleet's MemoryGuardBudget); never a Go fatal error. Plus an
// ArrayBuffer whose length is an object.
func TestAllocGuardsScriptLengths(t *testing.T) {
	type shape struct{ name, src, builtin string }
	var shapes []shape
	for _, l := range scriptLengths {
		for _, r := range scriptLengthRoutes {
			if strings.HasPrefix(r.builtin, "Array.prototype.") && strings.HasPrefix(l.name, "typed array") {
				continue // sort and the copies of a typed array are TypedArray.prototype's own
			}
			if strings.HasSuffix(r.builtin, "Array") && (strings.HasPrefix(l.name, "arguments") || strings.HasPrefix(l.name, "typed array") || strings.HasPrefix(l.name, "Proxy of an array")) {
				continue // a typed array is made from an iterable (these three) by iterating, not from its length
			}
			shapes = append(shapes, shape{l.name + ", " + r.name, scriptLengthSrc(r.src, l.like), r.builtin})
		}
	}
	for _, src := range []string{
		`new ArrayBuffer({valueOf: function() { return 2**35 }})`,
		`new ArrayBuffer({[Symbol.toPrimitive]: function() { return 2**45 }})`,
		`new ArrayBuffer({valueOf: undefined, toString: function() { return '34359738368' }})`,
		`new (new Uint8Array(1).buffer.constructor)({valueOf: function() { return 2**45 }})`,
		`class B extends ArrayBuffer {}; new B({valueOf: function() { return 2**45 }})`,
		`Reflect.construct(ArrayBuffer, [{valueOf: function() { return 2**45 }}])`,
	} {
		shapes = append(shapes, shape{src, src, "ArrayBuffer"})
	}
	for _, tc := range shapes {
		t.Run(tc.name, func(t *testing.T) {
			var out syncbuf.Buffer
			l := runtime.New(runtime.Options{Stdout: &out})
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			src := "try { " + tc.src + "; print('no error') } catch (e) { print(e.name, e instanceof RangeError) }\nprint('after')"
			if err := l.Run(ctx, "alloc.js", src); err != nil {
				t.Fatalf("no budget: err %v, stdout %q", err, out.String())
			}
			if got := out.String(); got != "RangeError true\nafter\n" {
				t.Errorf("no budget: stdout %q, want a caught RangeError", got)
			}
			for _, opts := range []runtime.Options{{MaxMemory: guardBudget}, {MemoryGuardBudget: guardBudget}} {
				var out syncbuf.Buffer
				opts.Stdout = &out
				src := "try { " + tc.src + " } catch (e) { print('caught', e) } finally { print('finally') }\nprint('after')"
				err := runtime.New(opts).Run(ctx, "alloc.js", src)
				var se *runtime.ScriptError
				if !errors.As(err, &se) || !errors.Is(err, runtime.ErrMemoryBudget) {
					t.Fatalf("budget: err %v, stdout %q", err, out.String())
				}
				if want := "alloc.js: memory budget exceeded: " + tc.builtin + " would allocate about "; !strings.HasPrefix(se.Error(), want) {
					t.Errorf("budget: message %q, want it to start %q", se.Error(), want)
				}
				if o := out.String(); o != "" {
					t.Errorf("budget: the script went on: stdout %q", o)
				}
			}
		})
	}
}

// TestAllocGuardsLengthReadOnce: a length that answers 1 the first time and 2^32-1 after
// (a counting getter, trap or valueOf) is read once, as LengthOfArrayLike does: the call
// works on length 1 and the script goes on, budget or not. Before: the guard read 1, goja
// read 2^32-1 and asked Go for 32-64 GiB, a Go fatal error (exit 2) that no budget stopped.
// Also the answers of the calls that now go through a Proxy fixing the length: sort returns
// its object and writes it back, element getters see the object, a typed array is filled.
func TestAllocGuardsLengthReadOnce(t *testing.T) {
	counting := []struct{ name, like string }{
		{"getter", `{0: 5, get length() { return n++ ? 2**32 - 1 : 1 }}`},
		{"valueOf", `{0: 5, length: {valueOf: function() { return n++ ? 2**32 - 1 : 1 }}}`},
		{"Proxy trap", `new Proxy({0: 5}, {get: function(t, k) { return k === 'length' ? (n++ ? 2**32 - 1 : 1) : t[k] }})`},
		{"Proxy of an array", `new Proxy([5], {get: function(t, k) { return k === 'length' ? (n++ ? 2**32 - 1 : 1) : t[k] }})`},
		{"typed array length getter", `(function() { var t = new Uint8Array([5]); Object.defineProperty(t, 'length', {get: function() { return n++ ? 2**32 - 1 : 1 }}); return t })()`},
		{"arguments length getter", `(function() { Object.defineProperty(arguments, 'length', {get: function() { return n++ ? 2**32 - 1 : 1 }}); return arguments })(5)`},
	}
	routes := []struct{ src, want string }{
		{`Array.prototype.sort.call(L)[0]`, `5`},
		{`Array.prototype.sort.call(L) === L`, `true`},
		{`JSON.stringify(Array.prototype.toSorted.call(L))`, `"[5]"`},
		{`JSON.stringify(Reflect.apply(Array.prototype.toReversed, L, []))`, `"[5]"`},
		{`JSON.stringify(Array.prototype.with.call(L, 0, 7))`, `"[7]"`},
		{`JSON.stringify(Array.prototype.toSpliced.call(L, 1, 0, 6))`, `"[5,6]"`},
		{`JSON.stringify(Array.from(new Float64Array(L)))`, `"[5]"`},
		{`new Function('x', 'return new BigInt64Array(x).length')({length: {valueOf: function() { return n++ ? 2**34 : 1 }}, 0: 1n})`, `1`},
		{`Reflect.construct(Int8Array, [L]).length`, `1`},
		{`Math.max.apply(null, L)`, `5`},
		{`Function.prototype.call.call(Function.prototype.apply, Math.min, null, L)`, `5`},
		{`Reflect.apply(Math.max, null, L)`, `5`},
		{`Reflect.construct(Number, L).valueOf()`, `5`},
		{`eval('String.fromCharCode.apply(null, L)').charCodeAt(0)`, `5`},
	}
	for _, c := range counting {
		for _, r := range routes {
			iterable := strings.HasPrefix(c.name, "typed array") || strings.HasPrefix(c.name, "arguments") || strings.HasPrefix(c.name, "Proxy of an array")
			if iterable && (strings.Contains(r.src, "Array(L)") || strings.Contains(r.src, "Array, [L]")) {
				continue // a typed array is made from an iterable by iterating (without a budget, for as long as the length getter says), not from its length
			}
			for _, budget := range []int64{0, guardBudget} {
				var out syncbuf.Buffer
				l := runtime.New(runtime.Options{Stdout: &out, MaxMemory: budget})
				src := "var n = 0; var L = " + c.like + "; var r; try { r = " + r.src + " } catch (e) { r = e.name + ': ' + e.message }\nprint(JSON.stringify(r), n)"
				ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
				err := l.Run(ctx, "once.js", src)
				cancel()
				if err != nil {
					t.Errorf("%s, %s, budget %d: %v", c.name, r.src, budget, err)
					continue
				}
				if got, want := strings.TrimSuffix(out.String(), "\n"), r.want+" 1"; got != want {
					t.Errorf("%s, %s, budget %d: got %s, want %s (the result, then the reads of length)", c.name, r.src, budget, got, want)
				}
			}
		}
	}
}

// TestAllocGuardsFixedLengthSemantics: what a built-in given an array-like with a length
// getter answers, now that it reads a Proxy fixing the length: the object itself is sorted
// and returned, element getters and setters run on it, errors are goja's.
func TestAllocGuardsFixedLengthSemantics(t *testing.T) {
	tt := []struct{ src, want string }{
		{"(function() { var o = {get length() { return 3 }, 0: 'c', 1: 'a', 2: 'b'}; var r = Array.prototype.sort.call(o); return [r === o, o[0], o[1], o[2]] })()", `[true,"a","b","c"]`},
		{"(function() { var o = {length: {valueOf: function() { return 2 }}, 0: 2, 1: 1}; return Array.prototype.sort.call(o) === o && o[0] === 1 })()", "true"},
		{"(function() { var seen; var o = {get length() { return 1 }, get 0() { seen = this; return 4 }}; var r = Math.max.apply(null, o); return [r, seen === o] })()", "[4,true]"},
		{"(function() { var o = {get length() { return 2 }, 0: 1, 1: 2}; return Array.from(new Uint8Array(o)) })()", "[1,2]"},
		{"(function() { var o = {get length() { return 2 }, 0: 3}; return Array.prototype.toSorted.call(o) })()", "[3,null]"},
		{"(function() { return (function() { return arguments.length }).apply(null, {length: {valueOf: function() { return 3 }}}) })()", "3"},
		{"Math.max.apply(null, {get length() { throw new TypeError('no length') }})", `"TypeError"`},
		{"Array.prototype.sort.call({length: {valueOf: function() { throw new SyntaxError('x') }}})", `"SyntaxError"`},
		{"Math.max.apply(null, {length: Symbol()})", `"TypeError"`},
		{"new Float64Array({length: {valueOf: function() { return -5 }}}).length", "0"},
		{"Array.prototype.toReversed.call({length: {valueOf: function() { return NaN }}}).length", "0"},
		{"new ArrayBuffer({valueOf: function() { return 6 }}).byteLength", "6"},
		{"new ArrayBuffer({valueOf: function() { return -1 }})", `"RangeError"`},
		{"new ArrayBuffer(Symbol())", `"TypeError"`},
		{"(function() { var n = 0; new ArrayBuffer({valueOf: function() { n++; return 1 }}); return n })()", "1"},
		{"Math.max.apply(null, 'ü9')", `"TypeError"`},
		{"Reflect.apply.call('ü', function() { return 'ü' }, null, {length: 0})", `"ü"`},
	}
	checkResults(t, tt)
}

// TestJoinArrayLikeBudget: join and fill of an array-like are estimated like those of an Array
// against the budget, with its length read once. Before: only Arrays were, and a fleet in one
// process (no backstop) grew Array.prototype.join.call({length: 2**24}, 4 KiB) to 1.4 GiB at
// its 512 MiB budget, fill.call({length: 2**26}, 0) to 518 MiB at 64 MiB (issue 17
// re-verified, 2026-12-06).
func TestJoinArrayLikeBudget(t *testing.T) {
	shapes := []string{
		`Array.prototype.join.call({length: 2**24}, 'x'.repeat(4096))`,
		`Array.prototype.join.call({length: {valueOf: function() { return 2**30 }}}, 'ab')`,
		`Array.prototype.join.call({get length() { return 2**30 }})`,
		`Array.prototype.join.call(new Proxy({}, {get: function(t, k) { return k === 'length' ? 2**30 : undefined }}), '--')`,
		`Reflect.apply(Array.prototype.join, {length: 2**27}, ['abcdefgh'])`,
		`Function.prototype.call.call([].join, {length: 2**27}, 'abcdefgh')`,
		`eval('[].join').call((function() { Object.defineProperty(arguments, 'length', {value: 2**30}); return arguments })(), 'xy')`,
		`new Function('o', 'return Array.prototype.join.call(o, "abcdefgh")')({length: 2**27})`,
		`Array.prototype.fill.call({length: 2**26}, 0)`,
		`Array.prototype.fill.call({get length() { return 2**30 }}, 1, 5)`,
		`Reflect.apply([].fill, {length: {valueOf: function() { return 2**30 }}}, ['x', -(2**29)])`,
	}
	for _, src := range shapes {
		for _, opts := range []runtime.Options{{MaxMemory: guardBudget}, {MemoryGuardBudget: guardBudget}} {
			var out syncbuf.Buffer
			opts.Stdout = &out
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			err := runtime.New(opts).Run(ctx, "join.js", "try { "+src+" } catch (e) { print('caught', e) }\nprint('after')")
			cancel()
			var se *runtime.ScriptError
			if !errors.As(err, &se) || !errors.Is(err, runtime.ErrMemoryBudget) ||
				!strings.HasPrefix(se.Error(), "join.js: memory budget exceeded: Array.prototype.") || !strings.Contains(se.Error(), " would allocate about ") {
				t.Errorf("%s: err %v, stdout %q", src, err, out.String())
			}
		}
	}
	tt := []struct{ src, want string }{
		{"Array.prototype.join.call({length: 3, 0: 'a', 2: 'c'})", `"a,,c"`},
		{"Array.prototype.join.call({get length() { return n++ ? 2**30 : 2 }, 0: 1, 1: 2}, '-') + ' ' + n", `"1-2 1"`},
		{"(function() { return Array.prototype.join.call(arguments, '+') })(1, 2, 3)", `"1+2+3"`},
		{"Array.prototype.join.call('abc')", `"a,b,c"`},
		{"(function() { var o = {length: 2}; o[0] = o; o[1] = 'x'; return Array.prototype.join.call(o) })()", `"[object Object],x"`},
		{"Array.prototype.join.call({length: {valueOf: function() { return 2 }}, 0: 'p', 1: 'q'}, {toString: function() { return '|' }})", `"p|q"`},
		{"[1, [2, 3]].join(';')", `"1;2,3"`},
		{"(function() { var o = {length: 3}; var r = Array.prototype.fill.call(o, 7, 1); return [r === o, o[0], o[1], o[2]] })()", `[true,null,7,7]`},
		{"(function() { var o = {get length() { return n++ ? 2**30 : 2 }}; Array.prototype.fill.call(o, 'f'); return [o[0], o[1], o[2], n] })()", `["f","f",null,1]`},
		{"Array.prototype.fill.call('ab', 1)", `"TypeError"`},
		{"new Array(3).fill(0)", `[0,0,0]`},
	}
	checkResults(t, tt)
}
