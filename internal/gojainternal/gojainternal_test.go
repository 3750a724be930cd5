package gojainternal

import (
	"testing"

	"github.com/dop251/goja"
	"github.com/dop251/goja/unistring"
)

// TestLayout is the one layout test: it fails, naming what moved, when a goja upgrade changes
// any unexported field or type this package reads. Each accessor then answers "not found" at
// run time (a guard off, a position dropped, a view refused), never a misread field; this test
// is what makes such an upgrade fail loudly instead.
func TestLayout(t *testing.T) {
	if !stackLayout.ok {
		t.Error("goja.Runtime has no vm.callStack, vm.tryStack (slices) and vm.maxCallStackSize (int): the call-depth check is off")
	}
	if evalLayout == nil {
		t.Error("goja.Runtime has no global.Eval (*goja.Object): the checked eval is off")
	}
	if !TemplatesOK() {
		t.Error("goja's templates, native functions, arrays or typed arrays are not where this package expects them: the lazy and allocation guards are off")
	}
	vm := goja.New()
	orig := vm.GlobalObject().Get("eval").(*goja.Object)
	if slot, ok := EvalSlotOf(vm); !ok || slot.Get() != orig {
		t.Error("global.Eval is not the global eval")
	}
	if _, ok := orig.Export().(func(goja.FunctionCall) goja.Value); !ok {
		t.Errorf("eval exports %T, want func(goja.FunctionCall) goja.Value", orig.Export())
	}
	if !templatedLayouts().objOK {
		t.Error("goja's templatedObject moved: lazy objects (the Client) fall back to eager ones")
	}
	if !templatedLayouts().fnOK {
		t.Error("goja's Object {self, runtime}, templatedFuncObject or objectTemplate moved: host functions fall back to vm.ToValue (about 580 bytes more each)")
	}
	if propLayout().t == nil {
		t.Error("goja's valueProperty is not {value, writable, configurable, enumerable, accessor, getterFunc, setterFunc}: the lazy eval guards and hooks are off")
	}
	// NewProp and SetPropObject, read back through goja's own descriptor
	tp := TemplateProps(vm.GlobalObject())
	for name, p := range map[string]goja.Value{
		"probeData":     NewProp(vm.ToValue(7), nil, false, false, false),
		"probeAccessor": NewProp(nil, vm.ToValue(func(goja.FunctionCall) goja.Value { return vm.ToValue(8) }).(*goja.Object), false, false, false),
	} {
		(*tp)[unistring.String(name)] = func(*goja.Runtime) goja.Value { return p }
	}
	probe := goja.New()
	v, err := probe.RunString(`var d = Object.getOwnPropertyDescriptor(globalThis, "probeData"), a = Object.getOwnPropertyDescriptor(globalThis, "probeAccessor");
		[d.value, d.writable, d.enumerable, d.configurable, typeof a.get, a.set, a.enumerable, a.configurable, probeAccessor].join()`)
	delete(*tp, "probeData")
	delete(*tp, "probeAccessor")
	if err != nil || v.String() != "7,false,false,false,function,,false,false,8" {
		t.Errorf("NewProp: %v %v", v, err)
	}
	ev := (*tp)["eval"](probe)
	if o := PropObject(ev); o == nil || !SetPropObject(ev, probe.NewObject()) || PropObject(ev) == o {
		t.Error("SetPropObject did not replace the eval factory's value")
	}
	if v, err := vm.RunString("new Error('x')"); err != nil || len(ErrorStack(v)) != 1 {
		t.Error("errorObject.stack ([]goja.StackFrame) not found: script errors lose their position")
	}
	for src, want := range map[string]ViewKind{"new Uint8Array(2)": TypedArray, "new DataView(new ArrayBuffer(2))": DataView} {
		v, err := vm.RunString(src)
		if err != nil {
			t.Fatal(err)
		}
		if k, detached := View(v.(*goja.Object)); k != want || detached {
			t.Errorf("View(%s) = %v, detached %v: goja's typedArrayObject, dataViewObject or arrayBufferObject.detached moved", src, k, detached)
		}
	}
	if _, ok := reflectFieldOK(vm); !ok {
		t.Error("goja.Runtime is no longer walkable by HeapWalker")
	}
}

// reflectFieldOK measures a fresh runtime: a walk that finds nothing means the layout of
// goja.Runtime changed under the walk.
func reflectFieldOK(vm *goja.Runtime) (int64, bool) {
	w := NewHeapWalker(1024, 1<<40)
	w.PushRuntime(vm)
	n := w.Run()
	return n, n > 1024
}

// TestEvalSlotSet: a slot set to another object reads back as it.
func TestEvalSlotSet(t *testing.T) {
	vm := goja.New()
	slot, ok := EvalSlotOf(vm)
	if !ok {
		t.Fatal("no eval slot")
	}
	o := vm.NewObject()
	slot.Set(o)
	if slot.Get() != o {
		t.Error("Set did not take")
	}
}

// TestCallStacks: CallStacks follows the call and try stacks as they grow and shrink.
func TestCallStacks(t *testing.T) {
	vm := goja.New()
	vm.SetMaxCallStackSize(1234)
	stacks, bound, ok := CallStacks(vm)
	if !ok || bound != 1234 {
		t.Fatalf("bound %d, ok %v; want 1234", bound, ok)
	}
	var depths [][2]int
	if err := vm.Set("depth", func(goja.FunctionCall) goja.Value {
		depths = append(depths, [2]int{stacks.Calls(), stacks.Tries()})
		return goja.Undefined()
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := vm.RunString(`function f(n) { depth(); try { if (n) f(n - 1) } finally {} } f(3)`); err != nil {
		t.Fatal(err)
	}
	if len(depths) != 4 {
		t.Fatalf("depths %v", depths)
	}
	for i := 1; i < len(depths); i++ {
		if depths[i][0] != depths[i-1][0]+1 || depths[i][1] != depths[i-1][1]+1 {
			t.Errorf("depths %v: want one call frame and one try frame more per call", depths)
		}
	}
	if stacks.Calls() != 0 || stacks.Tries() != 0 {
		t.Errorf("stacks %d, %d after the run, want 0", stacks.Calls(), stacks.Tries())
	}
}

// TestErrorStack checks that ErrorStack reads goja's Error objects (it reads an
// unexported field: a goja upgrade that changes it fails here), and that it returns nothing
// for values that are not goja Errors, however they look.
func TestErrorStack(t *testing.T) {
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
		frames := ErrorStack(v)
		if len(frames) != tc.count {
			t.Errorf("ErrorStack(%s) has %d frames, want %d", tc.src, len(frames), tc.count)
			continue
		}
		if tc.count > 0 {
			if p := frames[0].Position(); p.Filename != "t.js" || p.Line != tc.line {
				t.Errorf("ErrorStack(%s)[0] at %s:%d, want t.js:%d", tc.src, p.Filename, p.Line, tc.line)
			}
		}
	}
}
