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
	l := funcLayout()
	if !l.ok {
		return
	}
	tmpl := reflect.New(l.tmplT)
	props := reflect.MakeMapWithSize(l.propsT, 2)
	for _, p := range []struct {
		key string
		v   goja.Value
	}{{"length", vm.ToValue(t.length)}, {"name", vm.ToValue(t.name)}} {
		v := p.v
		if NewProp(v, nil, false, false, true) == nil {
			return
		}
		f := Factory(func(*goja.Runtime) goja.Value { return NewProp(v, nil, false, false, true) })
		props.SetMapIndex(reflect.ValueOf(unistring.String(p.key)), reflect.ValueOf(f).Convert(l.propsT.Elem()))
	}
	setField(tmpl.Elem(), l.tmplProps, props)
	setField(tmpl.Elem(), l.tmplNames, reflect.ValueOf([]unistring.String{"length", "name"}))
	t.tmpl = tmpl.UnsafePointer()
}

// New is a native function of vm that calls fn, named and sized by t. vm's goroutine only.
func (t *FuncTemplate) New(vm *goja.Runtime, fn Native) *goja.Object {
	t.once.Do(func() { t.build(vm) })
	if t.tmpl == nil {
		return t.fallback(vm, fn)
	}
	fp := RuntimeGlobal(vm, "FunctionPrototype")
	if fp == nil {
		// goja builds Function.prototype with the first function of a runtime: make one and
		// drop it (garbage at once, where the fallback would stay ~580 bytes heavier)
		vm.ToValue(noop)
		if fp = RuntimeGlobal(vm, "FunctionPrototype"); fp == nil {
			return t.fallback(vm, fn)
		}
	}
	l := funcLayout()
	obj := (*goja.Object)(reflect.New(l.objT).UnsafePointer())
	implV := reflect.New(l.implT)
	ip := implV.UnsafePointer()
	*(*string)(unsafe.Add(ip, l.class)) = l.className
	*(**goja.Object)(unsafe.Add(ip, l.val)) = obj
	*(**goja.Object)(unsafe.Add(ip, l.proto)) = fp
	*(*bool)(unsafe.Add(ip, l.extensible)) = true
	*(*map[unistring.String]goja.Value)(unsafe.Add(ip, l.values)) = make(map[unistring.String]goja.Value)
	*(*unsafe.Pointer)(unsafe.Add(ip, l.tmpl)) = t.tmpl
	*(*bool)(unsafe.Add(ip, l.protoDone)) = true
	*(*Native)(unsafe.Add(ip, l.f)) = fn
	*(**goja.Runtime)(unsafe.Add(unsafe.Pointer(obj), l.runtime)) = vm
	reflect.NewAt(l.selfT, unsafe.Add(unsafe.Pointer(obj), l.self)).Elem().Set(implV)
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

// setField sets the (unexported) field at index path idx of the addressable struct s to v.
func setField(s reflect.Value, idx []int, v reflect.Value) {
	f := s.FieldByIndex(idx)
	reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Set(v)
}

// funcLayout is where New writes: goja's Object {self, runtime}, templatedFuncObject (its
// baseObject's class, val, prototype, extensible and values; tmpl; protoMaterialised; f) and
// objectTemplate {propNames, props}, found once from goja's own Object constructor (a
// templated function object). ok is false unless every field has the expected type.
var funcLayout = sync.OnceValue(func() (l struct {
	ok                                bool
	objT, implT, tmplT, selfT, propsT reflect.Type
	className                         string
	self, runtime                     uintptr
	class, val, proto, extensible     uintptr
	values, tmpl, protoDone, f        uintptr
	tmplProps, tmplNames              []int
}) {
	vm := goja.New()
	impl := implOf(vm.Get("Object").(*goja.Object))
	if !impl.IsValid() || impl.Type().String() != "*goja.templatedFuncObject" {
		return l
	}
	l.objT, l.implT = reflect.TypeFor[goja.Object](), impl.Type().Elem()
	selfF, ok := l.objT.FieldByName("self")
	if !ok || selfF.Type.Kind() != reflect.Interface || !impl.Type().Implements(selfF.Type) {
		return l
	}
	l.selfT = selfF.Type
	tmplF, ok := l.implT.FieldByName("tmpl")
	if !ok || tmplF.Type.Kind() != reflect.Pointer || tmplF.Type.Elem().Kind() != reflect.Struct {
		return l
	}
	l.tmplT = tmplF.Type.Elem()
	props, ok1 := l.tmplT.FieldByName("props")
	names, ok2 := l.tmplT.FieldByName("propNames")
	if !ok1 || !ok2 || props.Type.Kind() != reflect.Map || props.Type.Key() != typeKey ||
		props.Type.Elem().Kind() != reflect.Func || !typeFactory.ConvertibleTo(props.Type.Elem()) ||
		names.Type != reflect.TypeFor[[]unistring.String]() {
		return l
	}
	l.propsT, l.tmplProps, l.tmplNames = props.Type, props.Index, names.Index
	class := field(impl, "class", reflect.String)
	if !class.IsValid() {
		return l
	}
	l.className = class.String()
	for _, f := range []struct {
		t    reflect.Type
		name string
		want reflect.Type
		off  *uintptr
	}{
		{l.objT, "self", l.selfT, &l.self},
		{l.objT, "runtime", reflect.TypeFor[*goja.Runtime](), &l.runtime},
		{l.implT, "class", reflect.TypeFor[string](), &l.class},
		{l.implT, "val", typeObject, &l.val},
		{l.implT, "prototype", typeObject, &l.proto},
		{l.implT, "extensible", reflect.TypeFor[bool](), &l.extensible},
		{l.implT, "values", reflect.TypeFor[map[unistring.String]goja.Value](), &l.values},
		{l.implT, "tmpl", tmplF.Type, &l.tmpl},
		{l.implT, "protoMaterialised", reflect.TypeFor[bool](), &l.protoDone},
		{l.implT, "f", typeNative, &l.f},
	} {
		off, ok := fieldOffset(f.t, f.name, f.want)
		if !ok {
			return l
		}
		*f.off = off
	}
	l.ok = true
	return l
})

// fieldOffset is the offset of t's field name (promoted fields included) from the start of a
// t, if that field has type want and is reached through structs embedded by value only: the
// offset of a field promoted through an embedded pointer is in another allocation, and
// summing the steps' offsets would point New's writes past the object.
func fieldOffset(t reflect.Type, name string, want reflect.Type) (uintptr, bool) {
	if t.Kind() != reflect.Struct {
		return 0, false
	}
	f, ok := t.FieldByName(name)
	if !ok || f.Type != want {
		return 0, false
	}
	off := uintptr(0)
	for i := range f.Index {
		step := t.FieldByIndex(f.Index[:i+1])
		if i < len(f.Index)-1 && step.Type.Kind() != reflect.Struct {
			return 0, false
		}
		off += step.Offset
	}
	return off, true
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
