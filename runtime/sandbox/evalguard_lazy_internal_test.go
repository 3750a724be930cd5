package sandbox

import (
	"strings"
	"testing"

	"github.com/dop251/goja"
)

// TestLazyEvalGuardsCostNothingUntilUsed: Install builds neither eval nor Function (goja's
// direct-eval slot stays empty) in a VM with lazy eval guards.
func TestLazyEvalGuardsCostNothingUntilUsed(t *testing.T) {
	for _, budget := range []int64{0, 1 << 40} {
		v := newTestVM(budget)
		if !v.sb.evalLazy {
			t.Fatal("eval guards not lazy: goja's template layout is not the expected one (internal/gojainternal)")
		}
		if v.sb.evalFn != nil || v.sb.fnChecked != nil || v.sb.evaluate != nil {
			t.Fatalf("budget %d: Install built the eval guards", budget)
		}
		if err := v.run("idle.js", "var n = 0; for (var i = 0; i < 3; i++) { n += i }"); err != nil {
			t.Fatal(err)
		}
		if v.sb.evalFn != nil || v.sb.fnChecked != nil {
			t.Fatalf("budget %d: a script without eval or Function built their guards", budget)
		}
	}
}

// TestLazyEvalGuardsEveryRoute: every route to eval, Function and the generator and async
// function constructors meets the source check (a source nested deeper than MaxSourceDepth
// throws the sandbox's SyntaxError, which goja's own eval would not), on the first access and
// after another route built the guards first, in VMs with lazy and with eager eval guards.
func TestLazyEvalGuardsEveryRoute(t *testing.T) {
	deep := strings.Repeat("[", MaxSourceDepth+5) + strings.Repeat("]", MaxSourceDepth+5)
	evalRoutes := []string{
		`eval(S)`,
		`(0, eval)(S)`,
		`globalThis.eval(S)`,
		`this.eval(S)`,
		`var e = eval; e(S)`,
		`[eval][0](S)`,
		`eval.call(null, S)`,
		`eval.apply(null, [S])`,
		`eval.bind(null)(S)`,
		`Reflect.apply(eval, null, [S])`,
		`new Proxy(eval, {})(S)`,
		`Object.getOwnPropertyDescriptor(globalThis, "eval").value(S)`,
		`Object.getOwnPropertyNames(globalThis).filter(function (k) { return k === "eval" }).map(function (k) { return globalThis[k] })[0](S)`,
		`with ({}) { eval(S) }`,
		`with ({ eval: eval }) { eval(S) }`,
		`with (globalThis) { eval(S) }`,
		`(function () { return eval(S) })()`,
		`(function () { "use strict"; return eval(S) })()`,
		`(() => (0, eval)(S))()`,
		`Object.assign({}, globalThis).eval === undefined ? eval(S) : Object.assign({}, globalThis).eval(S)`,
		`var o = Object.create(globalThis); o.eval(S)`,
		`Object.entries(Object.getOwnPropertyDescriptors(globalThis)).filter(function (e) { return e[0] === "eval" })[0][1].value(S)`,
	}
	fnRoutes := []string{
		`Function(S)`,
		`new Function(S)`,
		`Function("a", S)`,
		`(function () {}).constructor(S)`,
		`(() => 1).constructor(S)`,
		`new (function () {}).constructor(S)`,
		`Function.prototype.constructor(S)`,
		`Object.getPrototypeOf(function () {}).constructor(S)`,
		`Object.getOwnPropertyDescriptor(Function.prototype, "constructor").value(S)`,
		`Object.getOwnPropertyDescriptor(globalThis, "Function").value(S)`,
		`Reflect.construct(Function, [S])`,
		`Reflect.construct((function () {}).constructor, [S])`,
		`Reflect.construct(Function, [S], function () {})`,
		`Function.call(null, S)`,
		`Function.apply(null, [S])`,
		`Function.bind(null, S)()`,
		`new Proxy(Function, {})(S)`,
		`new (new Proxy((function () {}).constructor, {}))(S)`,
		`class X extends Function {} new X(S)`,
		`class Y extends (function () {}).constructor {} new Y(S)`,
		`print.constructor(S)`,
		`Math.max.constructor(S)`,
		`JSON.parse.constructor(S)`,
		`Object.constructor(S)`,
		`(function () {}).bind(null).constructor(S)`,
		`new Proxy(function () {}, {}).constructor(S)`,
		`Object.getPrototypeOf(Object.getPrototypeOf(async function () {})).constructor(S)`,
		`Object.getPrototypeOf(Object.getPrototypeOf(function* () {})).constructor(S)`,
		`(async function () {}).constructor(S)`,
		`(function* () {}).constructor(S)`,
		`(async () => 1).constructor(S)`,
		`eval("(async function () {})").constructor(S)`,
		`Function("return function* () {}")().constructor(S)`,
		`with ({}) { Function(S) }`,
		`with ({ Function: (function () {}).constructor }) { Function(S) }`,
		`var F = Function; F(S)`,
	}
	firsts := []string{
		"",
		`eval("1");`,
		`(0, eval)("1");`,
		`Function("return 1")();`,
		`(function () {}).constructor("return 1")();`,
		`Object.getOwnPropertyDescriptor(globalThis, "eval");`,
		`Object.getOwnPropertyDescriptor(Function.prototype, "constructor");`,
		`Object.getOwnPropertyNames(globalThis).forEach(function (k) { globalThis[k] });`,
	}
	for _, lazy := range []bool{true, false} {
		for _, first := range firsts {
			for _, route := range append(append([]string(nil), evalRoutes...), fnRoutes...) {
				v := newEvalVM(t, lazy)
				if err := v.vm.Set("S", deep); err != nil {
					t.Fatal(err)
				}
				src := first + `var threw = ""; try { ` + route + ` } catch (e) { threw = e.name + ": " + e.message } threw`
				prg, _, err := v.sb.Compile("route.js", src)
				if err != nil {
					t.Fatalf("lazy %v, %s%s: %v", lazy, first, route, err)
				}
				res, err := v.vm.RunProgram(prg)
				if err != nil {
					t.Fatalf("lazy %v, %s%s: %v", lazy, first, route, err)
				}
				if got := res.String(); !strings.HasPrefix(got, "SyntaxError: brackets nested deeper than") {
					t.Errorf("lazy %v, %s%s: got %q, want the sandbox's SyntaxError", lazy, first, route, got)
				}
			}
		}
	}
}

// newEvalVM is a test VM (call stack bound 500) with lazy eval guards, or one where
// installEvalGuard ran at Install.
func newEvalVM(t *testing.T, lazy bool) *testVM {
	t.Helper()
	v := &testVM{vm: goja.New(), sb: new(Sandbox)}
	v.host.vm = v.vm
	v.vm.SetMaxCallStackSize(500)
	v.sb.Attach(v.vm, 0, &v.host)
	if lazy && !v.sb.evalLazy {
		t.Fatal("eval guards not lazy")
	}
	if !lazy {
		v.sb.evalLazy = false // as a loop where goja's templates could not be patched
	}

	// print is bound to its owner, as a loop's globals are bound to the loop: that keeps the
	// Sandbox reachable from the VM while a program runs (see Attach). Without it the collector
	// could free v.sb in the middle of RunProgram and a hook built late would be undefined
	// (seen once in the suite: "TypeError: Value is not an object: undefined").
	if err := v.vm.Set("print", func(goja.FunctionCall) goja.Value { _ = v.sb; return goja.Undefined() }); err != nil {
		t.Fatal(err)
	}
	v.sb.Install(func(goja.FunctionCall) goja.Value { return goja.Undefined() })
	return v
}

// TestLazyEvalGuardsSameShape: with lazy eval guards, eval and Function have what the eager
// guards gave them (identity across routes, names, lengths, attributes), a direct eval stays
// direct and an indirect one global, and Function builds working functions.
func TestLazyEvalGuardsSameShape(t *testing.T) {
	checks := []struct{ name, src, want string }{
		{"identity eval", `eval === globalThis.eval && eval === Object.getOwnPropertyDescriptor(globalThis, "eval").value`, "true"},
		{"identity Function", `Function === (function () {}).constructor && Function === Function.prototype.constructor && Function === print.constructor`, "true"},
		{"names", `eval.name + eval.length + Function.name + Function.length`, "eval1Function1"},
		{"eval attributes", `var d = Object.getOwnPropertyDescriptor(globalThis, "eval"); "" + d.writable + d.enumerable + d.configurable`, "truefalsetrue"},
		{"Function attributes", `var d = Object.getOwnPropertyDescriptor(globalThis, "Function"); "" + d.writable + d.enumerable + d.configurable`, "truefalsetrue"},
		{"constructor attributes", `var d = Object.getOwnPropertyDescriptor(Function.prototype, "constructor"); "" + d.writable + d.enumerable + d.configurable`, "truefalsetrue"},
		{"prototype", `Function.prototype === Object.getPrototypeOf(function () {}) && Object.getPrototypeOf(Function("return 1")) === Function.prototype`, "true"},
		{"direct eval", `(function () { var x = 5; return eval("x") })()`, "5"},
		{"direct eval in with", `(function () { var x = 6; with ({}) { return eval("x") } })()`, "6"},
		{"indirect eval", `var x = 1; (function () { var x = 2; return (0, eval)("x") })()`, "1"},
		{"direct after indirect", `(0, eval)("1"); (function () { var y = 7; return eval("y") })()`, "7"},
		{"direct after Function", `Function("return 1")(); (function () { var z = 3; return eval("z") })()`, "3"},
		{"direct after a getter", `var e = eval; e("1"); (function () { var z = 4; return eval("z") })()`, "4"},
		{"Function works", `Function("a", "b", "return a + b")(2, 3)`, "5"},
		{"subclass", `class X extends Function {} var f = new X("return 4"); (f instanceof X) + ":" + f()`, "true:4"},
		{"Reflect.construct", `function P() {} var f = Reflect.construct(Function, ["return 8"], P); (Object.getPrototypeOf(f) === P.prototype) + ":" + Function.prototype.call.call(f)`, "true:8"},
		{"delete and redefine", `delete globalThis.eval; typeof eval`, "undefined"},
		{"eval instrumented", `var threw = ""; try { eval("(function r() { return r() })()") } catch (e) { threw = e.name } threw`, "RangeError"},
		{"Function instrumented", `var threw = ""; try { Function("return (function r() { return r() })()")() } catch (e) { threw = e.name } threw`, "RangeError"},
	}
	for _, c := range checks {
		for _, lazy := range []bool{true, false} {
			v := newEvalVM(t, lazy)
			prg, _, err := v.sb.Compile(c.name+".js", c.src)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			res, err := v.vm.RunProgram(prg)
			if err != nil {
				t.Fatalf("lazy %v, %s: %v", lazy, c.name, err)
			}
			if res.String() != c.want {
				t.Errorf("lazy %v, %s: got %q, want %q", lazy, c.name, res.String(), c.want)
			}
		}
	}
}
