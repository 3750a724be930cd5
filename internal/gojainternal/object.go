package gojainternal

import (
	"github.com/dop251/goja"
	"github.com/dop251/goja/unistring"
)

// NewLazyObject is a plain object of vm (prototype Object.prototype, extensible) whose own
// properties are names, in that order, each a writable, enumerable, configurable data
// property holding value(i) for names[i]. goja builds each one, as it builds the properties of
// its own templated built-ins, when a script or the host first touches it (reads, describes,
// redefines, deletes it, or lists or freezes the object), so an object whose methods a script
// never calls costs a small map instead of a function per method (issue 20: the Client object
// of a device that only calls .on). names is shared and must not change; value runs on vm's
// goroutine, once per name at most. Observably the object is the one made by defining every
// property at once (TestLazyObject holds the two side by side); when goja's layout is not the
// expected one, that is the object made.
func NewLazyObject(vm *goja.Runtime, names []unistring.String, value func(i int) goja.Value) *goja.Object {
	l := templatedLayouts()
	if !l.objOK {
		return eagerObject(vm, names, value)
	}
	op := runtimeGlobal(vm, l.objProto)
	if op == nil {
		return eagerObject(vm, names, value)
	}
	tmpl := newTemplate(names, func(i int) Factory {
		return func(*goja.Runtime) goja.Value { return value(i) }
	})
	obj, _ := l.newTemplated(&l.obj, vm, tmpl, op)
	return obj
}

// eagerObject is the object NewLazyObject stands for, made with goja's exported API.
func eagerObject(vm *goja.Runtime, names []unistring.String, value func(i int) goja.Value) *goja.Object {
	o := vm.NewObject()
	for i, n := range names {
		if err := o.DefineDataProperty(n.String(), value(i), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE); err != nil {
			panic(err)
		}
	}
	return o
}
