package runtime_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/dop251/goja"

	"github.com/devicejs/devicejs/runtime"
	"github.com/devicejs/devicejs/runtime/runtimetest"
)

// TestScriptErrors expects positions where plain goja reports them (goja
// places some errors at the end of a call or member expression).
func TestScriptErrors(t *testing.T) {
	tt := []struct {
		name       string
		src        string
		kind       runtime.ErrorKind
		message    string
		line, col  int
		errorStart string // prefix of Error()
	}{
		{"top level", "var x = 1;\nfunction f() {\n  throw new Error('boom');\n}\nf();",
			runtime.KindException, "Error: boom", 3, 9, "test.js:3:9: Uncaught Error: boom\n\tat f (test.js:3:9)"},
		{"throw a string", "var client = null;\nif(!client) {\nthrow 'Failed to create mqtt instance';\n}",
			runtime.KindException, "Failed to create mqtt instance", 3, 1, "test.js:3:1: Uncaught Failed to create mqtt instance"},
		{"in a timer callback", "setTimeout(function() {\n  var o;\n  o.x = 1;\n}, 10);",
			runtime.KindException, "TypeError: Cannot convert undefined or null to object", 3, 5, "test.js:3:5: Uncaught TypeError"},
		{"in an interval", "var n = 0;\nsetInterval(function() {\n  if (++n == 3) throw new RangeError('third');\n}, 10);",
			runtime.KindException, "RangeError: third", 3, 23, "test.js:3:23: Uncaught RangeError: third"},
		{"in a loop body on the same line", "for (var i = 0; i < 3; i++) { if (i == 2) throw new Error('loop') }",
			runtime.KindException, "Error: loop", 1, 49, "test.js:1:49: Uncaught Error: loop"},
		{"in a loop without braces", "var i = 0;\nwhile (i < 5) i++, i == 3 && undefinedFunction();",
			runtime.KindException, "ReferenceError: undefinedFunction is not defined", 2, 47, "test.js:2:47: Uncaught ReferenceError"},
		{"syntax error", "var a = 1;\nvar b = (;\n",
			runtime.KindSyntax, "Unexpected token ;", 2, 10, "test.js:2:10: SyntaxError: Unexpected token ;"},
		{"syntax error in a loop", "while (1) { var = 2 }",
			runtime.KindSyntax, "Unexpected token =", 1, 17, "test.js:1:17: SyntaxError: Unexpected token ="},
		{"early error", "let a = 1;\nlet a = 2;",
			runtime.KindSyntax, "Identifier 'a' has already been declared", 2, 5, "test.js:2:5: SyntaxError"},
		{"unprintable thrown value", "throw {toString: function() { throw 1 }}",
			runtime.KindException, "<a value that cannot be converted to a string>", 1, 1, "test.js:1:1: Uncaught <a value"},
		{"deep recursion (at the entry of the function that would go too deep)", "function r(n) { return r(n + 1) + 1 }\nr(0);",
			runtime.KindException, "RangeError: Maximum call stack size exceeded", 1, 16,
			"test.js:1:16: Uncaught RangeError: Maximum call stack size exceeded\n\tat r (test.js:1:16)\n\tat r (test.js:1:25)\n"},
		{"callback error is not catchable by the top level",
			"setTimeout(function() { throw new Error('cb') }, 10);\ntry { while (1) {} } catch (e) { print('caught') }",
			runtime.KindException, "Error: cb", 1, 31, "test.js:1:31: Uncaught Error: cb"},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runtimetest.Run(t, tc.src)
			var se *runtime.ScriptError
			if !errors.As(err, &se) {
				t.Fatalf("Run = %v, want a *ScriptError", err)
			}
			if se.Kind != tc.kind || se.Message != tc.message || se.File != "test.js" || se.Line != tc.line || se.Column != tc.col {
				t.Errorf("got %v %q at %s:%d:%d, want %v %q at test.js:%d:%d",
					se.Kind, se.Message, se.File, se.Line, se.Column, tc.kind, tc.message, tc.line, tc.col)
			}
			if !strings.HasPrefix(se.Error(), tc.errorStart) {
				t.Errorf("Error() = %q, want prefix %q", se.Error(), tc.errorStart)
			}
			if out != "" {
				t.Errorf("output = %q", out)
			}
		})
	}
}

// TestPositionsMatchPlainGoja checks that the preemption points never move
// a reported position: every frame of an exception thrown from inside loops
// is where plain goja, running the unmodified source, reports it.
func TestPositionsMatchPlainGoja(t *testing.T) {
	srcs := []string{
		"for (var i = 0; i < 3; i++) { for (var j = 0; j < 3; j++) { if (j == 2) null.f() } }",
		"var i = 0; do { i++ } while (i < 3); while (1) throw new Error('x')",
		"var a = [1, 2]; for (var k in a) { for (var v of a) { if (v == 2) { undefinedName } } }",
		"function f(n) { while (n--) if (!n) return g() }\nfunction g() { for (;;) { for (;;) { throw new TypeError('deep') } } }\nf(3)",
		"var s = 0; for (var i = 0; i < 5; i++) /* c */ s += i; /* c */ do s--; while (s > 0)\nthrow new Error(s)",
		"label: for (var i = 0; i < 2; i++) for (var j = 0; j < 2; j++) { if (j) continue label; }\n[1].forEach(function(x) { while (x) { x--; null.y } })",
		"if (1) for (;;) break; else print(1); var k = 0; do k++\nwhile (k < 3)\nk.toFixed(200)",
	}
	for _, src := range srcs {
		t.Run(src, func(t *testing.T) {
			_, err := runtimetest.Run(t, src)
			var se *runtime.ScriptError
			if !errors.As(err, &se) {
				t.Fatalf("Run = %v, want a *ScriptError", err)
			}
			if want := plainGojaStack(t, src); se.Stack != want {
				t.Errorf("stack:\n%s\nplain goja:\n%s", se.Stack, want)
			}
		})
	}
}

// TestCallbackStacks checks that the stack of an error in a callback that a
// preemption point or .wait() dispatched shows the callback only, not the
// top-level code it interrupted (nor the hidden tick).
func TestCallbackStacks(t *testing.T) {
	const want = "test.js:2:8: Uncaught Error: x\n\tat cb (test.js:2:8)\n\tat <anonymous> (test.js:3:27)"
	for _, src := range []string{
		"function cb() {\n throw new Error('x') }\nsetTimeout(function() { cb() }, 10);\nfunction spin() { while (1) {} }\nspin()",
		"function cb() {\n throw new Error('x') }\nsetTimeout(function() { cb() }, 10);\nfunction w() { setTimeout(100).wait() }\nw()",
		"function cb() {\n throw new Error('x') }\nsetTimeout(function() { cb() }, 10);",
	} {
		_, err := runtimetest.Run(t, src)
		if err == nil || err.Error() != want {
			t.Errorf("Run = %v, want %q", err, want)
		}
	}
}

// plainGojaStack runs src (named test.js, with a print that does nothing) on a plain goja
// runtime, which must throw, and returns the exception's stack formatted the way
// ScriptError.Stack is.
func plainGojaStack(t *testing.T, src string) string {
	t.Helper()
	prg, err := goja.Compile("test.js", src, false)
	if err != nil {
		t.Fatal(err)
	}
	vm := goja.New()
	_ = vm.Set("print", func(goja.FunctionCall) goja.Value { return nil })
	_, err = vm.RunProgram(prg)
	var ex *goja.Exception
	if !errors.As(err, &ex) {
		t.Fatalf("plain goja: %v", err)
	}
	var b strings.Builder
	for _, f := range ex.Stack() {
		where := "native"
		if f.SrcName() != "<native>" {
			where = f.Position().String()
		}
		b.WriteString("\tat " + f.FuncName() + " (" + where + ")\n")
	}
	return b.String()
}

// TestScriptErrorHoldsNoVM checks that no error a failed run returns holds a goja value: each
// error in the Unwrap chain is a plain Go error, or one of goja's error types that hold no
// VM (an empty *goja.StackOverflowError, a syntax error without its source file), and the
// message, name, position and stack are strings (issue 22, finding 2).
func TestScriptErrorHoldsNoVM(t *testing.T) {
	jobErr := errors.New("job failed")
	tt := []struct {
		name, src string
		setup     func(l *runtime.Loop) error
		errName   string
		wantErr   error
	}{
		{name: "throw Error", src: "throw new Error('x')", errName: "Error"},
		{name: "throw TypeError", src: "null.x", errName: "TypeError"},
		{name: "throw string", src: "throw 'x'"},
		{name: "throw object", src: "throw {name: 'Fake', message: 'm'}"},
		{name: "syntax", src: "var = 1"},
		{name: "compile-time syntax", src: "'use strict'; with (a) {}"},
		{name: "stack overflow", src: "function r() { r() } r()", errName: "RangeError"},
		{name: "rejection", src: "Promise.reject(new SyntaxError('s'))", errName: "SyntaxError"},
		{name: "job error", src: "", setup: func(l *runtime.Loop) error {
			l.Post(func(*goja.Runtime) error { return jobErr })
			return nil
		}, wantErr: jobErr},
		{name: "native throws a JS value", src: "f()", setup: func(l *runtime.Loop) error {
			return l.VM().Set("f", func(goja.FunctionCall) goja.Value { panic(l.VM().NewTypeError("native")) })
		}, errName: "TypeError"},
		{name: "GoError", src: "f()", setup: func(l *runtime.Loop) error {
			return l.VM().Set("f", func(goja.FunctionCall) goja.Value { panic(l.VM().NewGoError(jobErr)) })
		}, errName: "GoError", wantErr: jobErr},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			var setup []func(l *runtime.Loop) error
			if tc.setup != nil {
				setup = append(setup, tc.setup)
			}
			_, err := runtimetest.Run(t, tc.src, setup...)
			var se *runtime.ScriptError
			if !errors.As(err, &se) {
				t.Fatalf("Run = %v, want a *ScriptError", err)
			}
			if se.Name != tc.errName || se.Message == "" {
				t.Errorf("Name %q Message %q, want name %q", se.Name, se.Message, tc.errName)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.wantErr)
			}
			for e := se.Err; e != nil; e = errors.Unwrap(e) {
				switch g := e.(type) {
				case *goja.StackOverflowError:
					if len(g.Stack()) != 0 {
						t.Errorf("Err chain holds a StackOverflowError with its stack")
					}
				case *goja.CompilerSyntaxError:
					if g.File != nil {
						t.Errorf("Err chain holds the source file")
					}
				case *goja.Exception, *goja.InterruptedError, goja.Value:
					t.Errorf("Err chain holds %T", e)
				}
			}
		})
	}
}
