package runtime

import (
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
