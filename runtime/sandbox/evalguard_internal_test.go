package sandbox

import (
	"testing"

	"github.com/dop251/goja"

	"github.com/devicejs/devicejs/internal/gojainternal"
)

// TestEvalGuardInstalled: a sandboxed VM's (*goja.Runtime).global.Eval, which decides whether
// eval(x) is direct, is its checked eval (evalguard.go); the layout itself is checked by
// internal/gojainternal's TestLayout.
func TestEvalGuardInstalled(t *testing.T) {
	l := newTestVM(0)
	w := l.vm.GlobalObject().Get("eval").(*goja.Object)
	if slot, ok := gojainternal.EvalSlotOf(l.vm); !ok || slot.Get() != w {
		t.Error("the VM's global.Eval is not its checked eval")
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
		l := newTestVM(0)
		if err := l.run("t.js", tc.src); err != nil {
			t.Fatalf("%q: %v", tc.src, err)
		}
		if l.sb.genGuarded != tc.want {
			t.Errorf("%q: guard built %v, want %v", tc.src, l.sb.genGuarded, tc.want)
		}
	}
}
