package runtime

import (
	"reflect"
	"unsafe"

	"github.com/dop251/goja"
	"github.com/dop251/goja/unistring"
)

// Go-side access to goja internals for the allocation guards (guard_alloc.go).
//
// goja builds each built-in of a runtime on first use from process-wide templates (a map
// from property name to a factory). The allocation guards must not make an idle VM heavier
// (building the typed array constructors costs 30 KiB per VM), so instead of wrapping
// built-ins in every VM they replace, once per process, the template factories of the few
// built-ins that allocate in proportion to a length the script controls: the replacement
// calls goja's factory and swaps the Go function inside the native function it made for a
// checked one. The JS objects are goja's own (same identity, name, length, attributes,
// prototype, subclassing); a VM that never touches them pays nothing.
//
// goja exports none of this, so it is reached with reflect (names and types checked once,
// in gojaLayoutOK) and unsafe (only to write fields whose types were checked).
// If a goja upgrade changes any of it the guards are off (never a misread field) and
// TestAllocGuardsOn fails.

// gojaFactory is goja's templatePropFactory.
type gojaFactory = func(*goja.Runtime) goja.Value

// gojaNative is the Go function of a goja native function, gojaConstruct its constructor.
type (
	gojaNative    = func(goja.FunctionCall) goja.Value
	gojaConstruct = func(args []goja.Value, newTarget *goja.Object) *goja.Object
)

var (
	typeObject    = reflect.TypeOf((*goja.Object)(nil))
	typeFactory   = reflect.TypeOf(gojaFactory(nil))
	typeNative    = reflect.TypeOf(gojaNative(nil))
	typeConstruct = reflect.TypeOf(gojaConstruct(nil))
	typeKey       = reflect.TypeOf(unistring.String(""))
)

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

// field is the field name of the struct impl points to if it has type t, else invalid.
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

// templateProps is the property-factory map of the template behind o (a templated goja
// object: the global object, Array.prototype, Function.prototype), or nil.
func templateProps(o *goja.Object) *map[unistring.String]gojaFactory {
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
	return (*map[unistring.String]gojaFactory)(unsafe.Pointer(props.UnsafeAddr()))
}

// templateNames is the property-name list (in creation order) of the template behind o, or
// nil; see templateProps.
func templateNames(o *goja.Object) *[]unistring.String {
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

// nativeSlots are the Go function and constructor fields of o if o is a plain goja native
// function (nativeFuncObject), else nils.
func nativeSlots(o *goja.Object) (f *gojaNative, construct *gojaConstruct) {
	impl := implOf(o)
	if !impl.IsValid() || impl.Type().String() != "*goja.nativeFuncObject" {
		return nil, nil
	}
	ff, cf := field(impl, "f", reflect.Func), field(impl, "construct", reflect.Func)
	if !ff.IsValid() || ff.Type() != typeNative || !cf.IsValid() || cf.Type() != typeConstruct {
		return nil, nil
	}
	return (*gojaNative)(unsafe.Pointer(ff.UnsafeAddr())), (*gojaConstruct)(unsafe.Pointer(cf.UnsafeAddr()))
}

// propObject is the object a template factory made: the value itself, or the value of the
// goja valueProperty (attributes) around it. Nil for anything else.
func propObject(v goja.Value) *goja.Object {
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

// runtimeGlobal is the intrinsic name (goja's per-runtime cache: "ArrayBuffer",
// "TypedArray") of r, or nil when goja has not built it yet.
func runtimeGlobal(r *goja.Runtime, name string) *goja.Object {
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

// denseArray reports whether v is an Array goja sorts, applies and copies in place: its own
// array object with every index from 0 to length-1 present as a plain value (no holes, no
// accessors). Such an array already holds its 16 bytes per element.
func denseArray(v goja.Value) bool {
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

// typedArrayLength is the length of v if it is a typed array (read from goja's field, not
// from the length getter a script can replace), else -1.
func typedArrayLength(v goja.Value) float64 {
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

// gojaLayoutOK reports whether every goja internal the guards use is where they expect it,
// on a throwaway runtime.
func gojaLayoutOK() bool {
	vm := goja.New()
	fp := vm.ToValue(func(goja.FunctionCall) goja.Value { return nil }).(*goja.Object).Prototype()
	if templateProps(vm.GlobalObject()) == nil || templateProps(vm.NewArray().Prototype()) == nil || templateProps(fp) == nil {
		return false
	}
	ab := vm.Get("ArrayBuffer").(*goja.Object)
	if f, c := nativeSlots(ab); f == nil || c == nil || runtimeGlobal(vm, "ArrayBuffer") != ab {
		return false
	}
	if f, _ := nativeSlots(vm.NewArray().Prototype().Get("sort").(*goja.Object)); f == nil {
		return false
	}
	u8 := vm.Get("Uint8Array").(*goja.Object)
	if runtimeGlobal(vm, "TypedArray") != u8.Prototype() {
		return false
	}
	ta, err := vm.New(u8, vm.ToValue(3))
	if err != nil || typedArrayLength(ta) != 3 {
		return false
	}
	dense, holey := vm.NewArray(1, 2), vm.NewArray()
	if err := holey.Set("length", 5); err != nil {
		return false
	}
	return denseArray(dense) && !denseArray(holey) && propObject(vm.Get("Reflect")) != nil
}
