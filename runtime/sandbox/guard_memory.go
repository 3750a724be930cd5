package sandbox

import (
	"math"
	goruntime "runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"
)

// The byte costs the memory guards estimate with (goja on 64-bit Go).
const (
	// guardMinBytes: a call estimated to allocate less is not checked
	// against the budget (reading the heap figures costs about a microsecond).
	guardMinBytes = 1 << 20
	// slotBytes is one array element: a goja.Value interface.
	slotBytes = 16
	// pieceBytes is one element of split's result: the slot and the boxed
	// string header of a substring that shares the original's bytes.
	pieceBytes = slotBytes + 24
	// jsonValueBytes is one value JSON.parse builds, counted per ',', ':',
	// '[' and '{' in the text: its slot or property and its box.
	jsonValueBytes = 48
	// guardRecheck is how often at most a guard collects to see whether the
	// heap over its estimate is garbage: a script calling a guarded built-in
	// in a loop near its budget would otherwise collect on every call.
	guardRecheck = 100 * time.Millisecond
)

// installMemoryGuards replaces the built-ins that can allocate far more
// than the budget in one uninterruptible Go call with checked wrappers:
// each estimates the bytes the call will allocate and, when the heap plus
// the estimate would pass the budget (runtime.Options.MaxMemory, else
// MemoryGuardBudget or DeviceMemory: Attach's budget), ends the run with the budget error before
// calling the original (overBudget). sp and ap are the String and Array
// prototypes. Only loops with a budget get them. VM goroutine only.
func (sb *Sandbox) installMemoryGuards(sp, ap *goja.Object) {
	sb.registerBudget() // the allocation guards (guard_alloc.go) check this loop's budget too
	sb.wrap(ap, "fill", 1, sb.arrayFill)
	sb.wrap(ap, "map", 1, sb.arrayMap)
	sb.wrap(ap, "slice", 2, sb.arraySlice)
	sb.wrap(ap, "concat", 1, sb.arrayConcat)
	sb.wrap(ap, "join", 1, sb.arrayJoin)
	ctor := ap.Get("constructor").ToObject(sb.vm)
	sb.wrap(ctor, "from", 1, sb.arrayFrom)
	sb.wrap(sp, "split", 2, sb.stringSplit)
	sb.wrap(sp, "replace", 2, sb.stringReplace(false))
	sb.wrap(sp, "replaceAll", 2, sb.stringReplace(true))
	sb.wrap(sp, "concat", 1, sb.stringConcat)
	// apply, Reflect.apply and Reflect.construct (goja builds their argument list from an
	// array-like's length in one allocation: {length: 4e9} was a fatal "out of memory") are
	// checked in every VM by the allocation guards (guard_alloc.go), against this budget too.
}

// listLength is the length of an Array, or of an array-like object whose
// length is not an object (converting that could run script code), or 0.
func listLength(v goja.Value) float64 {
	if n := arrayLength(v); n >= 0 {
		return n
	}
	if o, ok := v.(*goja.Object); ok {
		if n := orUndefined(o.Get("length")); !isObject(n) {
			return n.ToFloat()
		}
	}
	return 0
}

// lastGuardGC is when overBudget last collected (unix ns).
var lastGuardGC atomic.Int64

// overBudget reports whether a call of what that will allocate about need
// bytes would take the heap past the budget, and if so ends the run with the
// budget error, as the watchdog does (Interrupt: JS cannot catch it; it takes
// effect at the next JS instruction, so the guard then returns undefined
// without calling the original). The heap counts garbage until collected:
// when the figure now plus need is over, it collects (at most every
// guardRecheck) and looks again at the live heap. VM goroutine only.
func (sb *Sandbox) overBudget(what string, need float64) bool {
	budget := float64(sb.guardBudget)
	if sb.guardBudget <= 0 || !(need >= guardMinBytes) { // !(>=): NaN is no estimate
		return false
	}
	if devEst, ok := sb.host.DeviceEstimate(); ok {
		// DeviceMemory: the call is weighed against this device's own estimated heap, not the
		// process's (shared with the other devices).
		est := float64(devEst)
		if est+need <= budget {
			return false
		}
		sb.host.Interrupt(sb.budgetError("%s would allocate about %s with the device's heap estimated at %s; its budget (DeviceMemory) is %s",
			what, mib(uint64(min(need, math.MaxInt64))), mib(uint64(est)), mib(uint64(sb.guardBudget))))
		return true
	}
	samples := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	_, heap := HeapFigures(samples)
	if need <= budget && float64(heap)+need <= budget {
		return false
	}
	if need <= budget {
		// Collect at most every guardRecheck (the collection is the process's,
		// so is the clock); in between, the live heap of the last one counts.
		if last := lastGuardGC.Load(); time.Since(time.Unix(0, last)) >= guardRecheck {
			goruntime.GC()
			lastGuardGC.Store(time.Now().UnixNano())
		}
		if heap, _ = HeapFigures(samples); float64(heap)+need <= budget {
			return false
		}
	}
	sb.host.Interrupt(sb.budgetError("%s would allocate about %s with %s in the heap; the budget is %s",
		what, mib(uint64(min(need, math.MaxInt64))), mib(heap), mib(uint64(sb.guardBudget))))
	return true
}

// arrayLength is the length of v if v is an Array (not a Proxy or an
// array-like: reading their length could run script code), else -1.
func arrayLength(v goja.Value) float64 {
	o, ok := v.(*goja.Object)
	if !ok || o.ClassName() != "Array" {
		return -1
	}
	return o.Get("length").ToFloat()
}

// relIndex is a relative start or end index resolved against length n, as
// Array.prototype.fill and slice do; an undefined end is n.
func relIndex(v goja.Value, n float64, undefinedIs float64) float64 {
	if goja.IsUndefined(v) {
		return undefinedIs
	}
	f := v.ToFloat()
	switch {
	case math.IsNaN(f):
		f = 0
	case f < 0:
		f = max(n+math.Trunc(f), 0)
	default:
		f = min(math.Trunc(f), n)
	}
	return f
}

// numericArgs converts call's arguments from index from on to numbers once,
// so that the original sees primitives and a script's valueOf runs once, as
// without the guard. Undefined stays undefined.
func numericArgs(call goja.FunctionCall, from int) []goja.Value {
	args := append([]goja.Value(nil), call.Arguments...)
	for i := from; i < len(args); i++ {
		if !goja.IsUndefined(args[i]) {
			args[i] = args[i].ToNumber()
		}
	}
	return args
}

// arrayFill is Array.prototype.fill(value, start, end): filling the holes of
// a sparse array (new Array(n)) allocates a slot for each element.
// An array-like's length is read once (fixedLength, guard_alloc.go; fill
// returns its object, not the Proxy): fill.call({length: 2**26}, 0) took an
// in-process fleet to 518 MiB at a 64 MiB budget (issue 17, 2026-12-06).
func (sb *Sandbox) arrayFill(orig goja.Callable, call goja.FunctionCall) goja.Value {
	this := call.This
	n, p := fixedLength(sb.vm, this)
	if p != nil {
		this = p
	}
	args := numericArgs(call, 1)
	if n > 0 {
		k := relIndex(argAt(args, 1), n, 0)
		end := relIndex(argAt(args, 2), n, n)
		if sb.overBudget("Array.prototype.fill", (end-k)*slotBytes) {
			return goja.Undefined()
		}
	}
	res := must(orig(this, args...))
	if p != nil && res == goja.Value(p) {
		return call.This
	}
	return res
}

// arrayMap is Array.prototype.map: the result has the array's length.
func (sb *Sandbox) arrayMap(orig goja.Callable, call goja.FunctionCall) goja.Value {
	if n := arrayLength(call.This); sb.overBudget("Array.prototype.map", n*slotBytes) {
		return goja.Undefined()
	}
	return must(orig(call.This, call.Arguments...))
}

// arraySlice is Array.prototype.slice(start, end).
func (sb *Sandbox) arraySlice(orig goja.Callable, call goja.FunctionCall) goja.Value {
	args := numericArgs(call, 0)
	if n := arrayLength(call.This); n > 0 {
		k := relIndex(argAt(args, 0), n, 0)
		end := relIndex(argAt(args, 1), n, n)
		if sb.overBudget("Array.prototype.slice", (end-k)*slotBytes) {
			return goja.Undefined()
		}
	}
	return must(orig(call.This, args...))
}

// arrayConcat is Array.prototype.concat: the result holds the elements of
// this and of every Array argument (other arguments count one slot).
func (sb *Sandbox) arrayConcat(orig goja.Callable, call goja.FunctionCall) goja.Value {
	n := max(arrayLength(call.This), 1)
	for _, a := range call.Arguments {
		n += max(arrayLength(a), 1)
	}
	if sb.overBudget("Array.prototype.concat", n*slotBytes) {
		return goja.Undefined()
	}
	return must(orig(call.This, call.Arguments...))
}

// arrayJoin is Array.prototype.join(sep): the result holds length-1
// separators at least (elements add to that; the watchdog sees those). The
// length of an array-like is read once, as join does, and the original gets
// fixedLength's Proxy (guard_alloc.go): without an estimate, a fleet (no
// backstop) grew join.call({length: 2**24}, 4 KiB) to 1.4 GiB at a 512 MiB
// budget before its instances could be stopped (issue 17, 2026-12-06).
func (sb *Sandbox) arrayJoin(orig goja.Callable, call goja.FunctionCall) goja.Value {
	this := call.This
	n, p := fixedLength(sb.vm, this)
	if p != nil {
		this = p
	}
	args := call.Arguments
	sepLen := 1.0 // ","
	if sep := call.Argument(0); !goja.IsUndefined(sep) {
		s := sep.ToString()
		args = []goja.Value{s}
		sepLen = float64(stringLength(s))
	}
	if n > 1 && sb.overBudget("Array.prototype.join", (n-1)*sepLen) {
		return goja.Undefined()
	}
	return must(orig(this, args...))
}

// arrayFrom is Array.from(items, mapFn, thisArg): the result has one slot
// per element of an Array or a string (iterated), or per index of an
// array-like (an object without Symbol.iterator). Other iterables are not
// estimated. An array-like's length is read here and again by the original
// (a getter runs twice); a length that is an object is not converted here
// (its valueOf runs once).
func (sb *Sandbox) arrayFrom(orig goja.Callable, call goja.FunctionCall) goja.Value {
	items := call.Argument(0)
	n := 0.0
	switch o, ok := items.(*goja.Object); {
	case !ok:
		n = float64(stringLength(items))
	case arrayLength(items) >= 0, goja.IsUndefined(orUndefined(o.GetSymbol(goja.SymIterator))):
		n = listLength(items)
	}
	if sb.overBudget("Array.from", n*slotBytes) {
		return goja.Undefined()
	}
	return must(orig(call.This, call.Arguments...))
}

// stringSplit is String.prototype.split(sep, limit) for a string
// separator: the pieces are counted before splitting. A RegExp (or other
// object) separator is passed on unchecked.
func (sb *Sandbox) stringSplit(orig goja.Callable, call goja.FunctionCall) goja.Value {
	sep := call.Argument(0)
	if _, isObj := sep.(*goja.Object); isObj || goja.IsUndefined(sep) || goja.IsNull(sep) {
		return must(orig(call.This, call.Arguments...))
	}
	s := sb.thisString("split", call.This)
	sep = sep.ToString()
	args := []goja.Value{sep}
	limit := math.Inf(1)
	if lim := call.Argument(1); !goja.IsUndefined(lim) {
		lim = lim.ToNumber()
		args = append(args, lim)
		limit = float64(uint32(lim.ToInteger()))
	}
	if n := stringLength(s); float64(n)*pieceBytes >= guardMinBytes && limit*pieceBytes >= guardMinBytes {
		pieces := float64(n)
		if stringLength(sep) > 0 {
			pieces = float64(strings.Count(s.String(), sep.String()) + 1)
		}
		if sb.overBudget("String.prototype.split", min(pieces, limit)*pieceBytes) {
			return goja.Undefined()
		}
	}
	return must(orig(s, args...))
}

// stringReplace is String.prototype.replace (all false) or replaceAll (all
// true) for a string pattern and a string replacement: the result's length
// is bounded before replacing (each '$' in the replacement can insert up to
// the whole string). A RegExp pattern or a function replacement is passed
// on unchecked.
func (sb *Sandbox) stringReplace(all bool) func(orig goja.Callable, call goja.FunctionCall) goja.Value {
	name := "String.prototype.replace"
	if all {
		name += "All"
	}
	return func(orig goja.Callable, call goja.FunctionCall) goja.Value {
		pat, repl := call.Argument(0), call.Argument(1)
		if _, isObj := pat.(*goja.Object); isObj {
			return must(orig(call.This, call.Arguments...))
		}
		if _, isObj := repl.(*goja.Object); isObj {
			return must(orig(call.This, call.Arguments...))
		}
		s := sb.thisString("replace", call.This)
		pat, repl = pat.ToString(), repl.ToString()
		n, nr := float64(stringLength(s)), float64(stringLength(repl))
		if n+(n+1)*nr*(n+1) < guardMinBytes { // over any count and '$' expansion
			return must(orig(s, pat, repl))
		}
		src, p, r := s.String(), pat.String(), repl.String()
		count := 0.0
		switch {
		case !all && strings.Contains(src, p):
			count = 1
		case all && p == "":
			count = float64(stringLength(s) + 1)
		case all:
			count = float64(strings.Count(src, p))
		}
		per := float64(stringLength(repl)) + float64(strings.Count(r, "$"))*float64(stringLength(s))
		if sb.overBudget(name, float64(stringLength(s))+count*per) {
			return goja.Undefined()
		}
		return must(orig(s, pat, repl))
	}
}

// stringConcat is String.prototype.concat: the result is as long as this
// and the arguments together.
func (sb *Sandbox) stringConcat(orig goja.Callable, call goja.FunctionCall) goja.Value {
	s := sb.thisString("concat", call.This)
	args := make([]goja.Value, len(call.Arguments))
	n := float64(stringLength(s))
	for i, a := range call.Arguments {
		args[i] = a.ToString()
		n += float64(stringLength(args[i]))
	}
	if sb.overBudget("String.prototype.concat", n) {
		return goja.Undefined()
	}
	return must(orig(s, args...))
}

// jsonParseCost estimates the bytes JSON.parse builds from text: a copy of
// the strings, and a slot and box per ',', ':', '[' and '{' (counted in
// strings too: an over-estimate only for text full of such strings).
func jsonParseCost(text string) float64 {
	marks := 0
	for _, c := range []string{",", ":", "[", "{"} {
		marks += strings.Count(text, c)
	}
	return float64(len(text)) + float64(marks)*jsonValueBytes
}

// isObject reports whether v is an object (converting it could run script
// code).
func isObject(v goja.Value) bool {
	_, ok := v.(*goja.Object)
	return ok
}

// argAt is args[i], or undefined past the end.
func argAt(args []goja.Value, i int) goja.Value {
	if i < len(args) {
		return args[i]
	}
	return goja.Undefined()
}

// orUndefined is v, or undefined for a Go nil (a missing property).
func orUndefined(v goja.Value) goja.Value {
	if v == nil {
		return goja.Undefined()
	}
	return v
}
