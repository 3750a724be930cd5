package gojainternal

import (
	"reflect"
	"sync"
	"unsafe"

	"github.com/dop251/goja"
	"github.com/dop251/goja/unistring"
)

// The host's templated objects (FuncTemplate, NewLazyObject) are made as goja makes its own
// templated built-ins: a goja Object whose self is one of goja's templated object structs
// (templatedFuncObject, templatedObject) pointing at an objectTemplate of property factories.

// templatedLayout is where one of goja's templated object structs keeps what such an object
// needs: its baseObject's class, val, prototype, extensible and values; tmpl;
// protoMaterialised.
type templatedLayout struct {
	implT                         reflect.Type
	className                     string
	class, val, proto, extensible uintptr
	values, tmpl, protoDone       uintptr
	tab                           unsafe.Pointer // the interface table of a pointer to implT as Object.self
}

// ifaceWords is how Go lays out a non-empty interface value: its table and its data pointer.
// newTemplated writes Object.self this way with the table reflect made once (a reflect Set
// per object checks the ~100 methods of goja's objectImpl again: ~2 µs).
type ifaceWords struct{ tab, data unsafe.Pointer }

// gojaLayout is goja's Object {self, runtime}, objectTemplate {propNames, props} and the two
// templated object structs, found once: fnOK and objOK are false unless every field the
// functions (fn, with f) or the plain objects (obj) need has the expected type.
type gojaLayout struct {
	fnOK, objOK          bool
	objT, selfT, tmplT   reflect.Type
	propsT               reflect.Type
	self, runtime        uintptr
	tmplProps, tmplNames []int
	fn, obj              templatedLayout
	f                    uintptr // templatedFuncObject.f
	// Runtime.global.FunctionPrototype and .ObjectPrototype, read on every New (reflect's
	// FieldByName costs ~200 ns); ok false when not found
	funcProto, objProto     uintptr
	funcProtoOK, objProtoOK bool
}

// templatedLayouts is the gojaLayout, found once from a throwaway runtime (goja's Object
// constructor and global object).
var templatedLayouts = sync.OnceValue(func() (l gojaLayout) {
	vm := goja.New()
	fnImpl := implOf(vm.Get("Object").(*goja.Object)) // goja's Object constructor: a templated function
	objImpl := implOf(vm.GlobalObject())              // the global object: a templated object
	if !fnImpl.IsValid() || fnImpl.Type().String() != "*goja.templatedFuncObject" {
		return l
	}
	l.objT = reflect.TypeFor[goja.Object]()
	selfF, ok := l.objT.FieldByName("self")
	if !ok || selfF.Type.Kind() != reflect.Interface || !fnImpl.Type().Implements(selfF.Type) {
		return l
	}
	l.selfT = selfF.Type
	tmplF, ok := fnImpl.Type().Elem().FieldByName("tmpl")
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
	if l.self, ok = fieldOffset(l.objT, "self", l.selfT); !ok {
		return l
	}
	if l.runtime, ok = fieldOffset(l.objT, "runtime", reflect.TypeFor[*goja.Runtime]()); !ok {
		return l
	}
	l.funcProto, l.funcProtoOK = runtimeGlobalOffset("FunctionPrototype")
	l.objProto, l.objProtoOK = runtimeGlobalOffset("ObjectPrototype")
	if l.fn, ok = layoutOf(fnImpl, tmplF.Type); ok {
		l.f, l.fnOK = fieldOffset(l.fn.implT, "f", typeNative)
		l.fnOK = l.fnOK && l.funcProtoOK && l.interfaceTable(&l.fn)
	}
	if objImpl.IsValid() && objImpl.Type().String() == "*goja.templatedObject" && objImpl.Type().Implements(l.selfT) {
		plain := field(implOf(vm.NewObject()), "class", reflect.String) // a plain object's class, "Object"
		if l.obj, l.objOK = layoutOf(objImpl, tmplF.Type); l.objOK && plain.IsValid() {
			l.obj.className = plain.String()
			l.objOK = l.objProtoOK && l.interfaceTable(&l.obj)
		} else {
			l.objOK = false
		}
	}
	return l
})

// layoutOf finds the templatedLayout of impl's struct (its className is impl's class), whose
// tmpl field must have type tmplPtr.
func layoutOf(impl reflect.Value, tmplPtr reflect.Type) (l templatedLayout, ok bool) {
	class := field(impl, "class", reflect.String)
	if !class.IsValid() {
		return l, false
	}
	l.implT, l.className = impl.Type().Elem(), class.String()
	for _, f := range []struct {
		name string
		want reflect.Type
		off  *uintptr
	}{
		{"class", reflect.TypeFor[string](), &l.class},
		{"val", typeObject, &l.val},
		{"prototype", typeObject, &l.proto},
		{"extensible", reflect.TypeFor[bool](), &l.extensible},
		{"values", reflect.TypeFor[map[unistring.String]goja.Value](), &l.values},
		{"tmpl", tmplPtr, &l.tmpl},
		{"protoMaterialised", reflect.TypeFor[bool](), &l.protoDone},
	} {
		off, ok := fieldOffset(l.implT, f.name, f.want)
		if !ok {
			return l, false
		}
		*f.off = off
	}
	return l, true
}

// newTemplate is a goja objectTemplate (as an unsafe *objectTemplate) whose property names are
// names (shared: goja copies them before it changes an object's list) and whose factory of
// names[i] is factory(i). Only when the layout's fnOK or objOK holds.
func newTemplate(names []unistring.String, factory func(i int) Factory) unsafe.Pointer {
	l := templatedLayouts()
	tmpl := reflect.New(l.tmplT)
	props := reflect.MakeMapWithSize(l.propsT, len(names))
	for i, n := range names {
		props.SetMapIndex(reflect.ValueOf(n), reflect.ValueOf(factory(i)).Convert(l.propsT.Elem()))
	}
	setField(tmpl.Elem(), l.tmplProps, props)
	setField(tmpl.Elem(), l.tmplNames, reflect.ValueOf(names))
	return tmpl.UnsafePointer()
}

// newTemplated is a new object of vm made of t's struct: extensible, an empty value map, the
// template tmpl and the prototype proto (materialised). It answers the object and its
// struct's address, for the caller's own fields. Only when t's layout was found (fnOK, objOK).
func (l *gojaLayout) newTemplated(t *templatedLayout, vm *goja.Runtime, tmpl unsafe.Pointer, proto *goja.Object) (*goja.Object, unsafe.Pointer) {
	obj := (*goja.Object)(reflect.New(l.objT).UnsafePointer())
	implV := reflect.New(t.implT)
	ip := implV.UnsafePointer()
	*(*string)(unsafe.Add(ip, t.class)) = t.className
	*(**goja.Object)(unsafe.Add(ip, t.val)) = obj
	*(**goja.Object)(unsafe.Add(ip, t.proto)) = proto
	*(*bool)(unsafe.Add(ip, t.extensible)) = true
	*(*map[unistring.String]goja.Value)(unsafe.Add(ip, t.values)) = make(map[unistring.String]goja.Value)
	*(*unsafe.Pointer)(unsafe.Add(ip, t.tmpl)) = tmpl
	*(*bool)(unsafe.Add(ip, t.protoDone)) = true
	*(**goja.Runtime)(unsafe.Add(unsafe.Pointer(obj), l.runtime)) = vm
	*(*ifaceWords)(unsafe.Add(unsafe.Pointer(obj), l.self)) = ifaceWords{t.tab, ip}
	return obj, ip
}

// interfaceTable sets t.tab: it stores a pointer to a new implT in a scratch Object's self
// through reflect (which checks that it implements objectImpl) and reads the table back,
// checking that the data word is that pointer (the interface layout ifaceWords assumes).
func (l *gojaLayout) interfaceTable(t *templatedLayout) bool {
	scratch := reflect.New(l.objT)
	implV := reflect.New(t.implT)
	reflect.NewAt(l.selfT, unsafe.Add(scratch.UnsafePointer(), l.self)).Elem().Set(implV)
	w := *(*ifaceWords)(unsafe.Add(scratch.UnsafePointer(), l.self))
	if w.tab == nil || w.data != implV.UnsafePointer() {
		return false
	}
	t.tab = w.tab
	return true
}

// runtimeGlobalOffset is the offset in a goja.Runtime of its global.name (a *goja.Object:
// goja's per-runtime intrinsics).
func runtimeGlobalOffset(name string) (uintptr, bool) {
	g, ok := reflect.TypeFor[goja.Runtime]().FieldByName("global")
	if !ok || len(g.Index) != 1 || g.Type.Kind() != reflect.Struct {
		return 0, false
	}
	off, ok := fieldOffset(g.Type, name, typeObject)
	return g.Offset + off, ok
}

// runtimeGlobal reads vm's global.<the intrinsic at off>; nil when goja has not built it.
func runtimeGlobal(vm *goja.Runtime, off uintptr) *goja.Object {
	return *(**goja.Object)(unsafe.Add(unsafe.Pointer(vm), off))
}

// setField sets the (unexported) field at index path idx of the addressable struct s to v.
func setField(s reflect.Value, idx []int, v reflect.Value) {
	f := s.FieldByIndex(idx)
	reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Set(v)
}

// fieldOffset is the offset of t's field name (promoted fields included) from the start of a
// t, if that field has type want and is reached through structs embedded by value only: the
// offset of a field promoted through an embedded pointer is in another allocation, and
// summing the steps' offsets would point the writes past the object.
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
