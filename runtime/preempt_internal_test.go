package runtime

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/parser"
)

func TestInstrument(t *testing.T) {
	const T = tickCall
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
		{"in functions and callbacks", "setTimeout(function() { while (1) {} }, 0)", "setTimeout(function() { while (1) {" + T + "} }, 0)"},
		{"parenthesized body is not wrapped", "while (a) (f)(); while (b) {}", "while (a) (f)(); while (b) {" + T + "}"},
		{"new expression body falls back to blocks only", "while (a) new X(); while (b) {}", "while (a) new X(); while (b) {" + T + "}"},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			prg, err := parser.ParseFile(nil, "t.js", tc.src, 0, parser.WithDisableSourceMaps)
			if err != nil {
				t.Fatal(err)
			}
			out, _ := instrument("t.js", prg, tc.src)
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
	m := &colMap{lines: map[int][]insertion{1: {{col: 3, n: 3}, {col: 5, n: 2}}}}
	tt := []struct{ line, gen, want int }{
		{1, 1, 1}, {1, 2, 2}, {1, 3, 3}, {1, 5, 3}, {1, 6, 3}, {1, 7, 4},
		{1, 8, 5}, {1, 9, 5}, {1, 10, 5}, {2, 7, 7},
	}
	for _, tc := range tt {
		if got := m.original(tc.line, tc.gen); got != tc.want {
			t.Errorf("original(%d, %d) = %d, want %d", tc.line, tc.gen, got, tc.want)
		}
	}
	var nilMap *colMap
	if nilMap.original(3, 4) != 4 {
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
}

// TestInstrumentSeedsFully checks that none of the seeds falls back: every
// loop gets its preemption point.
func TestInstrumentSeedsFully(t *testing.T) {
	for _, src := range instrumentSeeds {
		prg, err := parser.ParseFile(nil, "t.js", src, 0, parser.WithDisableSourceMaps)
		if err != nil {
			t.Fatal(err)
		}
		loops := countLoops(prg)
		out, _ := instrument("t.js", prg, src)
		if got := countTicks(out); got != loops {
			t.Errorf("%q: %d of %d loops instrumented:\n%s", src, got, loops, out.File.Source())
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
		out, cols := instrument("f.js", prg, src)
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
