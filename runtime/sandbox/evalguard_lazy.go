package sandbox

import (
	"github.com/dop251/goja"
	"github.com/dop251/goja/unistring"

	"github.com/devicejs/devicejs/internal/gojainternal"
)

// The eval and function-constructor guards of installEvalGuard (evalguard.go), built when the
// script first reaches eval or Function instead of in every VM (issue 20: ~4 KB per idle
// device).
//
// goja builds eval and Function of a runtime only from three template factories: the global
// object's "eval" and "Function" and Function.prototype's "constructor" (goja's getEval and
// getFunction have no other callers). Those factories are replaced once per process: in a VM
// of a loop with lazy eval guards, the property goja makes keeps goja's attributes but holds
// the checked eval or the checked Function, the objects installEvalGuard would have defined
// there. Every route to these built-ins (the identifiers, globalThis.eval, the getters and
// descriptors of the global object, (function(){}).constructor, Reflect.construct, bind,
// Proxy targets, ...) reads one of those properties, so it meets the same guard, on the first
// access as on later ones. goja's own eval, built first (ensureEvaluate), is kept only in Go
// (sb.evaluate) and the direct-eval slot ((*goja.Runtime).global.Eval) holds the checked eval
// before any script can read either; the hidden source check builds the guards before its
// first use of that slot. The GeneratorFunction and AsyncFunction guards (guardGenerators)
// need only the original eval.

// lazyEvalOn reports whether the factories of eval and Function were patched.
var lazyEvalOn bool

// origEvalFactory is goja's factory of the global eval (patchEvalTemplates).
var origEvalFactory gojainternal.Factory

// patchEvalTemplates replaces the factories of the global eval and Function and of
// Function.prototype.constructor (once per process, in patchSandboxTemplates).
func patchEvalTemplates(vm *goja.Runtime, global *map[unistring.String]gojainternal.Factory) bool {
	fp := gojainternal.TemplateProps(vm.ToValue(func(goja.FunctionCall) goja.Value { return nil }).(*goja.Object).Prototype())
	if fp == nil || (*global)["eval"] == nil || (*global)["Function"] == nil || (*fp)["constructor"] == nil {
		return false
	}
	if _, ok := gojainternal.EvalSlotOf(vm); !ok {
		return false
	}
	// goja's factories must give data properties whose value can be replaced.
	probe := goja.New()
	for _, f := range []gojainternal.Factory{(*global)["eval"], (*global)["Function"], (*fp)["constructor"]} {
		v := f(probe)
		if o := gojainternal.PropObject(v); o == nil || !gojainternal.SetPropObject(v, o) {
			return false
		}
	}
	origEvalFactory = (*global)["eval"]
	// checked makes orig, in a loop's VM, give the property goja builds with the checked
	// built-in (checkedEval or checkedFunction) as its value.
	checked := func(orig gojainternal.Factory, build func(*Sandbox) *goja.Object, what string) gojainternal.Factory {
		return func(r *goja.Runtime) goja.Value {
			if sb := lazyLoopOf(r); sb != nil && sb.evalLazy {
				w := build(sb)
				v := orig(r)
				if !gojainternal.SetPropObject(v, w) { // the probe above made sure it can
					panic("sandbox: cannot install the checked " + what)
				}
				return v
			}
			return orig(r)
		}
	}
	(*global)["eval"] = checked(origEvalFactory, (*Sandbox).checkedEval, "eval")
	(*global)["Function"] = checked((*global)["Function"], (*Sandbox).checkedFunction, "Function")
	(*fp)["constructor"] = checked((*fp)["constructor"], (*Sandbox).checkedFunction, "Function")
	return true
}

// ensureEvaluate builds goja's eval (not reachable from the script) and sets sb.evaluate, the
// indirect eval the checked eval and constructors run. Before anything sets the direct-eval
// slot. VM goroutine only.
func (sb *Sandbox) ensureEvaluate() {
	if sb.evaluate != nil {
		return
	}
	orig := gojainternal.PropObject(origEvalFactory(sb.vm))
	evalGo, ok := orig.Export().(func(goja.FunctionCall) goja.Value)
	if orig == nil || !ok {
		panic("sandbox: goja's eval is not a native function")
	}
	sb.evalOrig = orig
	sb.evaluate = func(src goja.Value) goja.Value {
		return evalGo(goja.FunctionCall{This: goja.Undefined(), Arguments: []goja.Value{src}})
	}
}

// checkedEval builds the checked eval once (installEvalGuard's) and points the direct-eval
// slot at it. VM goroutine only.
func (sb *Sandbox) checkedEval() *goja.Object {
	if sb.evalFn != nil {
		return sb.evalFn
	}
	sb.ensureEvaluate()
	slot, ok := gojainternal.EvalSlotOf(sb.vm)
	if !ok || slot.Get() != sb.evalOrig {
		panic("sandbox: the direct-eval slot does not hold goja's eval")
	}
	evaluate := sb.evaluate
	sb.evalFn = sb.builtinFunc("eval", 1, func(call goja.FunctionCall) goja.Value {
		if len(call.Arguments) == 0 {
			return goja.Undefined()
		}
		return evaluate(sb.evalSource(call.Arguments[0]))
	})
	slot.Set(sb.evalFn)
	return sb.evalFn
}

// checkedFunction builds the checked Function once (installEvalGuard's). VM goroutine only.
func (sb *Sandbox) checkedFunction() *goja.Object {
	if sb.fnChecked == nil {
		sb.ensureEvaluate()
		sb.fnChecked = sb.fnCtor(fnKinds[0], sb.evalOrig.Prototype(), sb.evaluate)
	}
	return sb.fnChecked
}
