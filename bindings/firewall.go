package bindings

import (
	"fmt"
	"reflect"
	"runtime/debug"

	"github.com/dop251/goja"

	"github.com/devicejs/devicejs/mqttcore"
)

// The panic firewall (goja#437: goja does not convert Go panics in native functions, so a bug
// in a binding would otherwise kill the host). Every JS-visible function is wrapped by
// firewall; every loop job bindings posts is wrapped by jobFirewall.
//
// What passes through unchanged: JS exceptions and goja's own control flow (goja.Value,
// *goja.Exception, *goja.InterruptedError, *goja.StackOverflowError and goja's unexported
// throw types), so throws, interrupts (--for, context cancel) and stack overflows behave as in
// any other native function. Anything else is a bug in devicejs: it is logged with its Go stack
// and the call answers as the spec's "Other error" would.

// fallback is what a native function returns after a recovered panic.
type fallback func(vm *goja.Runtime) goja.Value

func returnUndefined(*goja.Runtime) goja.Value { return goja.Undefined() }

func returnFalse(vm *goja.Runtime) goja.Value { return vm.ToValue(false) }

func returnOtherError(vm *goja.Runtime) goja.Value { return mqttError(vm, mqttcore.OtherError) }

// gojaPackage is the import path of goja, whose unexported panic values must pass through.
var gojaPackage = reflect.TypeOf(goja.Exception{}).PkgPath()

// isGojaPanic reports whether a recovered value is goja's (a throw, an interrupt or a stack
// overflow) rather than a Go bug.
func isGojaPanic(r any) bool {
	switch r.(type) {
	case goja.Value, *goja.Exception, *goja.InterruptedError, *goja.StackOverflowError:
		return true
	}
	t := reflect.TypeOf(r)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t != nil && t.PkgPath() == gojaPackage
}

// firewall wraps a native function: a Go panic inside fn is logged (error level, with stack)
// and turned into onPanic's value. name is the JS name, for the log.
func (m *module) firewall(name string, onPanic fallback, fn func(goja.FunctionCall) goja.Value) func(goja.FunctionCall) goja.Value {
	return func(call goja.FunctionCall) (ret goja.Value) {
		defer func() {
			if r := recover(); r != nil {
				ret = m.recovered(name, onPanic, r)
			}
		}()
		return fn(call)
	}
}

// recovered is the firewall's answer to a panic r recovered in the native function name (called
// from the deferred function, so the logged stack is the panic's): goja's own panics go on,
// anything else is logged and answered with onPanic's value.
func (m *module) recovered(name string, onPanic fallback, r any) goja.Value {
	if isGojaPanic(r) {
		panic(r)
	}
	m.log.Error("mqtt: internal error (recovered panic)", "method", name, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	return onPanic(m.vm)
}

// jobFirewall wraps a loop job: a Go panic inside job is logged and returned as an error, which
// ends the run (an event that cannot be delivered must not vanish silently).
func (m *module) jobFirewall(name string, job func(vm *goja.Runtime) error) func(vm *goja.Runtime) error {
	return func(vm *goja.Runtime) (err error) {
		defer func() {
			r := recover()
			if r == nil {
				return
			}
			if isGojaPanic(r) {
				panic(r)
			}
			stack := string(debug.Stack())
			m.log.Error("mqtt: internal error (recovered panic)", "job", name, "panic", fmt.Sprint(r), "stack", stack)
			err = fmt.Errorf("devicejs: internal error delivering %s: %v", name, r)
		}()
		return job(vm)
	}
}
