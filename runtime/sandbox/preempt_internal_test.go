package sandbox

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/parser"
)

func TestInstrument(t *testing.T) {
	const T, E, X = tickCall, enterStmt, enterExpr
	S := sourceOpen
	tt := []struct {
		name, src, want string
	}{
		{"no loops", "var a = 1;", "var a = 1;"},
		{"while block", "while (1) {\nx()\n}", "while (1) {" + T + "\nx()\n}"},
		{"for statement", "for (;;) x();", "for (;;) {" + T + "x();}"},
		{"for empty body", "for (;;);", "for (;;){" + T + ";}"},
		{"for-in and for-of", "for (k in o) {} for (v of a) f(v)", "for (k in o) {" + T + "} for (v of a) {" + T + "f(v)}"},
		{"do-while", "do x++; while (x < 3)", "do {" + T + "x++;} while (x < 3)"},
		{"do-while without semicolon", "do x++\nwhile (x < 3)", "do {" + T + "x++}\nwhile (x < 3)"},
		{"if-else around a loop", "if (a) for (;;) break; else b()", "if (a) for (;;) {" + T + "break;} else b()"},
		{"if as a loop body", "while (a) if (b) c(); else d();", "while (a) {" + T + "if (b) c(); else d();}"},
		{"nested without braces", "for (;;) for (;;) x;", "for (;;) {" + T + "for (;;) {" + T + "x;}}"},
		{"comment before semicolon", "if (a) while (b) c /* x */ ; else d", "if (a) while (b) {" + T + "c /* x */ ;} else d"},
		{"in functions and callbacks", "setTimeout(function() { while (1) {} }, 0)", "setTimeout(function() {" + E + " while (1) {" + T + "} }, 0)"},
		{"parenthesized body is not wrapped", "while (a) (f)(); while (b) {}", "while (a) (f)(); while (b) {" + T + "}"},
		{"new expression body falls back to blocks only", "while (a) new X(); while (b) {}", "while (a) new X(); while (b) {" + T + "}"},

		{"function declaration", "function f(a) {\n  return a\n}", "function f(a) {" + E + "\n  return a\n}"},
		{"empty function", "var f = function () {}", "var f = function () {" + E + "}"},
		{"after the directive prologue", "function f() { 'use strict'; \"x\"\n return this }",
			"function f() { 'use strict'; \"x\";" + E + "\n return this }"},
		{"directive without semicolon", "function f() {\"use strict\"\n}", "function f() {\"use strict\";" + E + "\n}"},
		{"directive with comment and semicolon", "function f() { 'use strict' /* c */; g() }",
			"function f() { 'use strict' /* c */;" + E + " g() }"},
		{"parenthesised string: the check follows it", "function f() { ('a') }", "function f() { ('a');" + E + " }"},
		{"parenthesised directive with ;", "function f() { ((\"x\")) ; g() }", "function f() { ((\"x\")) ;" + E + " g() }"},
		{"methods, getters, setters", "var o = {m() {}, get x() { return 1 }, set x(v) {}}",
			"var o = {m() {" + E + "}, get x() {" + E + " return 1 }, set x(v) {" + E + "}}"},
		{"class members", "class A extends B { constructor() { super() } static s() {} x = 1; static y = (2); z }",
			"class A extends B { constructor() {" + E + " super() } static s() {" + E + "} x =" + X + " 1; static y =" + X + " (2); z }"},
		{"generators and async", "function* g() { yield 1 } async function h() { await 1 }",
			"function* g() {" + E + " yield 1 } async function h() {" + E + " await 1 }"},
		{"arrow functions", "var f = (a) => a + 1, g = async x => { await x }, h = () => ({a: 1})",
			"var f = (a) =>" + X + " a + 1, g = async x => {" + E + " await x }, h = () =>" + X + " ({a: 1})"},
		{"nested arrows and conditionals", "var f = c ? x => y => x : z => 0",
			"var f = c ? x =>" + X + " y =>" + X + " x : z =>" + X + " 0"},
		{"arrow body after a comment is left alone", "var f = x => /* c */ x", "var f = x => /* c */ x"},
		{"loop in an arrow", "var f = () => { for (;;) break }", "var f = () => {" + E + " for (;;) {" + T + "break} }"},

		{"direct eval", "eval(s)", "eval(" + S("eval") + "s))"},
		{"eval with several and spread arguments", "eval(a, b); eval(...p,)", "eval(" + S("eval") + "a, b)); eval(" + S("eval") + "...p,))"},
		{"nested eval and parenthesised callee", "(eval)(eval(x))", "(eval)(" + S("eval") + "eval(" + S("eval") + "x))))"},
		{"Function call and new", "Function('a', 'return a'); new Function(b)",
			"Function(" + S("Function") + "'a', 'return a')); new Function(" + S("Function") + "b))"},
		{"no arguments, member and new eval are left alone", "eval(); new Function; o.eval(s); new eval(s); Function()",
			"eval(); new Function; o.eval(s); new eval(s); Function()"},
		{"eval in a loop body and a function", "while (a) eval(s)\nfunction f() { return eval(s) }",
			"while (a) {" + T + "eval(" + S("eval") + "s))}\nfunction f() {" + E + " return eval(" + S("eval") + "s)) }"},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			prg, err := parser.ParseFile(nil, "t.js", tc.src, 0, parser.WithDisableSourceMaps)
			if err != nil {
				t.Fatal(err)
			}
			out, _, _ := instrument("t.js", prg, tc.src)
			got := out.File.Source()
			if got != tc.want {
				t.Errorf("instrumented:\n%s\nwant:\n%s", got, tc.want)
			}
			if strings.Count(got, "\n") != strings.Count(tc.src, "\n") {
				t.Error("line count changed")
			}
		})
	}
}

func TestColMap(t *testing.T) {
	// Original "ab{cd" with 3 bytes inserted after column 3 and 2 after column 5.
	m := &ColMap{lines: map[int][]insertion{1: {{col: 3, n: 3}, {col: 5, n: 2}}}}
	tt := []struct{ line, gen, want int }{
		{1, 1, 1}, {1, 2, 2}, {1, 3, 3}, {1, 5, 3}, {1, 6, 3}, {1, 7, 4},
		{1, 8, 5}, {1, 9, 5}, {1, 10, 5}, {2, 7, 7},
	}
	for _, tc := range tt {
		if got := m.Original(tc.line, tc.gen); got != tc.want {
			t.Errorf("original(%d, %d) = %d, want %d", tc.line, tc.gen, got, tc.want)
		}
	}
	var nilMap *ColMap
	if nilMap.Original(3, 4) != 4 {
		t.Error("nil map is not the identity")
	}
}

// countLoops counts the loop statements of prg.
func countLoops(prg *ast.Program) int {
	n := 0
	walk(reflect.ValueOf(prg), make(map[nodeKey]bool), func(_, _ ast.Statement) { n++ }, nil)
	return n
}

var instrumentSeeds = []string{
	"while (1) {}",
	"for (var i = 0; i < 3; i++) if (i) continue; else break",
	"do x++\nwhile (x < 3)",
	"outer: for (;;) for (k in o) { continue outer }",
	"var f = function() { for (const v of a) g(v) }; class C { m() { while (0); } static { do {} while (0) } }",
	"if (a) while (b) c /* x */ ; else d",
	"for (;;) { for (;;) { for (;;) break } break }",
	"var t = 0; for (var i = 0; i < 3; i++) try { t++ } catch (e) {} finally { t++ }",
	"function f() { 'use strict'; return this } var g = (a, b) => a ? b : () => { while (b) b-- }",
	"class A extends Object { x = 1; static #y = () => 2; constructor() { super(); } get z() { return 3 } static { } }",
	"var o = {m() {}, get x() { return 1 }, *gen() { yield 1 }, async am() { await 1 }}; (async () => await 1)()",
	"function f(s) { return eval(s) } while (eval('0')) new Function(a, 'b', `c`); x => eval(x)",
}

// TestInstrumentSeedsFully checks that none of the seeds falls back: every
// loop gets its preemption point and every function entry its depth check.
func TestInstrumentSeedsFully(t *testing.T) {
	for _, src := range instrumentSeeds {
		prg, err := parser.ParseFile(nil, "t.js", src, 0, parser.WithDisableSourceMaps)
		if err != nil {
			t.Fatal(err)
		}
		loops := countLoops(prg)
		_, before, calls := sites(prg)
		out, _, _ := instrument("t.js", prg, src)
		ticks, entries, wrapped := sites(out)
		if len(wrapped) != len(calls) || slices.Contains(wrapped, false) {
			t.Errorf("%q: eval and Function calls wrapped: %v:\n%s", src, wrapped, out.File.Source())
		}
		if ticks != loops {
			t.Errorf("%q: %d of %d loops instrumented:\n%s", src, ticks, loops, out.File.Source())
		}
		if len(entries) != len(before) {
			t.Errorf("%q: %d entry sites, %d before", src, len(entries), len(before))
		}
		for i, e := range entries {
			if !e.checked || e.directives != before[i].directives {
				t.Errorf("%q: entry %d is %+v, was %+v:\n%s", src, i, e, before[i], out.File.Source())
			}
		}
	}
}

// FuzzInstrument checks that instrumenting any script that compiles yields
// a script that compiles, on the same lines, without panicking.
func FuzzInstrument(f *testing.F) {
	for _, s := range instrumentSeeds {
		f.Add(s)
	}
	samples, _ := filepath.Glob("../testdata/samples/*.js")
	for _, p := range samples {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b))
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		prg, err := parser.ParseFile(nil, "f.js", src, 0, parser.WithDisableSourceMaps)
		if err != nil {
			return
		}
		if _, err := goja.CompileAST(prg, false); err != nil {
			return
		}
		out, cols, ierr := instrument("f.js", prg, src)
		if ierr != nil {
			return // refused: the source never runs
		}
		if _, err := goja.CompileAST(out, false); err != nil {
			t.Fatalf("instrumented script does not compile: %v\n%s", err, out.File.Source())
		}
		if strings.Count(out.File.Source(), "\n") != strings.Count(src, "\n") {
			t.Fatal("line count changed")
		}
		if cols == nil && out != prg {
			t.Fatal("rewritten program without a column map")
		}
	})
}
