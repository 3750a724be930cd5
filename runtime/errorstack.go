package runtime

import (
	"reflect"
	"unsafe"

	"github.com/dop251/goja"
)

// errorStack returns the JS stack captured when v, an Error object made by
// goja (new Error(), a TypeError thrown by goja, …), was created, or nil for
// any other value. It reads goja's unexported errorObject.stack with reflect,
// so it runs no script code (the script may have replaced the "stack"
// property); TestErrorStackLayout fails if a goja upgrade changes that layout,
// which at run time only drops the position.
func errorStack(v goja.Value) []goja.StackFrame {
	obj, ok := v.(*goja.Object)
	if !ok || obj == nil {
		return nil
	}
	self := reflect.ValueOf(obj).Elem().FieldByName("self")
	if !self.IsValid() || self.Kind() != reflect.Interface || self.IsNil() {
		return nil
	}
	impl := self.Elem()
	if impl.Kind() != reflect.Pointer || impl.IsNil() || impl.Type().String() != "*goja.errorObject" {
		return nil
	}
	f := impl.Elem().FieldByName("stack")
	if !f.IsValid() || f.Type() != reflect.TypeFor[[]goja.StackFrame]() {
		return nil
	}
	frames := reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Interface().([]goja.StackFrame)
	return append([]goja.StackFrame(nil), frames...)
}
