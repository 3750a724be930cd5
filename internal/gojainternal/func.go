package gojainternal

import (
	"reflect"
	"sync"
	"unsafe"

	"github.com/dop251/goja"
	"github.com/dop251/goja/unistring"
)

// A FuncTemplate makes the host's native functions of one name and length (print, the timers,
// the mqtt and Client methods) the way goja makes its own constructors: a templated function
// object whose "length" and "name" properties are built from a template shared by every
// function of the template, when a script first touches them (reads, describes, redefines,
// deletes or lists them), instead of a property map and two property records per function
// (issue 20: about 220 bytes per function instead of about 800, 17 functions per device).
//
// Observably the function is the one vm.ToValue(fn) makes with its "name" and "length"
// redefined as goja defines them (non-writable, non-enumerable, configurable): the same
// typeof, prototype (Function.prototype), call, Export, String(), bind, descriptors, key order
// ("length", "name"), extensibility and freezing; not a constructor. TestFuncTemplate holds the
// two side by side. When goja's layout is not the expected one, New makes exactly that
// function instead.
type FuncTemplate struct {
	name   string
	length int
	once   sync.Once
	tmpl   unsafe.Pointer // goja's *objectTemplate, made at the first New; nil: New uses the fallback
}

// NewFuncTemplate is the template of functions named name of length length. Make one per
// process per name (a package variable), not per function: it is shared by every runtime.
// It costs nothing until its first New.
func NewFuncTemplate(name string, length int) *FuncTemplate {
	return &FuncTemplate{name: name, length: length}
}

// build makes goja's template (vm only lends its primitive values, which belong to no runtime).
func (t *FuncTemplate) build(vm *goja.Runtime) {
	if !templatedLayouts().fnOK {
		return
	}
	values := [2]goja.Value{vm.ToValue(t.length), vm.ToValue(t.name)}
	if NewProp(values[0], nil, false, false, true) == nil {
		return
	}
	t.tmpl = newTemplate(funcPropNames, func(i int) Factory {
		v := values[i]
		return func(*goja.Runtime) goja.Value { return NewProp(v, nil, false, false, true) }
	})
}

// funcPropNames are a function's own properties, in goja's order.
var funcPropNames = []unistring.String{"length", "name"}

// New is a native function of vm that calls fn, named and sized by t. vm's goroutine only.
func (t *FuncTemplate) New(vm *goja.Runtime, fn Native) *goja.Object {
	t.once.Do(func() { t.build(vm) })
	if t.tmpl == nil {
		return t.fallback(vm, fn)
	}
	l := templatedLayouts()
	fp := runtimeGlobal(vm, l.funcProto)
	if fp == nil {
		// goja builds Function.prototype with the first function of a runtime: make one and
		// drop it (garbage at once, where the fallback would stay ~580 bytes heavier)
		vm.ToValue(noop)
		if fp = runtimeGlobal(vm, l.funcProto); fp == nil {
			return t.fallback(vm, fn)
		}
	}
	obj, ip := l.newTemplated(&l.fn, vm, t.tmpl, fp)
	*(*Native)(unsafe.Add(ip, l.f)) = fn
	return obj
}

func noop(goja.FunctionCall) goja.Value { return nil }

// fallback is the function New stands for, made with goja's exported API.
func (t *FuncTemplate) fallback(vm *goja.Runtime, fn Native) *goja.Object {
	o := vm.ToValue(fn).(*goja.Object)
	if t.length != 0 {
		if err := o.DefineDataProperty("length", vm.ToValue(t.length), goja.FLAG_FALSE, goja.FLAG_TRUE, goja.FLAG_FALSE); err != nil {
			panic(err)
		}
	}
	if err := o.DefineDataProperty("name", vm.ToValue(t.name), goja.FLAG_FALSE, goja.FLAG_TRUE, goja.FLAG_FALSE); err != nil {
		panic(err)
	}
	return o
}

// ReserveNames gives o, a templated object (the global object) whose own property names goja
// has not copied from its template yet, that copy now with room for extra more names: goja
// copies the template's names (58 for the global object) when the first own property is
// added and doubles the list when it is full, so a device's globals and its script's first
// few would make it a 2 KiB list where 1.4 KiB holds them (issue 20). It reports whether it
// made the copy; the names and their order are goja's either way. o's goroutine only.
func ReserveNames(o *goja.Object, extra int) bool {
	names := field(implOf(o), "propNames", reflect.Slice)
	tmpl := TemplateNames(o)
	if !names.IsValid() || names.Type().Elem() != typeKey || !names.IsNil() || tmpl == nil || extra < 0 {
		return false
	}
	s := make([]unistring.String, len(*tmpl), len(*tmpl)+extra)
	copy(s, *tmpl)
	reflect.NewAt(names.Type(), unsafe.Pointer(names.UnsafeAddr())).Elem().Set(reflect.ValueOf(s))
	return true
}
