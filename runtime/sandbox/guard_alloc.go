package sandbox

import (
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"weak"

	"github.com/dop251/goja"
	"github.com/dop251/goja/unistring"

	"github.com/devicejs/devicejs/internal/gojainternal"
)

// The allocation guards: the goja built-ins that make one Go allocation sized by a length
// the script controls (an array-like's length, a typed array or buffer length), checked
// before goja allocates, in every VM of the process (see guard_lazy.go and internal/gojainternal for how they
// are installed at no cost per VM). A call that would allocate:
//   - more than the loop's memory budget (MaxMemory or MemoryGuardBudget) ends the run
//     with the budget error, uncatchable, as the other memory guards do (overBudget);
//   - otherwise more than AllocationCap() bytes throws a catchable RangeError, as V8 does
//     for an allocation that fails: goja would ask Go for it in one piece, and when the
//     machine cannot map it Go aborts the whole process ("fatal error: runtime: out of
//     memory"), which no recover and no budget can stop.
//
// See "Limits" in docs/runtime.md for the list and the estimates.

// allocGuardsOn reports whether the template factories were replaced (gojaLayoutOK). Set by
// patchGuardTemplates.
var allocGuardsOn bool

// guardTemplates patches goja's templates once per process, at init (and registerLazyGuards
// and the tests call patchGuardTemplates again, a no-op then). goja's templates are shared by
// every goja.Runtime of the process: patching them when the first loop is made, as before,
// wrote those maps while a Go host's own goja runtimes, on other goroutines, could be reading
// them (a data race; Go may abort the process on a map written and read at once). At init no
// other goroutine of the program runs yet. The cost is the check and the patches' throwaway
// runtimes and typed arrays (~1.3 ms of CPU), paid by every process that imports the sandbox,
// also one that runs no script.
var guardTemplates sync.Once

func init() { patchGuardTemplates() }

// patchGuardTemplates installs the allocation guards' and the lazy sandbox guards' template
// factories, once. Safe from any goroutine.
func patchGuardTemplates() {
	guardTemplates.Do(func() {
		allocGuardsOn = gojainternal.TemplatesOK() && patchTemplates()
		lazyGuardsOn = allocGuardsOn && patchSandboxTemplates() // guard_lazy.go
	})
}

// elemSizes are the typed array constructors and their bytes per element.
var elemSizes = map[string]float64{
	"Int8Array": 1, "Uint8Array": 1, "Uint8ClampedArray": 1, "Int16Array": 2, "Uint16Array": 2,
	"Int32Array": 4, "Uint32Array": 4, "Float32Array": 4, "Float64Array": 8, "BigInt64Array": 8, "BigUint64Array": 8,
}

// arrayMethods are the Array.prototype methods that copy this (or, for sort, collect the
// elements of anything but a dense Array) into one slice of length slots.
var arrayMethods = []string{"sort", "toSorted", "toReversed", "with", "toSpliced"}

// patchTemplates replaces the factories of the guarded built-ins in goja's process-wide
// templates (at init, before any runtime builds a built-in; see guardTemplates).
func patchTemplates() bool {
	vm := goja.New()
	global := gojainternal.TemplateProps(vm.GlobalObject())
	array := gojainternal.TemplateProps(vm.NewArray().Prototype())
	function := gojainternal.TemplateProps(vm.ToValue(func(goja.FunctionCall) goja.Value { return nil }).(*goja.Object).Prototype())
	if global == nil || array == nil || function == nil {
		return false
	}
	// patch replaces m[name] with a factory that calls goja's and then after on the object
	// it made.
	patch := func(m map[unistring.String]gojainternal.Factory, name string, after func(r *goja.Runtime, o *goja.Object, fresh bool)) bool {
		orig := m[unistring.String(name)]
		if orig == nil {
			return false
		}
		m[unistring.String(name)] = func(r *goja.Runtime) goja.Value {
			fresh := gojainternal.RuntimeGlobal(r, "TypedArray") == nil
			v := orig(r)
			if o := gojainternal.PropObject(v); o != nil {
				after(r, o, fresh && gojainternal.RuntimeGlobal(r, "TypedArray") != nil)
			}
			return v
		}
		return true
	}
	ok := true
	for name, size := range elemSizes {
		ok = ok && patch(*global, name, func(r *goja.Runtime, o *goja.Object, fresh bool) { guardTypedArrayCtor(r, o, name, size, fresh) })
	}
	ok = ok && patch(*global, "ArrayBuffer", func(r *goja.Runtime, o *goja.Object, _ bool) { guardArrayBufferCtor(r, o) })
	ok = ok && patch(*global, "Reflect", func(r *goja.Runtime, o *goja.Object, _ bool) {
		guardMethod(r, o, "apply", "Reflect.apply", listArg2)
		guardMethod(r, o, "construct", "Reflect.construct", listArg1)
	})
	ok = ok && patch(*function, "apply", func(r *goja.Runtime, o *goja.Object, _ bool) {
		guardNative(r, o, "Function.prototype.apply", listArg1)
	})
	for _, name := range arrayMethods {
		ok = ok && patch(*array, name, func(r *goja.Runtime, o *goja.Object, _ bool) {
			guardNative(r, o, "Array.prototype."+name, arrayCopy(name))
		})
	}
	return ok
}

// An estimator is the bytes a call will allocate in one piece (0: not estimated), and the
// message of the RangeError for more than AllocationCap, and the call to make: call, or call
// with its This or an argument (in a copy of call.Arguments) replaced by fixedLength's Proxy.
type estimator func(r *goja.Runtime, call goja.FunctionCall) (need float64, rangeMsg string, fixed goja.FunctionCall)

// guardMethod guards the native function o[name] (an own data property made by goja).
func guardMethod(r *goja.Runtime, o *goja.Object, name, what string, est estimator) {
	if m, ok := o.Get(name).(*goja.Object); ok {
		guardNative(r, m, what, est)
	}
}

// guardNative swaps the Go function of the native function o for a checked one.
func guardNative(r *goja.Runtime, o *goja.Object, what string, est estimator) {
	f, _ := gojainternal.NativeSlots(o)
	if f == nil || *f == nil {
		return
	}
	orig := *f
	*f = func(call goja.FunctionCall) goja.Value {
		this := call.This
		need, msg, call := est(r, call)
		if need >= guardMinBytes && stopAlloc(r, what, need, msg) {
			return goja.Undefined()
		}
		// (Values are compared as *goja.Object only: goja's string values can be slices.)
		res := orig(call)
		if p, ok := call.This.(*goja.Object); ok && goja.Value(p) != this && res == goja.Value(p) {
			return this // sort returns its this: the object, not fixedLength's Proxy of it
		}
		return res
	}
}

// fixedLength fixes the length of v, an array-like object that is not an Array, for one call
// of a built-in that reads it: it reads length once, as LengthOfArrayLike does (a getter, a
// Proxy's trap or valueOf runs here, once), and returns it with a Proxy of v that answers
// that length without running script code (every other property is read from v). goja reads
// length again when it runs: a length that answered the guard 1 and goja 2^32-1 (a getter or
// trap counting its calls, a valueOf) passed the estimate, and goja asked Go for 64 GiB in
// one piece, a Go fatal error (issue 17, found again 2026-12-06). Anything else (an Array,
// whose length is its own number; a primitive) needs no Proxy: nil.
func fixedLength(r *goja.Runtime, v goja.Value) (float64, *goja.Object) {
	o, ok := v.(*goja.Object)
	if !ok {
		return listLength(v), nil
	}
	if n := arrayLength(v); n >= 0 {
		return n, nil
	}
	l := orUndefined(o.Get("length"))
	if isObject(l) {
		l = l.ToNumber()
	}
	p := r.NewProxy(o, &goja.ProxyTrapConfig{Get: func(t *goja.Object, k string, _ goja.Value) goja.Value {
		if k == "length" {
			return l
		}
		return orUndefined(t.Get(k))
	}})
	return l.ToFloat(), r.ToValue(p).(*goja.Object)
}

// fixArg replaces argument i of call by fixedLength's Proxy, in a copy of the arguments
// (goja's are its stack), and returns the length.
func fixArg(r *goja.Runtime, call *goja.FunctionCall, i int) float64 {
	n, p := fixedLength(r, call.Argument(i))
	if p != nil {
		call.Arguments = append([]goja.Value(nil), call.Arguments...)
		call.Arguments[i] = p
	}
	return n
}

// guardConstruct swaps the constructor of the native constructor o for a checked one,
// unless it already is one (guarded reports that by its code).
// est may replace an argument in a copy of args, which it returns (goja's args are its stack).
func guardConstruct(r *goja.Runtime, o *goja.Object, what string, est func(args []goja.Value) (float64, string, []goja.Value)) {
	_, c := gojainternal.NativeSlots(o)
	if c == nil || *c == nil || guardedCtors.has(*c) {
		return
	}
	orig := *c
	g := func(args []goja.Value, newTarget *goja.Object) *goja.Object {
		need, msg, args := est(args)
		if need >= guardMinBytes && stopAlloc(r, what, need, msg) {
			return r.NewObject()
		}
		return orig(args, newTarget)
	}
	guardedCtors.add(g)
	*c = g
}

// guardedCtors records the code of the checked constructors (all closures of one function
// literal share it), so that the ArrayBuffer constructor, reached by two routes, is checked
// once.
var guardedCtors ctorCodes

// ctorCodes is shared by every runtime of the process (loops run on many goroutines): code is
// set once and read atomically.
type ctorCodes struct {
	code atomic.Uintptr
}

func (c *ctorCodes) add(f gojainternal.Construct) {
	c.code.CompareAndSwap(0, reflect.ValueOf(f).Pointer())
}

func (c *ctorCodes) has(f gojainternal.Construct) bool {
	code := c.code.Load()
	return code != 0 && reflect.ValueOf(f).Pointer() == code
}

// guardTypedArrayCtor checks the typed array constructor o (name, size bytes per element)
// and the ArrayBuffer constructor (goja builds it without the global when it makes a
// buffer); when fresh (the first typed array constructor built in r, which built the
// TypedArray intrinsic), TypedArray.from too.
func guardTypedArrayCtor(r *goja.Runtime, o *goja.Object, name string, size float64, fresh bool) {
	guardConstruct(r, o, name, func(args []goja.Value) (float64, string, []goja.Value) {
		n, p := typedArrayBytes(r, argAt(args, 0), size)
		if p != nil {
			args = append([]goja.Value{p}, args[1:]...)
		}
		return n, "Invalid typed array length", args
	})
	if ta := o.Prototype(); fresh && ta != nil {
		guardMethod(r, ta, "from", "TypedArray.from", func(_ *goja.Runtime, call goja.FunctionCall) (float64, string, goja.FunctionCall) {
			// The typed array itself is made by the (checked) constructor (from reads an
			// array-like's length once, and the constructor checks that number); an Array
			// source is first collected into a list of 16-byte slots.
			if n := arrayLength(call.Argument(0)); n > 0 && !gojainternal.DenseArray(call.Argument(0)) {
				return n * slotBytes, "Invalid array length", call
			}
			return 0, "", call
		})
	}
	r.NewArrayBuffer(nil) // builds the ArrayBuffer constructor if goja has not yet
	if ab := gojainternal.RuntimeGlobal(r, "ArrayBuffer"); ab != nil {
		guardArrayBufferCtor(r, ab)
	}
}

// guardArrayBufferCtor checks new ArrayBuffer(length).
func guardArrayBufferCtor(r *goja.Runtime, o *goja.Object) {
	guardConstruct(r, o, "ArrayBuffer", func(args []goja.Value) (float64, string, []goja.Value) {
		if len(args) > 0 && isObject(args[0]) {
			// ToIndex converts it (valueOf may run) once: goja gets the number, so that a
			// valueOf cannot answer the guard 0 and goja 2^35.
			args = append([]goja.Value{args[0].ToNumber()}, args[1:]...)
		}
		return primitiveLength(argAt(args, 0)), "Array buffer allocation failed", args
	})
}

// typedArrayBytes estimates what new XArray(arg) allocates at size bytes per element: a
// length, an Array (collected into a list first unless dense), an array-like (an object
// without Symbol.iterator; returned as fixedLength's Proxy, for the constructor) or another
// typed array. A buffer is viewed, not copied; other iterables are not estimated.
func typedArrayBytes(r *goja.Runtime, arg goja.Value, size float64) (float64, *goja.Object) {
	if _, isObj := arg.(*goja.Object); !isObj {
		return primitiveLength(arg) * size, nil
	}
	if n := gojainternal.TypedArrayLength(arg); n >= 0 {
		return n * size, nil
	}
	if n := arrayLength(arg); n >= 0 {
		if gojainternal.DenseArray(arg) {
			return n * size, nil
		}
		return n * (size + slotBytes), nil
	}
	o := arg.(*goja.Object)
	if o.ExportType() == typeArrayBuffer || !goja.IsUndefined(orUndefined(o.GetSymbol(goja.SymIterator))) {
		return 0, nil
	}
	n, p := fixedLength(r, arg)
	return n * size, p
}

var typeArrayBuffer = reflect.TypeOf(goja.ArrayBuffer{})

// primitiveLength is a length argument that is a number, string or boolean, as ToIndex
// converts it (no script code runs), or 0 (undefined, objects, symbols, bigints, values
// ToIndex rejects, negative or over 2^53-1: goja's own checks apply).
func primitiveLength(v goja.Value) float64 {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return 0
	}
	switch v.ExportType().Kind() {
	case reflect.Int64, reflect.Float64, reflect.String, reflect.Bool:
	default:
		return 0
	}
	f := v.ToFloat()
	if math.IsNaN(f) || f < 0 || f > 1<<53-1 {
		return 0
	}
	return math.Trunc(f)
}

// listArg estimates the argument list apply builds from argument i: a slot per index of an
// array-like, none for a dense Array (goja passes its elements as they are).
func listArg(i int) estimator {
	return func(r *goja.Runtime, call goja.FunctionCall) (float64, string, goja.FunctionCall) {
		if n := fixArg(r, &call, i); n*slotBytes >= guardMinBytes && !gojainternal.DenseArray(call.Argument(i)) {
			return n * slotBytes, "Invalid array length", call
		}
		return 0, "", call
	}
}

// The estimators of apply (argument 1) and Reflect.apply (argument 2), made once.
var listArg1, listArg2 = listArg(1), listArg(2)

// arrayCopy estimates an Array.prototype method that copies this into one slice of length
// slots: sort (in place for a dense Array; otherwise it collects the elements into a slice
// allocated for the whole length, holes included), toSorted, toReversed, with, toSpliced.
// A comparator that is not a function is left to goja (it throws before reading length).
func arrayCopy(name string) estimator {
	return func(r *goja.Runtime, call goja.FunctionCall) (float64, string, goja.FunctionCall) {
		if name == "sort" || name == "toSorted" {
			if c := call.Argument(0); !goja.IsUndefined(c) {
				if _, ok := goja.AssertFunction(c); !ok {
					return 0, "", call
				}
			}
		}
		n, p := fixedLength(r, call.This)
		if p != nil {
			call.This = p
		}
		if name == "toSpliced" {
			n += float64(max(len(call.Arguments)-2, 0))
		}
		if n*slotBytes < guardMinBytes || name == "sort" && gojainternal.DenseArray(call.This) {
			return 0, "", call
		}
		return n * slotBytes, "Invalid array length", call
	}
}

// stopAlloc decides a call of what estimated to allocate need bytes: past the budget of
// the loop that owns r, the run ends with the budget error (it returns true, the call must
// not go on); past AllocationCap it throws a catchable RangeError (msg).
func stopAlloc(r *goja.Runtime, what string, need float64, msg string) bool {
	if sb := loopOf(r); sb != nil && sb.overBudget(what, need) {
		return true
	}
	if need > float64(AllocationCap()) {
		ctor := r.GlobalObject().Get("RangeError")
		obj, err := r.New(ctor, r.ToValue(msg+": "+what+" would allocate "+mib(uint64(min(need, math.MaxInt64)))+
			" in one piece, over the limit of "+mib(uint64(AllocationCap()))))
		if err != nil {
			panic(err)
		}
		panic(obj)
	}
	return false
}

// budgetLoops maps the runtime of each loop with a memory budget (by address) to its loop,
// for the allocation guards, which goja calls with the runtime only. The loop is held weakly:
// an entry keeps nothing alive; entries of collected loops are swept when the map has doubled
// since the last sweep. A runtime at the address of a collected one is told apart by sb.vm.
var budgetLoops struct {
	sync.Mutex
	m         map[uintptr]weak.Pointer[Sandbox]
	nextSweep int
}

// registerBudget makes sb's budget apply to the allocation guards of its VM. VM goroutine only.
func (sb *Sandbox) registerBudget() {
	wp := weak.Make(sb)
	budgetLoops.Lock()
	defer budgetLoops.Unlock()
	if budgetLoops.m == nil {
		budgetLoops.m = map[uintptr]weak.Pointer[Sandbox]{}
	}
	if len(budgetLoops.m) >= budgetLoops.nextSweep {
		for k, v := range budgetLoops.m {
			if v.Value() == nil {
				delete(budgetLoops.m, k)
			}
		}
		budgetLoops.nextSweep = 2*len(budgetLoops.m) + 1024
	}
	budgetLoops.m[gojainternal.RuntimeKey(sb.vm)] = wp
}

// loopOf is the loop with a budget that owns r, or nil.
func loopOf(r *goja.Runtime) *Sandbox {
	budgetLoops.Lock()
	wp, ok := budgetLoops.m[gojainternal.RuntimeKey(r)]
	budgetLoops.Unlock()
	if sb := wp.Value(); ok && sb != nil && sb.vm == r {
		return sb
	}
	return nil
}

// AllocationCap is the largest single allocation, in bytes, that the allocation guards let
// a built-in make when no memory budget stops it first: half the memory of the machine
// (MemTotal in /proc/meminfo, or the cgroup's memory limit if lower), or 4 GiB where neither
// can be read. Read once. Safe from any goroutine.
func AllocationCap() int64 {
	capOnce.Do(func() {
		total := meminfoTotal()
		if lim := cgroupLimit(); lim > 0 && (total == 0 || lim < total) {
			total = lim
		}
		if total <= 0 {
			allocCap = 4 << 30
			return
		}
		allocCap = total / 2
	})
	return allocCap
}

var (
	capOnce  sync.Once
	allocCap int64
)

// meminfoTotal is MemTotal in bytes, 0 if unknown.
func meminfoTotal() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// cgroupLimit is the memory limit of the process's cgroup (v2, else v1) in bytes, 0 if
// none or unknown.
func cgroupLimit() int64 {
	for _, p := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err == nil && n > 0 && n < 1<<60 {
			return n
		}
	}
	return 0
}

// AllocGuardsOn reports whether the allocation guards are installed: false only if goja's
// internals are not where internal/gojainternal expects them (a goja upgrade), and then
// TestAllocGuardsOn fails. Safe from any goroutine.
func AllocGuardsOn() bool {
	patchGuardTemplates()
	return allocGuardsOn
}

// NewArrayBuffer is vm.NewArrayBuffer(data) for buffers the host hands to a script (an MQTT
// message's binary payload): it makes sure the realm's ArrayBuffer constructor, which the
// script can reach as buffer.constructor, is the checked one first, also when the script has
// touched no typed array or ArrayBuffer global yet. VM goroutine only.
func NewArrayBuffer(vm *goja.Runtime, data []byte) goja.ArrayBuffer {
	ab := vm.NewArrayBuffer(data)
	if allocGuardsOn {
		if o := gojainternal.RuntimeGlobal(vm, "ArrayBuffer"); o != nil {
			guardArrayBufferCtor(vm, o)
		}
	}
	return ab
}
