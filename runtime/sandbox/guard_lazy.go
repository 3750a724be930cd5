package sandbox

import (
	"sync"
	"weak"

	"github.com/dop251/goja"
	"github.com/dop251/goja/unistring"

	"github.com/devicejs/devicejs/internal/gojainternal"
)

// The guards of installGuards (limits.go: JSON.parse and JSON.stringify, Array.prototype.join
// and toLocaleString, String.prototype.repeat, padStart and padEnd; with a memory budget also
// guard_memory.go's), installed when the script first reaches the built-in instead of in
// every VM.
//
// installGuards materialises JSON, String.prototype and Array.prototype and replaces seven
// methods with new native functions: ~17 KB per VM (docs/performance.md, "What an idle
// device is made of"), paid by every device whether its script parses JSON or not. Here the
// factories of those methods in goja's process-wide templates (internal/gojainternal) are
// replaced once per process, as the allocation guards' are: when a VM of a registered loop
// builds one of them, the replacement swaps the Go function inside goja's own native function
// for a closure that runs the same guard (sb.jsonParse, sb.nested, ...) with the same original
// (goja.AssertFunction of goja's function, taken before the swap). A VM that never touches
// them pays nothing; one that does gets the same checks, same errors, same name, length and
// attributes (the JS objects are goja's own).
//
// goja's non-standard GoError global is removed from the global object's template once, so
// no VM of the process has it and none pays for building it to delete it (a delete of a
// templated property builds it first: GoError, Error and their prototypes, ~4 KB).
//
// Loops with a memory budget (guardBudget > 0: devicejs fleet sets one by default) get the
// memory guards of installMemoryGuards (guard_memory.go) the same way, around the sandbox
// guards where both guard a method (join), as installGuards wraps them. A goja whose internals
// are not where internal/gojainternal expects them leaves lazyGuardsOn false, and every loop
// eager (installGuards).

// lazyGuardsOn reports whether the sandbox guards' templates were patched (set by
// patchGuardTemplates, guard_alloc.go, after the allocation guards').
var lazyGuardsOn bool

// guardFunc is a guard of limits.go or guard_memory.go: it gets the original and the call.
type guardFunc = func(orig goja.Callable, call goja.FunctionCall) goja.Value

// A lazyGuard is one guarded method: the object that has it, whether only loops with a memory
// budget get it, and the guard.
type lazyGuard struct {
	owner  string // "JSON", "Array" (the constructor), "Array.prototype", "String.prototype"
	name   string
	budget bool
	guard  func(sb *Sandbox) guardFunc
}

// lazyGuards are the wrappers of installGuards: the sandbox guards, then (loops with a memory
// budget) installMemoryGuards' (guard_memory.go). A method with two is guarded in this order,
// the later around the earlier, as installGuards wraps them.
// TestLazyGuardsCoverInstallGuards keeps this list equal to what installGuards wraps.
var lazyGuards = []lazyGuard{
	{"JSON", "parse", false, func(sb *Sandbox) guardFunc { return sb.jsonParse }},
	{"JSON", "stringify", false, func(sb *Sandbox) guardFunc { return sb.jsonStringify }},
	{"Array.prototype", "join", false, func(sb *Sandbox) guardFunc { return sb.nested }},
	{"Array.prototype", "toLocaleString", false, func(sb *Sandbox) guardFunc { return sb.nested }},
	{"String.prototype", "repeat", false, func(sb *Sandbox) guardFunc { return sb.stringRepeat }},
	{"String.prototype", "padStart", false, func(sb *Sandbox) guardFunc { return sb.stringPad }},
	{"String.prototype", "padEnd", false, func(sb *Sandbox) guardFunc { return sb.stringPad }},

	{"Array.prototype", "fill", true, func(sb *Sandbox) guardFunc { return sb.arrayFill }},
	{"Array.prototype", "map", true, func(sb *Sandbox) guardFunc { return sb.arrayMap }},
	{"Array.prototype", "slice", true, func(sb *Sandbox) guardFunc { return sb.arraySlice }},
	{"Array.prototype", "concat", true, func(sb *Sandbox) guardFunc { return sb.arrayConcat }},
	{"Array.prototype", "join", true, func(sb *Sandbox) guardFunc { return sb.arrayJoin }},
	{"Array", "from", true, func(sb *Sandbox) guardFunc { return sb.arrayFrom }},
	{"String.prototype", "split", true, func(sb *Sandbox) guardFunc { return sb.stringSplit }},
	{"String.prototype", "replace", true, func(sb *Sandbox) guardFunc { return sb.stringReplace(false) }},
	{"String.prototype", "replaceAll", true, func(sb *Sandbox) guardFunc { return sb.stringReplace(true) }},
	{"String.prototype", "concat", true, func(sb *Sandbox) guardFunc { return sb.stringConcat }},
}

// guardOwned guards the methods of o (owner), in list order. VM goroutine only.
func (sb *Sandbox) guardOwned(o *goja.Object, owner string) {
	for _, g := range lazyGuards {
		if g.owner != owner || g.budget && sb.guardBudget <= 0 {
			continue
		}
		if m, ok := o.Get(g.name).(*goja.Object); ok {
			sb.lazyGuard(m, g.guard(sb))
		}
	}
}

// patchSandboxTemplates removes GoError from the global template and replaces the factories
// of the lazily guarded methods (once per process, at init, before any runtime builds any
// built-in: patchGuardTemplates).
func patchSandboxTemplates() bool {
	vm := goja.New()
	global := gojainternal.TemplateProps(vm.GlobalObject())
	names := gojainternal.TemplateNames(vm.GlobalObject())
	array := gojainternal.TemplateProps(vm.NewArray().Prototype())
	str := gojainternal.TemplateProps(vm.ToValue("").ToObject(vm).Prototype())
	if global == nil || names == nil || array == nil || str == nil {
		return false
	}
	protos := map[string]*map[unistring.String]gojainternal.Factory{"Array.prototype": array, "String.prototype": str}
	for _, g := range lazyGuards {
		if m := protos[g.owner]; m != nil && (*m)[unistring.String(g.name)] == nil {
			return false
		}
	}
	if (*global)["GoError"] == nil || (*global)["JSON"] == nil || (*global)["Array"] == nil || (*array)["constructor"] == nil {
		return false
	}
	// after makes m[name] call goja's factory, then then on the object made, in a loop's VM.
	after := func(m *map[unistring.String]gojainternal.Factory, name string, then func(sb *Sandbox, o *goja.Object)) {
		orig := (*m)[unistring.String(name)]
		(*m)[unistring.String(name)] = func(r *goja.Runtime) goja.Value {
			v := orig(r)
			if sb := lazyLoopOf(r); sb != nil {
				if o := gojainternal.PropObject(v); o != nil {
					then(sb, o)
				}
			}
			return v
		}
	}
	// JSON and the Array constructor are built whole (their methods are plain properties):
	// guard those once the object is made. The Array constructor is reached by two routes
	// (Array, [].constructor): the first guards it.
	after(global, "JSON", func(sb *Sandbox, o *goja.Object) { sb.guardOwned(o, "JSON") })
	arrayCtor := func(sb *Sandbox, o *goja.Object) {
		if sb.guardBudget > 0 && lazyFirst(sb) {
			sb.guardOwned(o, "Array")
		}
	}
	after(global, "Array", arrayCtor)
	after(array, "constructor", arrayCtor)
	// String.prototype and Array.prototype are templated: each method is made on first use.
	done := map[string]bool{}
	for _, g := range lazyGuards {
		if m := protos[g.owner]; m != nil && !done[g.owner+"."+g.name] {
			done[g.owner+"."+g.name] = true
			owner, name := g.owner, g.name
			after(m, name, func(sb *Sandbox, o *goja.Object) { sb.guardMethod(o, owner, name) })
		}
	}
	lazyEvalOn = patchEvalTemplates(vm, global) // evalguard_lazy.go
	delete(*global, "GoError")
	kept := make([]unistring.String, 0, len(*names))
	for _, n := range *names {
		if n != "GoError" {
			kept = append(kept, n)
		}
	}
	*names = kept                                       // a new array: a VM that copied the old one keeps it
	lazyHooksOn = patchHookTemplates(vm, global, names) // hooks_lazy.go
	return true
}

// guardMethod guards the method o (owner's name), with every guard the list has for it, in
// order. VM goroutine only.
func (sb *Sandbox) guardMethod(o *goja.Object, owner, name string) {
	for _, g := range lazyGuards {
		if g.owner == owner && g.name == name && (!g.budget || sb.guardBudget > 0) {
			sb.lazyGuard(o, g.guard(sb))
		}
	}
}

// lazyFirst reports whether sb's Array constructor (one per VM) is not guarded yet, and
// marks it guarded. VM goroutine only.
func lazyFirst(sb *Sandbox) bool {
	lazyLoops.Lock()
	defer lazyLoops.Unlock()
	e := lazyLoops.m[gojainternal.RuntimeKey(sb.vm)]
	if e == nil || e.arrayGuarded {
		return false
	}
	e.arrayGuarded = true
	return true
}

// lazyGuard swaps the Go function of goja's native function o for one that runs guard with
// the original. VM goroutine only (goja calls the factories on the loop goroutine).
func (sb *Sandbox) lazyGuard(o *goja.Object, guard guardFunc) {
	f, _ := gojainternal.NativeSlots(o)
	if f == nil || *f == nil {
		return
	}
	orig, ok := goja.AssertFunction(o) // calls the Go function o has now: goja's, or an earlier guard's
	if !ok {
		return
	}
	*f = func(call goja.FunctionCall) goja.Value { return guard(orig, call) }
}

// lazyLoops maps the runtime of each loop with lazy sandbox guards (by address) to its loop,
// held weakly, as budgetLoops (guard_alloc.go) does for the allocation guards.
var lazyLoops struct {
	sync.Mutex
	m         map[uintptr]*lazyEntry
	nextSweep int
}

// A lazyEntry is a registered loop, held weakly, and whether its VM's Array constructor is
// guarded (a flag, not the object: the entry must keep nothing of the VM alive).
type lazyEntry struct {
	wp           weak.Pointer[Sandbox]
	arrayGuarded bool
}

// registerLazyGuards makes sb's VM get the sandbox guards (and, with a memory budget, the
// memory guards) on first use of each guarded built-in, and reports whether it did; false
// (goja's layout not the expected one) means installGuards must install them now. Call it
// before anything builds JSON, Array or String.prototype and Array.prototype methods in sb's VM.
func (sb *Sandbox) registerLazyGuards() bool {
	patchGuardTemplates() // done at init; a no-op here
	if !lazyGuardsOn {
		return false
	}
	if sb.guardBudget > 0 {
		sb.registerBudget() // as installMemoryGuards: the allocation guards check this budget too
	}
	e := &lazyEntry{wp: weak.Make(sb)}
	lazyLoops.Lock()
	defer lazyLoops.Unlock()
	if lazyLoops.m == nil {
		lazyLoops.m = map[uintptr]*lazyEntry{}
	}
	if len(lazyLoops.m) >= lazyLoops.nextSweep {
		for k, v := range lazyLoops.m {
			if v.wp.Value() == nil {
				delete(lazyLoops.m, k)
			}
		}
		lazyLoops.nextSweep = 2*len(lazyLoops.m) + 1024
	}
	lazyLoops.m[gojainternal.RuntimeKey(sb.vm)] = e
	return true
}

// lazyLoopOf is the loop with lazy sandbox guards that owns r, or nil.
func lazyLoopOf(r *goja.Runtime) *Sandbox {
	lazyLoops.Lock()
	e := lazyLoops.m[gojainternal.RuntimeKey(r)]
	lazyLoops.Unlock()
	if e == nil {
		return nil
	}
	if sb := e.wp.Value(); sb != nil && sb.vm == r {
		return sb
	}
	return nil
}
