package runtime_test

import (
	"strings"
	"testing"

	"github.com/dop251/goja"

	"github.com/devicejs/devicejs/runtime/runtimetest"
)

// loopScripts exercise loop forms whose bodies get preemption points.
var loopScripts = []string{
	`var s = ''; for (var i = 0; i < 5; i++) { if (i == 1) continue; if (i == 4) break; s += i } print(s)`,
	`var s = ''; outer: for (var i = 0; i < 3; i++) for (var j = 0; j < 3; j++) { if (j == 1) continue outer; s += i + '' + j } print(s)`,
	`var i = 0, s = ''; do { i++; if (i == 2) continue; s += i } while (i < 4); print(s)`,
	"var k = 0; do k++\nwhile (k < 3)\nprint(k)",
	`var o = {a: 1, b: 2}, s = ''; for (var p in o) s += p + o[p]; print(s)`,
	`var s = 0; for (var v of [1, 2, 3]) if (v != 2) s += v; else s -= 10; print(s)`,
	`if (true) for (var i = 0; i < 2; i++) print('a', i); else print('never')`,
	`var n = 0; while (n < 3) n++, print('n', n)`,
	`var f = []; for (let i = 0; i < 3; i++) { f.push(function() { return i }) } print(f.map(function(g) { return g() }))`,
	`function* gen() { for (var i = 0; i < 3; i++) yield i } var s = ''; for (var x of gen()) s += x; print(s)`,
	`var r = (function() { for (;;) { return 'ret' } })(); print(r)`,
	`var s = ''; for (var i = 0; i < 3; i++) /* c */ s += i /* d */; print(s)`,
	`var i = 0; while (i < 2) { switch (i) { case 0: print('zero'); break; default: print('other') } i++ }`,
	`var t = 0; for (var i = 0; i < 3; i++) try { if (i == 1) throw i; t += i } catch (e) { t += 10 } finally { t += 100 } print(t)`,
	"var a = 0\nwhile (a < 2) a++\n;[1, 2].forEach(function(x) { print(x) })",
	`print(String(function() { while (false) {} }))`,
}

// TestInstrumentationKeepsSemantics runs each script on the loop (with
// preemption points) and on plain goja and compares the output.
func TestInstrumentationKeepsSemantics(t *testing.T) {
	for _, src := range loopScripts {
		t.Run(src, func(t *testing.T) {
			got, err := runtimetest.Run(t, src)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			var want strings.Builder
			vm := goja.New()
			_ = vm.Set("print", func(call goja.FunctionCall) goja.Value {
				for i, a := range call.Arguments {
					if i > 0 {
						want.WriteByte(' ')
					}
					want.WriteString(a.String())
				}
				want.WriteByte('\n')
				return goja.Undefined()
			})
			if _, err := vm.RunString(src); err != nil {
				t.Fatalf("plain goja: %v", err)
			}
			if got != want.String() {
				t.Errorf("output = %q, plain goja = %q", got, want.String())
			}
		})
	}
}
