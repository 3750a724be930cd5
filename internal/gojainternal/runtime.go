package gojainternal

import (
	"reflect"
	"unsafe"

	"github.com/dop251/goja"
)

// stackLayout locates goja's call stack, which goja does not export:
// (*goja.Runtime).vm.callStack, whose length is the call depth goja bounds;
// vm.maxCallStackSize, that bound; and vm.tryStack, which grows with every active try block
// and every call from Go into JS. reflect reads unexported fields (Len, Int) but cannot write
// them. The indexes are found once.
var stackLayout = findStackLayout()

type layout struct {
	vm, callStack, tryStack, maxCallStackSize []int
	ok                                        bool
}

func findStackLayout() layout {
	vm, ok := reflect.TypeFor[goja.Runtime]().FieldByName("vm")
	if !ok || vm.Type.Kind() != reflect.Pointer || vm.Type.Elem().Kind() != reflect.Struct {
		return layout{}
	}
	cs, ok1 := vm.Type.Elem().FieldByName("callStack")
	ts, ok2 := vm.Type.Elem().FieldByName("tryStack")
	bound, ok3 := vm.Type.Elem().FieldByName("maxCallStackSize")
	if !ok1 || !ok2 || !ok3 || cs.Type.Kind() != reflect.Slice || ts.Type.Kind() != reflect.Slice || bound.Type.Kind() != reflect.Int {
		return layout{}
	}
	return layout{vm: vm.Index, callStack: cs.Index, tryStack: ts.Index, maxCallStackSize: bound.Index, ok: true}
}

// Stacks views a runtime's call and try stacks: each length is read in O(1) and stays
// current (the view refers to the field, not a copy).
type Stacks struct {
	calls, tries reflect.Value
}

// Calls is the number of JS call frames (the depth goja bounds).
func (s Stacks) Calls() int { return s.calls.Len() }

// Tries is the number of try frames (active try blocks and calls from Go into JS).
func (s Stacks) Tries() int { return s.tries.Len() }

// CallStacks returns vm's stacks and goja's current bound (SetMaxCallStackSize). ok is false
// if goja's layout is not the expected one.
func CallStacks(vm *goja.Runtime) (s Stacks, bound int, ok bool) {
	if !stackLayout.ok {
		return Stacks{}, 0, false
	}
	v := reflect.ValueOf(vm).Elem().FieldByIndex(stackLayout.vm)
	if v.IsNil() {
		return Stacks{}, 0, false
	}
	v = v.Elem()
	return Stacks{v.FieldByIndex(stackLayout.callStack), v.FieldByIndex(stackLayout.tryStack)},
		int(v.FieldByIndex(stackLayout.maxCallStackSize).Int()), true
}

// evalLayout locates (*goja.Runtime).global.Eval, which goja does not export: goja performs a
// direct eval when the callee of eval(x) is the object in it. The index path is found once.
var evalLayout = findEvalLayout()

func findEvalLayout() []int {
	g, ok := reflect.TypeFor[goja.Runtime]().FieldByName("global")
	if !ok || g.Type.Kind() != reflect.Struct {
		return nil
	}
	e, ok := g.Type.FieldByName("Eval")
	if !ok || e.Type != reflect.TypeFor[*goja.Object]() {
		return nil
	}
	return append(append([]int(nil), g.Index...), e.Index...)
}

// EvalSlot is a settable view of a runtime's global.Eval field.
type EvalSlot struct{ v reflect.Value }

// EvalSlotOf returns vm's global.Eval slot, ok false if the layout is not the expected one.
// reflect cannot set an unexported field; reflect.NewAt over its address can.
func EvalSlotOf(vm *goja.Runtime) (slot EvalSlot, ok bool) {
	if evalLayout == nil {
		return EvalSlot{}, false
	}
	f := reflect.ValueOf(vm).Elem().FieldByIndex(evalLayout)
	return EvalSlot{reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()}, true
}

// Get is the object in the slot: eval(x) with it as the callee is a direct eval.
func (s EvalSlot) Get() *goja.Object { return s.v.Interface().(*goja.Object) }

// Set puts o in the slot.
func (s EvalSlot) Set(o *goja.Object) { s.v.Set(reflect.ValueOf(o)) }

// ErrorStack returns the JS stack captured when v, an Error object made by goja (new Error(),
// a TypeError thrown by goja, …), was created, or nil for any other value. It reads goja's
// unexported errorObject.stack, so it runs no script code (the script may have replaced the
// "stack" property).
func ErrorStack(v goja.Value) []goja.StackFrame {
	obj, ok := v.(*goja.Object)
	if !ok || obj == nil {
		return nil
	}
	impl := implOf(obj)
	if !impl.IsValid() || impl.Type().String() != "*goja.errorObject" {
		return nil
	}
	f := impl.Elem().FieldByName("stack")
	if !f.IsValid() || f.Type() != reflect.TypeFor[[]goja.StackFrame]() {
		return nil
	}
	frames := reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Interface().([]goja.StackFrame)
	return append([]goja.StackFrame(nil), frames...)
}

// ViewKind is what View found behind an object.
type ViewKind int

const (
	NotView    ViewKind = iota // anything but a typed array or DataView (an ArrayBuffer included)
	TypedArray                 // an Int8Array … Float64Array, BigInt64Array, BigUint64Array
	DataView                   // a DataView
)

// goja's unexported implementation types of the views, by name.
const (
	gojaTypedArrayImpl = "*goja.typedArrayObject"
	gojaDataViewImpl   = "*goja.dataViewObject"
)

// View classifies obj by goja's Go-side type (goja exports no test for a DataView) and
// reports whether the ArrayBuffer it views is detached; a layout it does not know counts as
// detached, so that an unknown shape is refused rather than read. It runs no script code.
func View(obj *goja.Object) (kind ViewKind, detached bool) {
	if obj == nil {
		return NotView, false
	}
	self := reflect.ValueOf(obj).Elem().FieldByName("self")
	if !self.IsValid() || self.Kind() != reflect.Interface || self.IsNil() {
		return NotView, false
	}
	impl := self.Elem()
	switch impl.Type().String() {
	case gojaTypedArrayImpl:
		kind = TypedArray
	case gojaDataViewImpl:
		kind = DataView
	default:
		return NotView, false
	}
	return kind, viewDetached(impl)
}

// viewDetached reports whether the view impl (a pointer to goja's typed array or DataView
// struct) views a detached buffer; a layout it does not know counts as detached.
func viewDetached(impl reflect.Value) bool {
	if impl.Kind() != reflect.Pointer || impl.IsNil() {
		return true
	}
	buf := impl.Elem().FieldByName("viewedArrayBuf")
	if !buf.IsValid() || buf.Kind() != reflect.Pointer || buf.IsNil() {
		return true
	}
	d := buf.Elem().FieldByName("detached")
	if !d.IsValid() || d.Kind() != reflect.Bool {
		return true
	}
	return d.Bool()
}
