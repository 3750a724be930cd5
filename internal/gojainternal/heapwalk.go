package gojainternal

import (
	"reflect"
	"sync"
	"unsafe"

	"github.com/dop251/goja"
)

// walkMaxNodes bounds one walk (a safety net; the caller's limit bounds it first).
const walkMaxNodes = 1 << 26

// HeapWalker sizes the Go values reachable from its roots (a runtime, JS values) with an
// explicit stack (a linked list of a million objects must not recurse a million Go frames),
// entering goja's own types only, unexported fields included. It counts each allocation once
// (by address), slices by capacity, maps by entry, strings by length (strings under 64 bytes
// each time they are reached). Use it on the runtime's goroutine.
type HeapWalker struct {
	w walker
}

// NewHeapWalker returns a walk that stops once it has counted more than limit bytes; hint
// sizes its set of the addresses seen (about one per 100 bytes walked).
func NewHeapWalker(hint int, limit int64) *HeapWalker {
	return &HeapWalker{walker{seen: make(map[uintptr]struct{}, hint), limit: limit}}
}

// PushRuntime adds vm (its global object and built-ins, its stack and scopes) as a root.
func (h *HeapWalker) PushRuntime(vm *goja.Runtime) { h.w.push(reflect.ValueOf(vm)) }

// PushValue adds the JS value v as a root (boxed, as a goja.Value holds it).
func (h *HeapWalker) PushValue(v goja.Value) { h.w.push(reflect.ValueOf(&v).Elem()) }

// PushObject adds o as a root.
func (h *HeapWalker) PushObject(o *goja.Object) { h.w.push(reflect.ValueOf(o)) }

// PushValues adds the slice vals (its backing array and every value) as a root.
func (h *HeapWalker) PushValues(vals []goja.Value) { h.w.push(reflect.ValueOf(vals)) }

// Run walks everything reachable from the roots and returns the bytes counted.
func (h *HeapWalker) Run() int64 {
	h.w.run()
	return h.w.total
}

// walker sizes the Go values reachable from its roots with an explicit stack (a linked list
// of a million objects must not recurse a million Go frames).
type walker struct {
	seen  map[uintptr]struct{}
	stack []reflect.Value
	total int64
	limit int64
	nodes int
	plans map[reflect.Type]*typePlan // the walk's own cache of plans
}

func (w *walker) push(v reflect.Value) {
	if v.IsValid() {
		w.stack = append(w.stack, v)
	}
}

// once reports whether p is seen for the first time.
func (w *walker) once(p uintptr) bool {
	if p == 0 {
		return false
	}
	if _, ok := w.seen[p]; ok {
		return false
	}
	w.seen[p] = struct{}{}
	return true
}

func (w *walker) run() {
	for len(w.stack) > 0 && w.total <= w.limit && w.nodes < walkMaxNodes {
		v := w.stack[len(w.stack)-1]
		w.stack = w.stack[:len(w.stack)-1]
		w.nodes++
		w.visit(v)
	}
}

// visit counts what v points to (v's own bytes are counted by what holds it) and queues the
// values inside it.
func (w *walker) visit(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		p := w.plan(v.Type())
		if v.IsNil() || !p.elemWalk || !w.once(v.Pointer()) {
			return
		}
		w.total += allocSize(p.elemSize)
		w.push(v.Elem())
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		e := v.Elem()
		p := w.plan(e.Type())
		if !p.walk {
			return
		}
		switch e.Kind() {
		case reflect.Pointer, reflect.Map, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		default:
			w.total += allocSize(p.size) // boxed
		}
		if p.ptrs {
			w.push(e)
		}
	case reflect.String:
		if n := v.Len(); n >= 64 {
			if w.once(uintptr(unsafe.Pointer(unsafe.StringData(v.String())))) {
				w.total += allocSize(int64(n))
			}
		} else {
			w.total += allocSize(int64(n))
		}
	case reflect.Slice:
		if v.IsNil() || !w.once(v.Pointer()) {
			return
		}
		p := w.plan(v.Type())
		w.total += allocSize(int64(v.Cap()) * p.elemSize)
		if p.elemWalk {
			for i := v.Len() - 1; i >= 0; i-- {
				w.push(v.Index(i))
			}
		}
	case reflect.Array:
		if p := w.plan(v.Type()); p.elemWalk {
			for i := v.Len() - 1; i >= 0; i-- {
				w.push(v.Index(i))
			}
		}
	case reflect.Map:
		if v.IsNil() || !w.once(v.Pointer()) {
			return
		}
		p := w.plan(v.Type())
		w.total += mapSize(v.Len(), p.keySize+p.elemSize)
		if !p.keyWalk && !p.elemWalk {
			return
		}
		it := v.MapRange()
		for it.Next() {
			if p.keyWalk {
				w.push(it.Key())
			}
			if p.elemWalk {
				w.push(it.Value())
			}
		}
	case reflect.Struct:
		for _, i := range w.plan(v.Type()).fields {
			w.push(v.Field(i))
		}
	}
}

// mapSize is the bytes of a Go map (Swiss tables) of n entries of slot bytes each: a header
// and groups of 8 slots and 8 control bytes, at most 7/8 full (one group up to 8 entries).
func mapSize(n int, slot int64) int64 {
	groups := int64(1)
	if n > 8 {
		for groups*7 < int64(n) {
			groups *= 2
		}
	}
	return 48 + allocSize(groups*(8*slot+8))
}

// allocSize is n rounded up as Go's allocator does: to its size class up to 32 KiB, to pages
// above.
func allocSize(n int64) int64 {
	switch {
	case n <= 0:
		return 0
	case n <= 8:
		return 8
	case n <= 32<<10:
		for _, c := range sizeClasses {
			if n <= c {
				return c
			}
		}
	}
	return (n + 8191) &^ 8191
}

// sizeClasses are Go's small object size classes (runtime/sizeclasses.go).
var sizeClasses = [...]int64{8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224,
	240, 256, 288, 320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280,
	1408, 1536, 1792, 2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528, 6784, 6912,
	8192, 9472, 9728, 10240, 10880, 12288, 13568, 14336, 16384, 18432, 19072, 20480, 21760, 24576,
	27264, 28672, 32768}

// skipField are goja fields the walk must not read: written from other goroutines
// (interruptVal, under a lock the walk does not take) or shared by the process (tmpl, the
// built-ins' templates, which the guards patch: iterating a map another goroutine writes is
// fatal).
var skipField = map[string]bool{
	"interruptVal": true, "interruptLock": true, "profTracker": true, "tmpl": true,
	"fieldsInfoCache": true, "methodsInfoCache": true, "_collator": true,
}

// walkPkgs are the packages whose types the walk enters: goja's own. Values of other packages
// (reflect.Value inside a wrapped Go object, a host's struct, a mutex, a regexp engine) are
// not entered: the host's memory is not the device's, and other goroutines may write it.
var walkPkgs = map[string]bool{
	"github.com/dop251/goja":           true,
	"github.com/dop251/goja/unistring": true,
	"github.com/dop251/goja/file":      true,
}

// typePlan is what the walk needs to know of a type, computed once per process.
type typePlan struct {
	ptrs, walk        bool  // its values hold pointers; the walk may enter it
	size              int64 // its size
	elemSize, keySize int64 // pointer, slice, array, map: the element's (and key's) size
	elemWalk, keyWalk bool  // ... and whether to enter them (they hold pointers and are walkable)
	fields            []int // struct: the fields to enter
}

// plans caches typePlans for every walker of the process.
var plans sync.Map // reflect.Type -> *typePlan

// plan is t's typePlan.
func (w *walker) plan(t reflect.Type) *typePlan {
	if p, ok := w.plans[t]; ok {
		return p
	}
	var p *typePlan
	if v, ok := plans.Load(t); ok {
		p = v.(*typePlan)
	} else {
		p = makePlan(t)
		plans.Store(t, p)
	}
	if w.plans == nil {
		w.plans = map[reflect.Type]*typePlan{}
	}
	w.plans[t] = p
	return p
}

func makePlan(t reflect.Type) *typePlan {
	p := &typePlan{ptrs: typePointers(t), walk: typeWalkable(t, map[reflect.Type]bool{}), size: int64(t.Size())}
	enter := func(e reflect.Type) bool { return typePointers(e) && typeWalkable(e, map[reflect.Type]bool{}) }
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		p.elemSize, p.elemWalk = int64(t.Elem().Size()), enter(t.Elem())
	case reflect.Map:
		p.keySize, p.keyWalk = int64(t.Key().Size()), enter(t.Key())
		p.elemSize, p.elemWalk = int64(t.Elem().Size()), enter(t.Elem())
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if f := t.Field(i); !skipField[f.Name] && enter(f.Type) {
				p.fields = append(p.fields, i)
			}
		}
	}
	return p
}

// typePointers reports whether t's values contain pointers (strings, slices, maps,
// interfaces, pointers included).
func typePointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.String, reflect.Slice, reflect.Map:
		return true
	case reflect.Array:
		return t.Len() > 0 && typePointers(t.Elem())
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if typePointers(t.Field(i).Type) {
				return true
			}
		}
	}
	return false
}

// typeWalkable reports whether the walk may enter t: a type of goja's or a built-in one made
// of such types. Funcs, channels and unsafe pointers are never entered.
func typeWalkable(t reflect.Type, busy map[reflect.Type]bool) bool {
	if t.Name() != "" && t.PkgPath() != "" && !walkPkgs[t.PkgPath()] {
		return false
	}
	if busy[t] {
		return true
	}
	busy[t] = true
	switch t.Kind() {
	case reflect.Func, reflect.Chan, reflect.UnsafePointer:
		return false
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return typeWalkable(t.Elem(), busy)
	case reflect.Map:
		return typeWalkable(t.Key(), busy) && typeWalkable(t.Elem(), busy)
	}
	return true // interfaces are checked by their dynamic type; structs field by field
}
