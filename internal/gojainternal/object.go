package gojainternal

import (
	"reflect"
	"sync"
	"unsafe"

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
	l, fl := objectLayout(), funcLayout()
	op := RuntimeGlobal(vm, "ObjectPrototype")
	if !l.ok || !fl.ok || op == nil {
		return eagerObject(vm, names, value)
	}
	tmpl := reflect.New(fl.tmplT)
	props := reflect.MakeMapWithSize(fl.propsT, len(names))
	for i, n := range names {
		f := Factory(func(*goja.Runtime) goja.Value { return value(i) })
		props.SetMapIndex(reflect.ValueOf(n), reflect.ValueOf(f).Convert(fl.propsT.Elem()))
	}
	setField(tmpl.Elem(), fl.tmplProps, props)
	setField(tmpl.Elem(), fl.tmplNames, reflect.ValueOf(names))

	obj := (*goja.Object)(reflect.New(fl.objT).UnsafePointer())
	implV := reflect.New(l.implT)
	ip := implV.UnsafePointer()
	*(*string)(unsafe.Add(ip, l.class)) = l.className
	*(**goja.Object)(unsafe.Add(ip, l.val)) = obj
	*(**goja.Object)(unsafe.Add(ip, l.proto)) = op
	*(*bool)(unsafe.Add(ip, l.extensible)) = true
	*(*map[unistring.String]goja.Value)(unsafe.Add(ip, l.values)) = make(map[unistring.String]goja.Value)
	*(*unsafe.Pointer)(unsafe.Add(ip, l.tmpl)) = tmpl.UnsafePointer()
	*(*bool)(unsafe.Add(ip, l.protoDone)) = true
	*(**goja.Runtime)(unsafe.Add(unsafe.Pointer(obj), fl.runtime)) = vm
	reflect.NewAt(fl.selfT, unsafe.Add(unsafe.Pointer(obj), fl.self)).Elem().Set(implV)
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

// objectLayout is where NewLazyObject writes in goja's templatedObject (its baseObject's class,
// val, prototype, extensible and values; tmpl; protoMaterialised), found once from the global
// object (a templated object). Object and objectTemplate are funcLayout's.
var objectLayout = sync.OnceValue(func() (l struct {
	ok                            bool
	implT                         reflect.Type
	className                     string
	class, val, proto, extensible uintptr
	values, tmpl, protoDone       uintptr
}) {
	vm := goja.New()
	impl, fl := implOf(vm.NewObject()), funcLayout()
	global := implOf(vm.GlobalObject())
	if !fl.ok || !impl.IsValid() || !global.IsValid() || global.Type().String() != "*goja.templatedObject" ||
		!global.Type().Implements(fl.selfT) {
		return l
	}
	class := field(impl, "class", reflect.String) // a plain object's class, "Object"
	if !class.IsValid() {
		return l
	}
	l.implT, l.className = global.Type().Elem(), class.String()
	tmplF, ok := l.implT.FieldByName("tmpl")
	if !ok || tmplF.Type.Kind() != reflect.Pointer || tmplF.Type.Elem() != fl.tmplT {
		return l
	}
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
		{"tmpl", tmplF.Type, &l.tmpl},
		{"protoMaterialised", reflect.TypeFor[bool](), &l.protoDone},
	} {
		off, ok := fieldOffset(l.implT, f.name, f.want)
		if !ok {
			return l
		}
		*f.off = off
	}
	l.ok = true
	return l
})
