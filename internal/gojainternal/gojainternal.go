// Package gojainternal is the one place where devicejs reaches goja's unexported internals,
// with reflect (names and types checked before use) and unsafe (only to read or write fields
// whose types were checked, and to take a runtime's address as a map key). It holds:
//
//   - the built-in templates: the property factories and names goja builds each built-in of a
//     runtime from, and the Go function and constructor inside a native function
//     (TemplateProps, TemplateNames, NativeSlots, PropObject, RuntimeGlobal), which the
//     sandbox's lazy and allocation guards patch once per process (runtime/sandbox);
//   - array and typed array shapes the allocation guards estimate with (DenseArray,
//     TypedArrayLength);
//   - the call and try stacks the call-depth check bounds (CallStacks);
//   - the slot (*goja.Runtime).global.Eval that decides whether eval(x) is direct (EvalSlotOf);
//   - the stack an Error object captured when it was made (ErrorStack), for rejection errors;
//   - the kind and detached state of a typed array or DataView (View), for the bindings;
//   - the walk that sizes the Go values a runtime reaches (HeapWalker), for DeviceMemory;
//   - RuntimeKey, a runtime's address as a map key;
//   - FuncTemplate, the host's native functions as templated function objects whose name and
//     length are built on first use (func.go).
//
// Every accessor answers "not found" (nil, false, -1) when goja's layout is not the expected
// one, never a misread field; TestLayout fails loudly when a goja upgrade moves any of it.
// Ordinary reflect elsewhere is not goja internals and stays where it is: the AST walks
// (runtime/sandbox, internal/check) read goja/ast's exported fields, errors and firewall
// checks compare a type's package path, bindings and devtest compare exported types
// (goja.ArrayBuffer, Export()'s values), runtime's print writes a Go string's bytes.
//
// Goroutine rule: the accessors that take a runtime or its values are for that runtime's
// goroutine (goja is not goroutine-safe); the template accessors are for the once-per-process
// patch, before any runtime of the process builds a built-in. Imports: goja only.
package gojainternal

import (
	"reflect"
	"sync"
	"unsafe"

	"github.com/dop251/goja"
	"github.com/dop251/goja/unistring"
)

// Factory is goja's templatePropFactory: it builds one property of a templated object.
type Factory = func(*goja.Runtime) goja.Value

// Native is the Go function of a goja native function, Construct its constructor.
type (
	Native    = func(goja.FunctionCall) goja.Value
	Construct = func(args []goja.Value, newTarget *goja.Object) *goja.Object
)

var (
	typeObject    = reflect.TypeOf((*goja.Object)(nil))
	typeFactory   = reflect.TypeOf(Factory(nil))
	typeNative    = reflect.TypeOf(Native(nil))
	typeConstruct = reflect.TypeOf(Construct(nil))
	typeKey       = reflect.TypeOf(unistring.String(""))
)

// RuntimeKey is r's address, a key for maps that must not keep r alive (the holder checks
// that the runtime it finds is r: a collected runtime's address may be reused).
func RuntimeKey(r *goja.Runtime) uintptr { return uintptr(unsafe.Pointer(r)) }

// implOf is the concrete value behind o's objectImpl (a pointer to one of goja's object
// structs), or an invalid Value.
func implOf(o *goja.Object) reflect.Value {
	if o == nil {
		return reflect.Value{}
	}
	self := reflect.ValueOf(o).Elem().FieldByName("self")
	if !self.IsValid() || self.Kind() != reflect.Interface || self.IsNil() {
		return reflect.Value{}
	}
	impl := self.Elem()
	if impl.Kind() != reflect.Pointer || impl.IsNil() || impl.Elem().Kind() != reflect.Struct {
		return reflect.Value{}
	}
	return impl
}

// field is the field name of the struct impl points to if it has kind kind, else invalid.
func field(impl reflect.Value, name string, kind reflect.Kind) reflect.Value {
	if !impl.IsValid() {
		return reflect.Value{}
	}
	f := impl.Elem().FieldByName(name)
	if !f.IsValid() || f.Kind() != kind {
		return reflect.Value{}
	}
	return f
}

// TemplateProps is the property-factory map of the template behind o (a templated goja
// object: the global object, Array.prototype, Function.prototype), or nil. The map is goja's
// process-wide template: write it only before any runtime builds from it.
func TemplateProps(o *goja.Object) *map[unistring.String]Factory {
	tmpl := field(implOf(o), "tmpl", reflect.Pointer)
	if !tmpl.IsValid() || tmpl.IsNil() || tmpl.Elem().Kind() != reflect.Struct {
		return nil
	}
	props := tmpl.Elem().FieldByName("props")
	if !props.IsValid() || props.Kind() != reflect.Map || props.Type().Key() != typeKey ||
		!props.Type().Elem().ConvertibleTo(typeFactory) || props.Type().Elem().Kind() != reflect.Func {
		return nil
	}
	if ft := props.Type().Elem(); ft.NumIn() != 1 || ft.In(0) != typeFactory.In(0) || ft.NumOut() != 1 || ft.Out(0) != typeFactory.Out(0) {
		return nil
	}
	return (*map[unistring.String]Factory)(unsafe.Pointer(props.UnsafeAddr()))
}

// TemplateNames is the property-name list (in creation order) of the template behind o, or
// nil; see TemplateProps.
func TemplateNames(o *goja.Object) *[]unistring.String {
	tmpl := field(implOf(o), "tmpl", reflect.Pointer)
	if !tmpl.IsValid() || tmpl.IsNil() || tmpl.Elem().Kind() != reflect.Struct {
		return nil
	}
	names := tmpl.Elem().FieldByName("propNames")
	if !names.IsValid() || names.Kind() != reflect.Slice || names.Type().Elem() != typeKey {
		return nil
	}
	return (*[]unistring.String)(unsafe.Pointer(names.UnsafeAddr()))
}

// NativeSlots are the Go function and constructor fields of o if o is a plain goja native
// function (nativeFuncObject), else nils.
func NativeSlots(o *goja.Object) (f *Native, construct *Construct) {
	impl := implOf(o)
	if !impl.IsValid() || impl.Type().String() != "*goja.nativeFuncObject" {
		return nil, nil
	}
	ff, cf := field(impl, "f", reflect.Func), field(impl, "construct", reflect.Func)
	if !ff.IsValid() || ff.Type() != typeNative || !cf.IsValid() || cf.Type() != typeConstruct {
		return nil, nil
	}
	return (*Native)(unsafe.Pointer(ff.UnsafeAddr())), (*Construct)(unsafe.Pointer(cf.UnsafeAddr()))
}

// PropObject is the object a template factory made: the value itself, or the value of the
// goja valueProperty (attributes) around it. Nil for anything else.
func PropObject(v goja.Value) *goja.Object {
	if o, ok := v.(*goja.Object); ok {
		return o
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Type().String() != "*goja.valueProperty" {
		return nil
	}
	inner := rv.Elem().FieldByName("value")
	if !inner.IsValid() || inner.Kind() != reflect.Interface || inner.IsNil() || inner.Elem().Type() != typeObject {
		return nil
	}
	return (*goja.Object)(inner.Elem().UnsafePointer())
}

// RuntimeGlobal is the intrinsic name (goja's per-runtime cache: "ArrayBuffer",
// "TypedArray") of r, or nil when goja has not built it yet.
func RuntimeGlobal(r *goja.Runtime, name string) *goja.Object {
	g := reflect.ValueOf(r).Elem().FieldByName("global")
	if !g.IsValid() || g.Kind() != reflect.Struct {
		return nil
	}
	f := g.FieldByName(name)
	if !f.IsValid() || f.Type() != typeObject || f.IsNil() {
		return nil
	}
	return (*goja.Object)(f.UnsafePointer())
}

// DenseArray reports whether v is an Array goja sorts, applies and copies in place: its own
// array object with every index from 0 to length-1 present as a plain value (no holes, no
// accessors). Such an array already holds its 16 bytes per element.
func DenseArray(v goja.Value) bool {
	o, ok := v.(*goja.Object)
	if !ok {
		return false
	}
	impl := implOf(o)
	if !impl.IsValid() || impl.Type().String() != "*goja.arrayObject" {
		return false
	}
	s := impl.Elem()
	pv, n, vals, objs := s.FieldByName("propValueCount"), s.FieldByName("length"), s.FieldByName("values"), s.FieldByName("objCount")
	if !pv.IsValid() || pv.Kind() != reflect.Int || !n.IsValid() || n.Kind() != reflect.Uint32 ||
		!vals.IsValid() || vals.Kind() != reflect.Slice || !objs.IsValid() || objs.Kind() != reflect.Int {
		return false
	}
	return pv.Int() == 0 && n.Uint() == uint64(vals.Len()) && uint64(objs.Int()) == n.Uint()
}

// TypedArrayLength is the length of v if it is a typed array (read from goja's field, not
// from the length getter a script can replace), else -1.
func TypedArrayLength(v goja.Value) float64 {
	o, ok := v.(*goja.Object)
	if !ok {
		return -1
	}
	impl := implOf(o)
	if !impl.IsValid() || impl.Type().String() != "*goja.typedArrayObject" {
		return -1
	}
	n := impl.Elem().FieldByName("length")
	if !n.IsValid() || n.Kind() != reflect.Int {
		return -1
	}
	return float64(n.Int())
}

// TemplatesOK reports whether every goja internal the template patches and the allocation
// guards use is where they expect it, on a throwaway runtime.
func TemplatesOK() bool {
	vm := goja.New()
	fp := vm.ToValue(func(goja.FunctionCall) goja.Value { return nil }).(*goja.Object).Prototype()
	if TemplateProps(vm.GlobalObject()) == nil || TemplateProps(vm.NewArray().Prototype()) == nil || TemplateProps(fp) == nil {
		return false
	}
	ab := vm.Get("ArrayBuffer").(*goja.Object)
	if f, c := NativeSlots(ab); f == nil || c == nil || RuntimeGlobal(vm, "ArrayBuffer") != ab {
		return false
	}
	if f, _ := NativeSlots(vm.NewArray().Prototype().Get("sort").(*goja.Object)); f == nil {
		return false
	}
	u8 := vm.Get("Uint8Array").(*goja.Object)
	if RuntimeGlobal(vm, "TypedArray") != u8.Prototype() {
		return false
	}
	ta, err := vm.New(u8, vm.ToValue(3))
	if err != nil || TypedArrayLength(ta) != 3 {
		return false
	}
	dense, holey := vm.NewArray(1, 2), vm.NewArray()
	if err := holey.Set("length", 5); err != nil {
		return false
	}
	return DenseArray(dense) && !DenseArray(holey) && PropObject(vm.Get("Reflect")) != nil
}

// SetPropObject replaces the object a template factory made, when the factory wrapped it in a
// goja data valueProperty (attributes): the property keeps its attributes and gets o as its
// value. It reports whether v was such a property; anything else is left alone.
func SetPropObject(v goja.Value, o *goja.Object) bool {
	rv := reflect.ValueOf(v)
	if o == nil || rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Type().String() != "*goja.valueProperty" {
		return false
	}
	inner, acc := rv.Elem().FieldByName("value"), rv.Elem().FieldByName("accessor")
	if !inner.IsValid() || inner.Type() != reflect.TypeFor[goja.Value]() || !acc.IsValid() || acc.Kind() != reflect.Bool || acc.Bool() {
		return false
	}
	reflect.NewAt(inner.Type(), unsafe.Pointer(inner.UnsafeAddr())).Elem().Set(reflect.ValueOf(goja.Value(o)))
	return true
}

// propLayout is goja's valueProperty type (a property with attributes, as template factories
// return it) and the indexes of its fields, found once from a factory's result; nil type if
// the layout is not the expected one.
var propLayout = sync.OnceValue(func() (l struct {
	t                                                             reflect.Type
	value, writable, configurable, enumerable, accessor, get, set int
}) {
	vm := goja.New()
	props := TemplateProps(vm.GlobalObject())
	if props == nil || (*props)["eval"] == nil {
		return l
	}
	t := reflect.TypeOf((*props)["eval"](vm))
	if t == nil || t.Kind() != reflect.Pointer || t.String() != "*goja.valueProperty" || t.Elem().Kind() != reflect.Struct {
		return l
	}
	want := []struct {
		name string
		typ  reflect.Type
		idx  *int
	}{
		{"value", reflect.TypeFor[goja.Value](), &l.value},
		{"writable", reflect.TypeFor[bool](), &l.writable},
		{"configurable", reflect.TypeFor[bool](), &l.configurable},
		{"enumerable", reflect.TypeFor[bool](), &l.enumerable},
		{"accessor", reflect.TypeFor[bool](), &l.accessor},
		{"getterFunc", typeObject, &l.get},
		{"setterFunc", typeObject, &l.set},
	}
	for _, w := range want {
		f, ok := t.Elem().FieldByName(w.name)
		if !ok || f.Type != w.typ || len(f.Index) != 1 {
			return l
		}
		*w.idx = f.Index[0]
	}
	l.t = t
	return l
})

// NewProp is a property with attributes for a template factory to return: a data property
// holding value (getter nil), or an accessor property whose getter is getter and has no
// setter (writable is then ignored). Nil if goja's layout is not the expected one.
func NewProp(value goja.Value, getter *goja.Object, writable, enumerable, configurable bool) goja.Value {
	l := propLayout()
	if l.t == nil {
		return nil
	}
	p := reflect.New(l.t.Elem())
	set := func(i int, v reflect.Value) {
		f := p.Elem().Field(i)
		reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Set(v)
	}
	if getter != nil {
		set(l.accessor, reflect.ValueOf(true))
		set(l.get, reflect.ValueOf(getter))
	} else {
		if value != nil {
			set(l.value, reflect.ValueOf(&value).Elem())
		}
		set(l.writable, reflect.ValueOf(writable))
	}
	set(l.enumerable, reflect.ValueOf(enumerable))
	set(l.configurable, reflect.ValueOf(configurable))
	v, _ := p.Interface().(goja.Value)
	return v
}
