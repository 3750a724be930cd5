package runtime

import (
	"context"
	"io"
	"testing"

	"github.com/dop251/goja"
)

// TestEvalGuardLayout fails when a goja upgrade moves what the checked eval relies on
// (evalguard.go): the unexported (*goja.Runtime).global.Eval, which decides whether eval(x)
// is direct, and the Go function the built-in eval exports. Without them eval is left alone
// and only direct calls are checked.
func TestEvalGuardLayout(t *testing.T) {
	if evalLayout == nil {
		t.Fatal("goja.Runtime has no global.Eval (*goja.Object): update evalguard.go for this goja")
	}
	vm := goja.New()
	orig := vm.GlobalObject().Get("eval").(*goja.Object)
	slot, ok := evalSlot(vm)
	if !ok || slot.Interface() != orig {
		t.Fatalf("global.Eval %v is not the global eval", slot)
	}
	if _, ok := orig.Export().(func(goja.FunctionCall) goja.Value); !ok {
		t.Fatalf("eval exports %T, want func(goja.FunctionCall) goja.Value", orig.Export())
	}
	l := New(Options{Stdout: io.Discard})
	w := l.vm.GlobalObject().Get("eval").(*goja.Object)
	if slot, _ := evalSlot(l.vm); slot.Interface() != w {
		t.Error("the loop's global.Eval is not its checked eval")
	}
}

// TestGeneratorGuardNotBuiltForPlainScripts: a script without generators or async functions
// does not pay for the generator and async constructors' guard (about 11 KiB per runtime).
func TestGeneratorGuardNotBuiltForPlainScripts(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want bool
	}{
		{"var x = 2 * 3; /* comment */ print(x)", false},
		{"function* g() {}", true},
		{"eval('1 * 2')", true}, // conservative for eval source: contains "*"
	} {
		l := New(Options{Stdout: io.Discard})
		if err := l.Run(context.Background(), "t.js", tc.src); err != nil {
			t.Fatalf("%q: %v", tc.src, err)
		}
		if l.genGuarded != tc.want {
			t.Errorf("%q: guard built %v, want %v", tc.src, l.genGuarded, tc.want)
		}
	}
}
