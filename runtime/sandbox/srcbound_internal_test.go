package sandbox

import (
	"reflect"
	"strings"
	"testing"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/parser"
)

// scanLimit is the bound the scanner tests use: small, so that a chain the scanner missed
// shows in the tree's depth (astDepth) without sources too large for a quick test.
const scanLimit = 100

// maxNodesPerLevel is how many levels of the syntax tree one counted level may make (a method
// in a class body: ClassLiteral, MethodDefinition, FunctionLiteral, BlockStatement).
const maxNodesPerLevel = 4

// astDepth returns the depth of prg's tree (pointers to ast nodes), without recursion.
func astDepth(prg *ast.Program) int {
	type item struct {
		v reflect.Value
		d int
	}
	deepest := 0
	seen := map[nodeKey]bool{}
	stack := []item{{reflect.ValueOf(prg), 0}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		v, d := it.v, it.d
		switch v.Kind() {
		case reflect.Interface:
			if !v.IsNil() {
				stack = append(stack, item{v.Elem(), d})
			}
		case reflect.Pointer:
			k := nodeKey{v.Type(), v.Pointer()}
			if v.IsNil() || v.Type() == fileType || seen[k] {
				continue
			}
			seen[k] = true
			if _, ok := v.Interface().(ast.Node); ok {
				d++
				deepest = max(deepest, d)
			}
			stack = append(stack, item{v.Elem(), d})
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				if v.Type().Field(i).IsExported() {
					stack = append(stack, item{v.Field(i), d})
				}
			}
		case reflect.Slice:
			for i := 0; i < v.Len(); i++ {
				stack = append(stack, item{v.Index(i), d})
			}
		}
	}
	return deepest
}

// checkBound is the scanner's contract on src, with scanLimit for both bounds: if the scanner
// accepts src and goja parses it, the tree is at most maxNodesPerLevel times as deep as the
// bounds allow (plus a constant for the statement around it).
func checkBound(t *testing.T, src string) (accepted bool) {
	t.Helper()
	s := scanner{src: src}
	if s.run(scanLimit, scanLimit) != nil {
		return false
	}
	prg, err := parser.ParseFile(nil, "f.js", src, 0, parser.WithDisableSourceMaps)
	if err != nil {
		return true
	}
	if d := astDepth(prg); d > maxNodesPerLevel*2*scanLimit+16 {
		t.Errorf("scanner accepted a tree %d deep: %.200q", d, src)
	}
	return true
}

// TestScannerAcceptsCode: ordinary code (regular expressions where goja reads them, strings and
// templates holding operators, automatic semicolons, classes, labels) stays far inside the
// bounds, and the scanner's count never falls behind the real depth.
func TestScannerAcceptsCode(t *testing.T) {
	many := func(unit string) string { return strings.Repeat(unit, 3*scanLimit) }
	tt := []string{
		many("a = b + c;\n"),
		many("a = b + c\n"),
		many("if (a) { b() } else if (c) { d() }\n"),
		many("f(a, b + c, d * e)\n"),
		"var s = '" + many("+") + "', t = \"" + many("!") + "\", u = `" + many("a+") + "`",
		"// " + many("a+") + "\n/* " + many("x=>") + " */ a",
		"var r = /" + many("\\/+") + "/g; if (a) /" + many("+") + "/.test(s)",
		"function f() {} /" + many("+") + "/.test(s)",
		"x = a / b / c; y = (a) / 2; z = a[0] / 2; w = {} / 2; v = function() {} / 2",
		"class A { m() { return 1 } static s() {} get g() { return 2 } }\n" + many("a = 1\n"),
		"l: for (;;) { break l }\n" + many("x = `${a + `${b}`}`\n"),
		"switch (a) { " + many("case 1: b(); break; ") + "}",
		"var o = {" + many("a: b + c, ") + "}",
		"var o = [" + many("a + b, ") + "]",
		"async function g() { await a } async x => x\n" + many("g()\n"),
		"a\n++b\n" + many("c\n--d\n"),
	}
	for _, src := range tt {
		if !checkBound(t, src) {
			s := scanner{src: src}
			t.Errorf("rejected %v: %.120q", s.run(scanLimit, scanLimit), src)
		}
	}
}

// TestScannerSeesHiddenChains: a deep chain after something that could throw the scanner off
// (a regular expression or a division, a quote in a regular expression, a brace whose kind
// decides the next "/", a template) is still counted.
func TestScannerSeesHiddenChains(t *testing.T) {
	chain := strings.Repeat("!", 5*scanLimit) + "a"
	tt := []string{
		"x = function() {} / 1 + " + chain,
		"x = {} / 1 + " + chain,
		"x = class {} / 1 + " + chain,
		"x = (a) / 1 + " + chain,
		"x = a.return / 1 + " + chain,
		"x = a++ / 1 + " + chain,
		"x = /'/ + " + chain + " + '/'",
		"x = /\"/ + " + chain,
		"x = /`/ + " + chain + " + `/`",
		"x = /[/]'/ + " + chain,
		"if (a) /'/.test(s) + " + chain,
		"function f() {}\n/'/.test(s) + " + chain,
		"async function f() {} /'/.test(s) + " + chain,
		"x = y => {}\n/'/.test(s) + " + chain,
		"x = `${'`'}` + " + chain,
		"x = `${`${a}`}` + " + chain,
		"x = a ? {} : {}; " + chain,
		"l: { } /'/ + " + chain,
		"x = '\\'' + " + chain,
		"x = a\n" + chain,
	}
	for _, src := range tt {
		if checkBound(t, src) {
			t.Errorf("accepted: %.120q", src)
		}
	}
}

// TestCompileBounded: source just inside the bounds parses, instruments and compiles (no Go
// stack overflow, no minutes of compiling) for every deep shape.
func TestCompileBounded(t *testing.T) {
	for _, sh := range []struct{ unit, tail string }{
		{"a+", "a"}, {"!", "a"}, {"x=>", "x"}, {"a=", "a"}, {"a?a:", "a"}, {"a**", "a"},
		{"typeof ", "a"}, {"a.", "a"}, {"f()", ""}, {"if(a)", ";"}, {"new ", "a"},
	} {
		src := strings.Repeat(sh.unit, MaxSourceNesting-10) + sh.tail
		compileChecked(t, src)
	}
	compileChecked(t, strings.Repeat("(", MaxSourceDepth-10)+"a"+strings.Repeat(")", MaxSourceDepth-10))
}

// compileChecked runs src through the script's compile path (without a Loop): CheckSource,
// goja's parser, instrument and goja's compiler. It fails only if the path panics.
func compileChecked(t *testing.T, src string) {
	t.Helper()
	if CheckSource(src) != nil {
		return
	}
	prg, err := parser.ParseFile(nil, "f.js", src, 0, parser.WithDisableSourceMaps)
	if err != nil {
		return
	}
	p, _, err := instrument("f.js", prg, src)
	if err != nil {
		return
	}
	_, _ = goja.CompileAST(p, false)
}

// FuzzCompileSource feeds generated deep and long source, prefix + unit×n + tail, to the
// scanner (whose count must keep up with the tree's real depth, checkBound) and to the
// script's compile path (which must neither panic nor overflow the Go stack: a fatal error
// would end the fuzzer). The seed corpus runs in the default suite; `make fuzz` runs it long.
func FuzzCompileSource(f *testing.F) {
	seeds := []struct {
		prefix, unit string
		n            uint16
		tail         string
	}{
		{"var x = ", "a+", 2000, "a"}, {"", "!", 3000, "a"}, {"", "- ", 2000, "a"}, {"", "void ", 2000, "0"},
		{"", "new ", 2000, "a"}, {"", "a**", 2000, "a"}, {"", "x=>", 2000, "x"}, {"", "a?", 2000, "a:0"},
		{"", "a=", 2000, "a"}, {"", "typeof ", 2000, "a"}, {"", "if(a)", 2000, ";"}, {"", "l:", 500, ";"},
		{"", "a.", 2000, "a"}, {"", "f()", 2000, ""}, {"", "`${", 500, "`"}, {"", "(", 12000, ""},
		{"{}", "a+", 3000, "a"}, {"x = function() {} / 1 + ", "!", 700, "a"}, {"x = /'/ + ", "!", 700, "a"},
		{"if (a) /'/.test(s) + ", "-", 700, "a"}, {"x = `${'`'}` + ", "~", 700, "a"}, {"function* g() {", "(\"x\");", 50, "yield* g() }"},
		{"", "if(a);else ", 2000, ";"}, {"", "async x=>", 1000, "x"}, {"", "a?.", 2000, "a"}, {"", "{a:", 2000, "1"},
		{"", "class A extends (", 500, "B"}, {"", "with(a)", 1000, ";"}, {"", "a\n+", 2000, "a"}, {"/", "a+", 100, "/"},
	}
	for _, s := range seeds {
		f.Add(s.prefix, s.unit, s.n, s.tail)
	}
	f.Fuzz(func(t *testing.T, prefix, unit string, n uint16, tail string) {
		if len(unit)*int(n) > 1<<20 || len(prefix)+len(tail) > 1<<12 {
			return
		}
		src := prefix + strings.Repeat(unit, int(n)) + tail
		checkBound(t, src)
		compileChecked(t, src)
	})
}
