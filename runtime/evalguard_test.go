package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/dop251/goja"

	"github.com/devicejs/devicejs/runtime"
	"github.com/devicejs/devicejs/runtime/runtimetest"
)

// routes are the ways to build code at run time that the rewrite cannot see: each defines
// run(s), which evaluates s as code (eval routes) or as a function body and calls the function.
var routes = []struct{ name, def string }{
	{"eval by another name", `var e = eval; var run = s => e(s)`},
	{"comma eval", `var run = s => (0, eval)(s)`},
	{"globalThis.eval", `var run = s => globalThis.eval(s)`},
	{"optional call eval", `var run = s => eval?.(s)`},
	{"eval.call", `var run = s => eval.call(null, s)`},
	{"Reflect.apply eval", `var run = s => Reflect.apply(eval, null, [s])`},
	{"constructor of a function", `var run = s => (function() {}).constructor(s)()`},
	{"Function.apply", `var run = s => Function.apply(null, [s])()`},
	{"Function.call", `var run = s => Function.call(null, s)()`},
	{"Reflect.construct Function", `var run = s => Reflect.construct(Function, [s])()`},
	{"bound Function", `var run = s => new (Function.bind(null))(s)()`},
	{"GeneratorFunction", `var run = s => Object.getPrototypeOf(function* () {}).constructor(s)().next()`},
	{"AsyncFunction", `var run = s => Object.getPrototypeOf(async function () {}).constructor(s)()`},
}

// TestEvalGuard: every indirect route checks and instruments its source as direct eval and
// Function calls do: 200,000 nested brackets are a catchable SyntaxError (not a Go stack
// overflow in goja's parser), a self-delegating generator and plain recursion a catchable
// RangeError, and a loop has preemption points (a timer fires while it spins).
func TestEvalGuard(t *testing.T) {
	// Each check awaits run, so the AsyncFunction route's rejection is caught like a throw.
	const checks = `
var n = 0, id = setInterval(function() { n++ }, 1000);
async function main() {
	for (var s of [new Array(200001).join('('), 'function* g() { yield* g() } g().next()', 'function r() { r() } r()']) {
		try { await run(s); print('no error') } catch (e) { print(e.name, e.message) }
	}
	await run('while (n < 3) {}');
	print(n);
}
main().then(function() { clearInterval(id); print('goes on') });`
	want := "SyntaxError brackets nested deeper than 10000 levels\n" +
		"RangeError Maximum call stack size exceeded\nRangeError Maximum call stack size exceeded\n3\ngoes on\n"
	for _, r := range routes {
		t.Run(r.name, func(t *testing.T) {
			out, err := runtimetest.Run(t, r.def+";\n"+checks)
			if err != nil || out != want {
				t.Errorf("out %q, err %v\nwant %q", out, err, want)
			}
		})
	}
}

// TestEvalGuardStops: a loop built at run time by any route is ended by the context and by
// Interrupt.
func TestEvalGuardStops(t *testing.T) {
	for _, r := range routes {
		t.Run(r.name, func(t *testing.T) {
			src := r.def + ";\nrun('while (1) {}')"
			ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
			defer cancel()
			start := time.Now()
			if err := runtime.New(runtime.Options{Stdout: io.Discard}).Run(ctx, "spin.js", src); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("context: err %v", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("stopped after %v", d)
			}
			l := runtime.New(runtime.Options{Stdout: io.Discard})
			cause := errors.New("stop")
			time.AfterFunc(50*time.Millisecond, func() { l.Interrupt(cause) })
			if err := l.Run(t.Context(), "spin.js", src); !errors.Is(err, cause) {
				t.Errorf("Interrupt: err %v", err)
			}
		})
	}
}

// TestEvalGuardSemantics: the checked eval and function constructors behave as goja's own,
// compared by running each script on plain goja too: a direct eval keeps the local scope and
// strictness, an indirect one gets the global scope; names, lengths, property attributes,
// toString, identities (f.constructor === Function, instanceof), subclasses, new.target.
func TestEvalGuardSemantics(t *testing.T) {
	tt := []struct{ name, src string }{
		{"eval's own properties",
			`print(typeof eval, eval.name, eval.length, String(eval), Object.getOwnPropertyNames(eval).join(),
			 JSON.stringify(Object.getOwnPropertyDescriptor(globalThis, 'eval')), JSON.stringify(Object.getOwnPropertyDescriptor(eval, 'name')),
			 JSON.stringify(Object.getOwnPropertyDescriptor(eval, 'length')), eval === globalThis.eval, Object.getPrototypeOf(eval) === Function.prototype,
			 'prototype' in eval, Object.keys(globalThis).indexOf('eval'))`},
		{"direct eval is local, indirect global",
			`var x = 'global'; function f() { var x = 'local'; var e = eval;
			 return [eval('x'), (eval)('x'), e('x'), (0, eval)('x'), eval?.('x'), globalThis.eval('x'), eval.call(null, 'x'), Reflect.apply(eval, null, ['x'])].join() }
			 print(f()); function p(eval) { var x = 'param'; return eval('x') } print(p(eval))`},
		{"strictness",
			`function s() { 'use strict'; eval('var y = 1'); var e = eval; e('var z = 2'); return [typeof y, typeof z, eval('this'), e('this') === globalThis] }
			 print(s(), typeof z, (0, eval)('"use strict"; var w = 1; typeof w'), typeof w)`},
		{"declarations of indirect eval",
			`(0, eval)('var iv = 1; let il = 2; function ifn() { return 3 }'); print(typeof iv, typeof il, ifn(), delete globalThis.iv, typeof iv)`},
		{"eval of non-strings and errors",
			`var o = {}; print((0, eval)(o) === o, (0, eval)(), eval(), (0, eval)(5, 6));
			 try { new eval('1') } catch (e) { print(e.name) } try { (0, eval)('a b') } catch (e) { print(e.name) }
			 try { (0, eval)('throw new RangeError("r")') } catch (e) { print(e.name, e.message) }`},
		{"Function's own properties",
			`print(typeof Function, Function.name, Function.length, String(Function), Object.getOwnPropertyNames(Function).join(),
			 JSON.stringify(Object.getOwnPropertyDescriptor(Function, 'prototype')), JSON.stringify(Object.getOwnPropertyDescriptor(Function.prototype, 'constructor')),
			 JSON.stringify(Object.getOwnPropertyDescriptor(globalThis, 'Function')), JSON.stringify(Object.getOwnPropertyDescriptor(Function, 'name')),
			 JSON.stringify(Object.getOwnPropertyDescriptor(Function, 'length')), Object.getPrototypeOf(Function) === Function.prototype)`},
		{"Function identities",
			`var f = function() {}; print(f.constructor === Function, f instanceof Function, Function.prototype === Object.getPrototypeOf(f),
			 Function.prototype.constructor === Function, Function instanceof Function, Object.getPrototypeOf(new Function('')) === Function.prototype,
			 (() => 1).constructor === Function, Function.prototype.constructor.prototype === Function.prototype)`},
		{"Function calls",
			`print(new Function('return 1')(), Function('a', 'b', 'return a + b')(1, 2), Reflect.construct(Function, ['return 1'])(),
			 Function.call({}, 'return 3')(), new (Function.bind(null, 'a', 'return a * 2'))()(4), Function()(), String(new Function('a', 'return a')),
			 new Function('a, b = 2', 'return a + b').length, Function('return this')() === globalThis)
			 var gv = 1; function k() { var gv = 2; return Function('return gv')() } print(k())`},
		{"Function errors",
			`try { Function({toString() { throw new Error('x') }}) } catch (e) { print(e.message) }
			 try { Function(Symbol()) } catch (e) { print(e.name) } try { Function('a b') } catch (e) { print(e.name) }
			 try { new Function('a', '}') } catch (e) { print(e.name) }`},
		{"subclass and new.target",
			`class F extends Function { m() { return 'm' } } var g = new F('return 7');
			 print(g(), g instanceof F, g instanceof Function, Object.getPrototypeOf(g) === F.prototype, g.m());
			 var h = Reflect.construct(Function, ['return 2'], Array); print(Object.getPrototypeOf(h) === Array.prototype, typeof h);
			 function N() {} N.prototype = 5; print(Object.getPrototypeOf(Reflect.construct(Function, [''], N)) === Function.prototype)`},
		{"GeneratorFunction",
			`var G = Object.getPrototypeOf(function* () {}).constructor;
			 print(G.name, G.length, String(G), Object.getOwnPropertyNames(G).join(), G.prototype === Object.getPrototypeOf(function* () {}),
			 Object.getPrototypeOf(G) === Function.prototype, JSON.stringify(Object.getOwnPropertyDescriptor(G.prototype, 'constructor')),
			 JSON.stringify(Object.getOwnPropertyDescriptor(G, 'prototype')), [...G('yield 1; yield 2')()].join(), G('a', 'yield a')(5).next().value,
			 Object.getPrototypeOf(G('')) === G.prototype, Object.getPrototypeOf(new G('')) === G.prototype, G('') instanceof G, G === Function,
			 String(G('a', 'yield a')).replace('0..__devicejs$enter;', ''), typeof G.prototype.prototype.next)`}, // a generator's own entry is checked (docs/runtime.md)
		{"AsyncFunction",
			`var A = Object.getPrototypeOf(async function () {}).constructor;
			 print(A.name, A.length, String(A), Object.getOwnPropertyNames(A).join(), A.prototype === Object.getPrototypeOf(async () => 1),
			 JSON.stringify(Object.getOwnPropertyDescriptor(A.prototype, 'constructor')), A('') instanceof A, A('') instanceof Function);
			 A('a', 'return await a')(3).then(v => print('async', v))`},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			want := plainGoja(t, tc.src)
			out, err := runtimetest.Run(t, tc.src)
			if err != nil || out != want {
				t.Errorf("out %q, err %v\nplain goja %q", out, err, want)
			}
		})
	}
}

// plainGoja runs src on a plain goja runtime with a print like the loop's and returns what
// it printed.
func plainGoja(t *testing.T, src string) string {
	t.Helper()
	vm := goja.New()
	var out strings.Builder
	if err := vm.Set("print", func(call goja.FunctionCall) goja.Value {
		for i, a := range call.Arguments {
			if i > 0 {
				out.WriteByte(' ')
			}
			out.WriteString(a.String())
		}
		out.WriteByte('\n')
		return goja.Undefined()
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := vm.RunString(src); err != nil {
		t.Fatalf("plain goja: %v", err)
	}
	return out.String()
}

// ExampleLoop_eval: an indirect eval of source built by the script is checked like a direct one.
func ExampleLoop_eval() {
	err := runtime.New(runtime.Options{}).Run(context.Background(), "deep.js",
		`try { (0, eval)(new Array(200001).join('(')) } catch (e) { print(e.name, e.message) }`)
	fmt.Println(err)
	// Output:
	// SyntaxError brackets nested deeper than 10000 levels
	// <nil>
}

// TestGeneratorGuardIsLazy: the generator and async function constructors are guarded only
// once source that may define such a function runs, and every way such a function can come
// into existence first installs the guard: the script's own source (function*, generator
// methods in objects and classes, async functions and arrows) and eval or Function source.
// The check is a deep source string given to the constructor: a catchable SyntaxError.
func TestGeneratorGuardIsLazy(t *testing.T) {
	const check = `
try { C(new Array(20001).join('(')); print('no error') } catch (e) { print(e.name, e.message) }`
	cases := []struct{ name, def string }{
		{"generator declaration", `function* g() {} var C = Object.getPrototypeOf(g).constructor`},
		{"generator method", `var C = Object.getPrototypeOf(({ *g() {} }).g).constructor`},
		{"class generator method", `class A { *g() {} } var C = Object.getPrototypeOf(A.prototype.g).constructor`},
		{"async arrow", `var C = Object.getPrototypeOf(async () => {}).constructor`},
		{"async method", `var C = Object.getPrototypeOf(({ async m() {} }).m).constructor`},
		{"generator from indirect eval", `var C = (0, eval)('Object.getPrototypeOf(function* () {}).constructor')`},
		{"async from direct eval", `var C = eval('Object.getPrototypeOf(async function () {}).constructor')`},
		{"generator from Function", `var C = Function('return Object.getPrototypeOf(function* () {}).constructor')()`},
		{"generator from new Function by another name", `var F = Function; var C = new F('return Object.getPrototypeOf(function* () {}).constructor')()`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := runtimetest.Run(t, c.def+";"+check)
			const want = "SyntaxError brackets nested deeper than 10000 levels\n"
			if err != nil || out != want {
				t.Errorf("out %q, err %v; want %q", out, err, want)
			}
		})
	}
}
