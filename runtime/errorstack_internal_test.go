package runtime

import (
	"testing"

	"github.com/dop251/goja"
)

// TestErrorStackLayout checks that errorStack still reads goja's Error objects (it reads an
// unexported field: a goja upgrade that changes it fails here), and that it returns nothing
// for values that are not goja Errors, however they look.
func TestErrorStackLayout(t *testing.T) {
	vm := goja.New()
	tt := []struct {
		src   string
		line  int // of the innermost frame; 0 means no stack
		count int
	}{
		{"new Error('x')", 1, 1},
		{"function f() { return new TypeError('t'); }\nf()", 1, 2},
		{"(function() { try { null.x } catch (e) { return e } })()", 1, 2},
		{"new (class E extends Error {})('sub')", 1, 1},
		{"Object.create(Error.prototype)", 0, 0},
		{"({stack: 'at f (x.js:1:1)', message: 'fake'})", 0, 0},
		{"new Proxy(new Error('p'), {})", 0, 0},
		{"'text'", 0, 0},
		{"undefined", 0, 0},
	}
	for _, tc := range tt {
		v, err := vm.RunScript("t.js", tc.src)
		if err != nil {
			t.Fatal(err)
		}
		frames := errorStack(v)
		if len(frames) != tc.count {
			t.Errorf("errorStack(%s) has %d frames, want %d", tc.src, len(frames), tc.count)
			continue
		}
		if tc.count > 0 {
			if p := frames[0].Position(); p.Filename != "t.js" || p.Line != tc.line {
				t.Errorf("errorStack(%s)[0] at %s:%d, want t.js:%d", tc.src, p.Filename, p.Line, tc.line)
			}
		}
	}
}
