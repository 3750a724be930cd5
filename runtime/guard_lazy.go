package runtime

import (
	"sync"
	"unsafe"
	"weak"

	"github.com/dop251/goja"
	"github.com/dop251/goja/unistring"
)

// The sandbox guards of installGuards (limits.go: JSON.parse and JSON.stringify,
// Array.prototype.join and toLocaleString, String.prototype.repeat, padStart and padEnd),
// installed when the script first reaches the built-in instead of in every VM.
//
// installGuards materialises JSON, String.prototype and Array.prototype and replaces seven
// methods with new native functions: ~17 KB per VM (docs/performance.md, "What an idle
// device is made of"), paid by every device whether its script parses JSON or not. Here the
// factories of those methods in goja's process-wide templates (guard_gojalayout.go) are
// replaced once per process, as the allocation guards' are: when a VM of a registered loop
// builds one of them, the replacement swaps the Go function inside goja's own native function
// for a closure that runs the same guard (l.jsonParse, l.nested, ...) with the same original
// (goja.AssertFunction of goja's function, taken before the swap). A VM that never touches
// them pays nothing; one that does gets the same checks, same errors, same name, length and
// attributes (the JS objects are goja's own).
//
// goja's non-standard GoError global is removed from the global object's template once, so
// no VM of the process has it and none pays for building it to delete it (a delete of a
// templated property builds it first: GoError, Error and their prototypes, ~4 KB).
//
// Loops with a memory budget (guardBudget > 0) keep the eager installGuards: the memory
// guards (guard_memory.go) wrap some of the same methods again. A goja whose internals are not
// where guard_gojalayout.go expects them leaves lazyGuardsOn false, and every loop eager.

// lazyGuardsOn reports whether the sandbox guards' templates were patched (set by
// patchGuardTemplates, guard_alloc.go, after the allocation guards').
var lazyGuardsOn bool

// A lazyGuard is one guarded method: where goja's template keeps it and the guard.
type lazyGuard struct {
	tmpl  string // "global.JSON", "String.prototype", "Array.prototype"
	name  string
	guard func(l *Loop, orig goja.Callable, call goja.FunctionCall) goja.Value
}

// lazyGuards are installGuards' wrappers (TestLazyGuardsCoverInstallGuards keeps the two lists
// equal).
var lazyGuards = []lazyGuard{
	{"global.JSON", "parse", (*Loop).jsonParse},
	{"global.JSON", "stringify", (*Loop).jsonStringify},
	{"Array.prototype", "join", (*Loop).nested},
	{"Array.prototype", "toLocaleString", (*Loop).nested},
	{"String.prototype", "repeat", (*Loop).stringRepeat},
	{"String.prototype", "padStart", (*Loop).stringPad},
	{"String.prototype", "padEnd", (*Loop).stringPad},
}

// patchSandboxTemplates removes GoError from the global template and replaces the factories
// of the lazily guarded methods (once per process, before the first loop's runtime builds any
// built-in: patchGuardTemplates).
func patchSandboxTemplates() bool {
	vm := goja.New()
	global := templateProps(vm.GlobalObject())
	names := templateNames(vm.GlobalObject())
	array := templateProps(vm.NewArray().Prototype())
	str := templateProps(vm.ToValue("").ToObject(vm).Prototype())
	if global == nil || names == nil || array == nil || str == nil {
		return false
	}
	for _, g := range lazyGuards {
		m := map[string]*map[unistring.String]gojaFactory{"Array.prototype": array, "String.prototype": str}[g.tmpl]
		if m != nil && (*m)[unistring.String(g.name)] == nil || g.tmpl == "global.JSON" && (*global)["JSON"] == nil {
			return false
		}
	}
	if (*global)["GoError"] == nil {
		return false
	}
	// The guarded methods of one object, by template.
	byTmpl := func(tmpl string) []lazyGuard {
		var out []lazyGuard
		for _, g := range lazyGuards {
			if g.tmpl == tmpl {
				out = append(out, g)
			}
		}
		return out
	}
	// JSON is built whole by its factory (parse, stringify, rawJSON, isRawJSON): guard its
	// methods once it is made.
	jsonOrig := (*global)["JSON"]
	jsonGuards := byTmpl("global.JSON")
	(*global)["JSON"] = func(r *goja.Runtime) goja.Value {
		v := jsonOrig(r)
		if l := lazyLoopOf(r); l != nil {
			if o := propObject(v); o != nil {
				for _, g := range jsonGuards {
					if m, ok := o.Get(g.name).(*goja.Object); ok {
						l.lazyGuard(m, g.guard)
					}
				}
			}
		}
		return v
	}
	// String.prototype and Array.prototype are templated: each method is made on first use.
	for tmpl, m := range map[string]*map[unistring.String]gojaFactory{"Array.prototype": array, "String.prototype": str} {
		for _, g := range byTmpl(tmpl) {
			orig, guard := (*m)[unistring.String(g.name)], g.guard
			(*m)[unistring.String(g.name)] = func(r *goja.Runtime) goja.Value {
				v := orig(r)
				if l := lazyLoopOf(r); l != nil {
					if o := propObject(v); o != nil {
						l.lazyGuard(o, guard)
					}
				}
				return v
			}
		}
	}
	delete(*global, "GoError")
	kept := make([]unistring.String, 0, len(*names))
	for _, n := range *names {
		if n != "GoError" {
			kept = append(kept, n)
		}
	}
	*names = kept // a new array: a VM that copied the old one keeps it
	return true
}

// lazyGuard swaps the Go function of goja's native function o for one that runs guard with
// the original. Loop only (goja calls the factories on the loop goroutine).
func (l *Loop) lazyGuard(o *goja.Object, guard func(l *Loop, orig goja.Callable, call goja.FunctionCall) goja.Value) {
	f, _ := nativeSlots(o)
	if f == nil || *f == nil {
		return
	}
	orig, ok := goja.AssertFunction(o) // calls the Go function o has now: goja's
	if !ok {
		return
	}
	*f = func(call goja.FunctionCall) goja.Value { return guard(l, orig, call) }
}

// lazyLoops maps the runtime of each loop with lazy sandbox guards (by address) to its loop,
// held weakly, as budgetLoops (guard_alloc.go) does for the allocation guards.
var lazyLoops struct {
	sync.Mutex
	m         map[uintptr]weak.Pointer[Loop]
	nextSweep int
}

// registerLazyGuards makes l's VM get the sandbox guards on first use of each guarded
// built-in, and reports whether it did; false (a memory budget, or goja's layout not the
// expected one) means installGuards must install them now. Call it before anything builds
// JSON, String.prototype or Array.prototype methods in l's VM.
func (l *Loop) registerLazyGuards() bool {
	patchGuardTemplates() // the first loop of the process patches goja's templates
	if !lazyGuardsOn || l.guardBudget > 0 {
		return false
	}
	wp := weak.Make(l)
	lazyLoops.Lock()
	defer lazyLoops.Unlock()
	if lazyLoops.m == nil {
		lazyLoops.m = map[uintptr]weak.Pointer[Loop]{}
	}
	if len(lazyLoops.m) >= lazyLoops.nextSweep {
		for k, v := range lazyLoops.m {
			if v.Value() == nil {
				delete(lazyLoops.m, k)
			}
		}
		lazyLoops.nextSweep = 2*len(lazyLoops.m) + 1024
	}
	lazyLoops.m[uintptr(unsafe.Pointer(l.vm))] = wp
	return true
}

// lazyLoopOf is the loop with lazy sandbox guards that owns r, or nil.
func lazyLoopOf(r *goja.Runtime) *Loop {
	lazyLoops.Lock()
	wp, ok := lazyLoops.m[uintptr(unsafe.Pointer(r))]
	lazyLoops.Unlock()
	if l := wp.Value(); ok && l != nil && l.vm == r {
		return l
	}
	return nil
}
