package runtime_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/devicejs/devicejs/runtime"
	"github.com/devicejs/devicejs/runtime/runtimetest"
)

// TestEvalSource: source built at run time and passed to a direct eval or Function call is
// checked for bracket nesting (a catchable SyntaxError instead of a Go stack overflow in goja's
// parser) and instrumented like the script (catchable recursion, preemption points), while
// eval and Function keep their meaning: a direct eval still sees the caller's scope.
func TestEvalSource(t *testing.T) {
	tt := []struct{ name, src, want string }{
		{"direct eval keeps local scope",
			`function f() { var a = 1; return eval('a + 1') } function g() { eval('var b = 5'); return b }
			 print(f() === 2, g(), (function(x) { return eval('x * 2') })(21))`,
			"true 5 42\n"},
		{"eval of non-strings returns them",
			`var s = new String('1 + 1'), o = {a: 1}; print(eval(5), eval(true), typeof eval(), eval(null), eval(o) === o, eval(s) === s)`,
			"5 true undefined null true true\n"},
		{"eval returns values",
			`print(eval('1; 2'), eval('for (var i = 0; i < 3; i++) i'), eval('(x => x * 2)')(4), eval('[1, 2]').length, eval('var q = 1'))`,
			"2 2 8 2 undefined\n"},
		{"strict-mode eval",
			`function h() { 'use strict'; eval('var y = 1'); return typeof y } print(h(), eval('"use strict"; var z = 1; typeof z'), typeof z,
			 (function() { 'use strict'; return eval('this') })())`,
			"undefined number undefined undefined\n"},
		{"eval and Function keep their own SyntaxError",
			`try { eval('a b') } catch (e) { print(e.name) } try { new Function('a b') } catch (e) { print(e.name) }`,
			"SyntaxError\nSyntaxError\n"},
		{"deep eval source is a catchable SyntaxError",
			`try { eval(new Array(200001).join('(')) } catch (e) { print(e instanceof SyntaxError, e.message) } print('goes on')`,
			"true brackets nested deeper than 10000 levels\ngoes on\n"},
		{"deep Function body",
			`try { new Function(new Array(200001).join('{')) } catch (e) { print(e.name, e.message) }
			 try { Function('a', new Array(200001).join('[')) } catch (e) { print(e.name) }`,
			"SyntaxError brackets nested deeper than 10000 levels\nSyntaxError\n"},
		{"Function parameters count together",
			`var p = []; for (var i = 0; i < 100; i++) p.push('a' + i + '=' + new Array(5000).join('('));
			 try { new Function(...p, '') } catch (e) { print(e.name) }`,
			"SyntaxError\n"},
		{"deep source inside nested eval",
			`print(eval("try { eval(new Array(200001).join('(')) } catch (e) { e.name }"), eval("eval('1 + 1')"))`,
			"SyntaxError 2\n"},
		{"recursion in eval'd code is catchable",
			`try { eval('function r() { r() } r()') } catch (e) { print(e.name, e.message) }
			 eval('function s() { s() }'); try { s() } catch (e) { print(e.name) }`,
			"RangeError Maximum call stack size exceeded\nRangeError\n"},
		{"self-delegating generator in eval'd code",
			`try { eval('function* g() { yield* g() } g().next()') } catch (e) { print(e.name) }`,
			"RangeError\n"},
		{"self-delegating generator in a Function body",
			`try { new Function('function* g() { yield* g() } g().next()')() } catch (e) { print(e.name) }`,
			"RangeError\n"},
		{"Function keeps its meaning",
			`var f = Function('a', 'b = 2', 'return a + b'); print(f(1), f.length, f.name, new Function('return this')() === globalThis,
			 Function('return arguments.length')(1, 2), new Function()(), Function('a, b', 'return b')(1, 2))`,
			"3 1 anonymous true 2 undefined 2\n"},
		{"Function converts its arguments once, in order",
			`var log = []; function s(v) { return {toString: function() { log.push(v); return v }} }
			 print(Function(s('a'), s('return a'))(7), log.join())`,
			"7 a,return a\n"},
		{"a shadowed eval or Function gets its arguments unchanged",
			`function k(eval) { return eval('x', 'y') } function m(Function) { return Function('a', '((') }
			 print(k(function(a, b) { return a + b }), m(function() { return arguments.length + ' ' + arguments[1] }))`,
			"xy 2 ((\n"},
		{"the script's array iterator is not involved",
			`Array.prototype[Symbol.iterator] = function() { throw new Error('used') };
			 print(eval('1 + 1'), new Function('a', 'return a')(3))`,
			"2 3\n"},
		{"indirect eval works",
			`var e = eval; print((0, eval)('1 + 1'), e('2 + 2'), globalThis.eval('3'))`,
			"2 4 3\n"},
		{"a lone surrogate passes through uninstrumented",
			`print(eval("'\uD800'").charCodeAt(0), new Function("return '\uDC00'")().charCodeAt(0))`,
			"55296 56320\n"},
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

// TestEvalPreemption: loops in eval'd code and Function bodies have preemption points, so a
// timer fires while they spin at the top level, and the end of the context or Interrupt stops
// them promptly.
func TestEvalPreemption(t *testing.T) {
	out, err := runtimetest.Run(t, `var n = 0; var id = setInterval(function() { n++ }, 1000);
eval('while (n < 3) {}'); print(n); new Function('while (n < 6) {}')(); print(n); clearInterval(id)`)
	if err != nil || out != "3\n6\n" {
		t.Fatalf("out %q, err %v", out, err)
	}
	for _, tc := range []struct{ name, src string }{
		{"eval", `eval('while (1) {}')`},
		{"Function", `new Function('for (;;) {}')()`},
		{"eval in a callback", `setTimeout(function() { eval('do {} while (1)') }, 0)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := runtime.New(runtime.Options{Stdout: io.Discard}).Run(ctx, "spin.js", tc.src)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err %v", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("stopped after %v", d)
			}
		})
	}
	l := runtime.New(runtime.Options{Stdout: io.Discard})
	cause := errors.New("stop")
	time.AfterFunc(50*time.Millisecond, func() { l.Interrupt(cause) })
	if err := l.Run(t.Context(), "spin.js", `eval('for (;;) {}')`); !errors.Is(err, cause) {
		t.Errorf("Interrupt: err %v", err)
	}
}
