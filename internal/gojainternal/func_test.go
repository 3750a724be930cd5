package gojainternal

import (
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"testing"
	"unsafe"

	"github.com/dop251/goja"
)

// TestFuncTemplate holds a FuncTemplate's function beside the one it stands for (its fallback:
// vm.ToValue with "name" and "length" redefined) through everything a script can observe of a
// function: each expression runs in a fresh runtime where f is one kind and g the other, and
// both runtimes must answer the same.
func TestFuncTemplate(t *testing.T) {
	if !templatedLayouts().fnOK {
		t.Fatal("goja's Object, templatedFuncObject or objectTemplate is not where FuncTemplate expects it: host functions fall back to ToValue")
	}
	exprs := []string{
		`typeof f`,
		`f.name + "/" + f.length`,
		`String(f)`,
		`Function.prototype.toString.call(f)`,
		`Object.prototype.toString.call(f)`,
		`Object.getPrototypeOf(f) === Function.prototype`,
		`f instanceof Function`,
		`f instanceof Object`,
		`JSON.stringify(Object.getOwnPropertyNames(f))`,
		`JSON.stringify(Reflect.ownKeys(f))`,
		`JSON.stringify(Object.keys(f))`,
		`JSON.stringify(Object.getOwnPropertyDescriptor(f, "name"))`,
		`JSON.stringify(Object.getOwnPropertyDescriptors(f))`,
		`f.hasOwnProperty("name") + "," + f.hasOwnProperty("length") + "," + f.hasOwnProperty("prototype")`,
		`"name" in f`,
		`f.prototype`,
		`f(1, 2)`,
		`f.call({}, 3)`,
		`f.apply(null, [4, 5])`,
		`Reflect.apply(f, null, [6])`,
		`var b = f.bind(null, 7); b.name + "/" + b.length + "/" + b(8)`,
		`try { new f(); "constructed" } catch (e) { e.constructor.name }`,
		`try { Reflect.construct(f, []); "constructed" } catch (e) { e.constructor.name }`,
		`delete f.name; f.name === "" && !f.hasOwnProperty("name")`,
		`delete f.length; f.length + "," + f.hasOwnProperty("length")`,
		`f.name = "x"; f.name`,
		`"use strict"; try { f.name = "x"; "assigned" } catch (e) { e.constructor.name }`,
		`Object.defineProperty(f, "name", {value: "renamed"}); f.name + String(f)`,
		`f.extra = 1; JSON.stringify(Object.getOwnPropertyNames(f))`,
		`f.extra = 1; JSON.stringify(Object.keys(f))`,
		`Object.freeze(f); Object.isFrozen(f) + "," + Object.isExtensible(f)`,
		`Object.preventExtensions(f); f.y = 1; f.y + "," + Object.isExtensible(f)`,
		`Object.seal(f); Object.isSealed(f) + "," + delete f.name`,
		`Object.setPrototypeOf(f, null); Object.getPrototypeOf(f) === null && typeof f.call`,
		`JSON.stringify({f: f, n: 1})`,
		`JSON.stringify([f])`,
		`var m = new Map([[f, 1]]); m.get(f)`,
		`f === f`,
		`typeof Object(f)`,
		`[f].map(function (x) { return typeof x })[0]`,
		`var o = {}; o[f] = 1; Object.keys(o)[0].slice(0, 9)`,
		`try { throw f } catch (e) { e === f }`,
		`var p = new Proxy(f, {}); typeof p + "," + p(9)`,
		`var s = ""; for (var k in f) s += k; s`,
		`Object.entries(f).length`,
		`Object.assign({}, f).name`,
		`structuredClone === undefined`,
	}
	tmpl := NewFuncTemplate("probe", 0)
	tmpl2 := NewFuncTemplate("probe2", 2)
	for _, tt := range []*FuncTemplate{tmpl, tmpl2} {
		for _, src := range exprs {
			got, want := evalWith(t, tt, src, false), evalWith(t, tt, src, true)
			if got != want {
				t.Errorf("%s/%d: %s\n  template: %s\n  ToValue:  %s", tt.name, tt.length, src, got, want)
			}
		}
	}
}

// evalWith runs src in a fresh runtime whose global f is tt's function (made by New, or by
// the fallback) and answers its result or its error's name and message.
func evalWith(t *testing.T, tt *FuncTemplate, src string, fallback bool) string {
	t.Helper()
	vm := goja.New()
	fn := func(call goja.FunctionCall) goja.Value {
		return vm.ToValue(fmt.Sprint("called with ", len(call.Arguments), " ", call.Arguments))
	}
	var f *goja.Object
	if fallback {
		f = tt.fallback(vm, fn)
	} else {
		_ = vm.Get("Function") // the runtime has its Function.prototype
		f = tt.New(vm, fn)
		if implOf(f).Type().String() != "*goja.templatedFuncObject" {
			t.Fatalf("New made %v, not a templated function", implOf(f).Type())
		}
	}
	return runWith(t, vm, "f", f, src)
}

// runWith runs src in vm with the global name set to v and answers its result, or what it
// threw.
func runWith(t *testing.T, vm *goja.Runtime, name string, v goja.Value, src string) string {
	t.Helper()
	if err := vm.Set(name, v); err != nil {
		t.Fatal(err)
	}
	r, err := vm.RunString(src)
	if err != nil {
		var ex *goja.Exception
		if errors.As(err, &ex) {
			return "throws " + ex.Value().String()
		}
		return "error " + err.Error()
	}
	return r.String()
}

// TestFuncTemplateHost is the Go side: Export, a Go panic raised as a JS exception with the
// function's name in the stack, the fallback before Function.prototype exists, and the
// functions collected with their runtime.
func TestFuncTemplateHost(t *testing.T) {
	tmpl := NewFuncTemplate("boom", 0)
	vm := goja.New()
	if RuntimeGlobal(vm, "FunctionPrototype") != nil {
		t.Fatal("goja.New made Function.prototype: the first-function case is not tested")
	}
	first := tmpl.New(vm, func(goja.FunctionCall) goja.Value { return nil })
	if implOf(first).Type().String() != "*goja.templatedFuncObject" || first.Get("name").String() != "boom" ||
		first.Prototype() == nil || first.Prototype() != RuntimeGlobal(vm, "FunctionPrototype") {
		t.Errorf("the runtime's first function: %v named %v", implOf(first).Type(), first.Get("name"))
	}
	f := tmpl.New(vm, func(goja.FunctionCall) goja.Value { panic(vm.NewTypeError("bad")) })
	if _, ok := f.Export().(func(goja.FunctionCall) goja.Value); !ok {
		t.Errorf("Export is %T", f.Export())
	}
	if err := vm.Set("boom", f); err != nil {
		t.Fatal(err)
	}
	v, err := vm.RunString(`try { boom() } catch (e) { e.name + ": " + e.message + " | " + e.stack }`)
	if err != nil || v.String() != "TypeError: bad | TypeError: bad\n\tat boom (native)\n\tat <eval>:1:11(3)\n" {
		t.Errorf("got %q, %v", v, err)
	}
	call, ok := goja.AssertFunction(f)
	if !ok {
		t.Fatal("AssertFunction: not a function")
	}
	if _, err := call(goja.Undefined()); err == nil {
		t.Error("a Go call of a throwing function returned no error")
	}
	// many functions in many runtimes, then nothing holds them
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < 200; i++ {
		r := goja.New()
		_ = r.Get("Function")
		for j := 0; j < 50; j++ {
			r.GlobalObject().Set(fmt.Sprint("f", j), tmpl.New(r, func(goja.FunctionCall) goja.Value { return nil }))
		}
		if _, err := r.RunString(`f1.name + f2.length + Object.keys(globalThis).length`); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 8<<20 {
		t.Errorf("heap grew %d bytes after 10,000 functions of dropped runtimes", grown)
	}
}

// TestReserveNames: the global object's own names, their order and what a script sees of
// them are the same with and without the early copy once a host has set a global (as a loop
// does before any script), the copy has the room asked for, and a second call does nothing.
func TestReserveNames(t *testing.T) {
	src := `var a = 1; function b() {} globalThis.c = 2; Object.defineProperty(globalThis, "d", {value: 3});
		delete globalThis.c; let e = 4;
		JSON.stringify(Object.getOwnPropertyNames(globalThis)) + JSON.stringify(Object.keys(globalThis)) + (typeof Array) + eval("1+1")`
	var got [2]string
	for i, reserve := range []bool{false, true} {
		vm := goja.New()
		if reserve {
			if !ReserveNames(vm.GlobalObject(), 24) {
				t.Fatal("ReserveNames made no copy on a fresh runtime")
			}
			names := field(implOf(vm.GlobalObject()), "propNames", reflect.Slice)
			if tmpl := TemplateNames(vm.GlobalObject()); names.Len() != len(*tmpl) || names.Cap() < len(*tmpl)+24 {
				t.Errorf("copy of %d names with cap %d, want %d names and room for 24", names.Len(), names.Cap(), len(*tmpl))
			}
			if ReserveNames(vm.GlobalObject(), 24) {
				t.Error("a second ReserveNames copied again")
			}
		}
		if err := vm.Set("print", 1); err != nil { // as a loop's first global (goja copies the template's names here)
			t.Fatal(err)
		}
		v, err := vm.RunString(src)
		if err != nil {
			t.Fatal(err)
		}
		got[i] = v.String()
	}
	if got[0] != got[1] {
		t.Errorf("without: %s\nwith:    %s", got[0], got[1])
	}
	if ReserveNames(goja.New().NewObject(), 1) {
		t.Error("ReserveNames copied names for an object with no template")
	}
}

// TestFieldOffset: the layouts' offsets are right through structs embedded by value, and a
// field promoted through an embedded pointer (in another allocation: the summed offset would
// point past the object) or of another type is refused, so New falls back rather than
// writing out of bounds after a goja upgrade.
func TestFieldOffset(t *testing.T) {
	type base struct {
		pad   [3]int64
		class string
	}
	type byValue struct {
		y int64
		z struct {
			x int64
			base
		}
	}
	type midPtr struct {
		x int64
		*base
	}
	type byPointer struct {
		y int64
		midPtr
	}
	type embedded struct {
		y int64
		byValue
	}
	var v embedded
	_ = []any{base{}.pad, byValue{}.y, midPtr{}.base, byPointer{}.y, v.y} // (fields that only shape the layouts)
	for _, tt := range []struct {
		name string
		t    reflect.Type
		want reflect.Type
		off  uintptr
		ok   bool
	}{
		{"class", reflect.TypeFor[base](), reflect.TypeFor[string](), unsafe.Offsetof(base{}.class), true},
		{"y", reflect.TypeFor[embedded](), reflect.TypeFor[int64](), 0, true},
		{"z", reflect.TypeFor[embedded](), reflect.TypeOf(v.z), unsafe.Offsetof(v.byValue) + unsafe.Offsetof(v.byValue.z), true},
		{"class", reflect.TypeFor[byPointer](), reflect.TypeFor[string](), 0, false},
		{"x", reflect.TypeFor[byPointer](), reflect.TypeFor[int64](), unsafe.Offsetof(byPointer{}.midPtr) + unsafe.Offsetof(midPtr{}.x), true},
		{"class", reflect.TypeFor[base](), reflect.TypeFor[int](), 0, false},
		{"nope", reflect.TypeFor[base](), reflect.TypeFor[string](), 0, false},
		{"class", reflect.TypeFor[*base](), reflect.TypeFor[string](), 0, false},
	} {
		off, ok := fieldOffset(tt.t, tt.name, tt.want)
		if ok != tt.ok || ok && off != tt.off {
			t.Errorf("fieldOffset(%v, %s) = %d, %v; want %d, %v", tt.t, tt.name, off, ok, tt.off, tt.ok)
		}
	}
	// and through goja's own embedding (templatedFuncObject > templatedObject > baseObject)
	vm := goja.New()
	impl := implOf(vm.Get("Object").(*goja.Object))
	off, ok := fieldOffset(impl.Type().Elem(), "class", reflect.TypeFor[string]())
	if !ok || impl.Elem().FieldByName("class").UnsafeAddr()-impl.Pointer() != off {
		t.Errorf("goja's class field: offset %d, %v", off, ok)
	}
}

// BenchmarkFuncTemplateNew: making a host function (every device makes 7 and a timer handle one
// per setTimeout(ms)) from a template, against the ToValue function it stands for.
func BenchmarkFuncTemplateNew(b *testing.B) {
	f := func(goja.FunctionCall) goja.Value { return nil }
	for _, bc := range []struct {
		name     string
		fallback bool
	}{{"template", false}, {"ToValue", true}} {
		b.Run(bc.name, func(b *testing.B) {
			vm, tm := goja.New(), NewFuncTemplate("wait", 0)
			tm.New(vm, f) // the template and Function.prototype
			b.ReportAllocs()
			for b.Loop() {
				if bc.fallback {
					tm.fallback(vm, f)
				} else {
					tm.New(vm, f)
				}
			}
		})
	}
}
