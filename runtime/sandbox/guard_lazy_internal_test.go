package sandbox

import (
	"reflect"
	goruntime "runtime"
	"slices"
	"strings"
	"testing"

	"github.com/dop251/goja"

	"github.com/devicejs/devicejs/internal/gojainternal"
)

// TestLazyGuardsCoverInstallGuards: every built-in installGuards replaces, without and with a
// memory budget (found by looking, in a VM where it ran, for native functions whose Go
// function is its wrapper), is guarded by lazyGuards, and nothing else is; the lazily guarded
// function has the wrapper's length. A guard added to installGuards or installMemoryGuards
// must be added to lazyGuards (guard_lazy.go), or loops would run without it.
func TestLazyGuardsCoverInstallGuards(t *testing.T) {
	patchGuardTemplates()
	if !lazyGuardsOn {
		t.Fatal("lazy guards off: goja's template layout is not the expected one (internal/gojainternal)")
	}
	owners := func(vm *goja.Runtime) map[string]*goja.Object {
		return map[string]*goja.Object{
			"global":             vm.GlobalObject(),
			"JSON":               vm.Get("JSON").ToObject(vm),
			"Array":              vm.Get("Array").ToObject(vm),
			"String":             vm.Get("String").ToObject(vm),
			"Object":             vm.Get("Object").ToObject(vm),
			"String.prototype":   vm.ToValue("").ToObject(vm).Prototype(),
			"Array.prototype":    vm.NewArray().Prototype(),
			"Object.prototype":   vm.NewObject().Prototype(),
			"Function.prototype": vm.ToValue(func(goja.FunctionCall) goja.Value { return nil }).(*goja.Object).Prototype(),
			"Math":               vm.Get("Math").ToObject(vm),
			"Reflect":            vm.Get("Reflect").ToObject(vm),
			"Number.prototype":   vm.ToValue(1).ToObject(vm).Prototype(),
		}
	}
	for _, budget := range []int64{0, 1 << 40} {
		eager := newTestVM(budget)
		eager.sb.installGuards() // what a loop without lazy guards gets
		lazy := newTestVM(budget)
		lazyOwners := owners(lazy.vm)
		var wrapped []string
		for owner, o := range owners(eager.vm) {
			for _, name := range o.GetOwnPropertyNames() {
				fo, ok := getQuiet(o, name).(*goja.Object)
				if !ok {
					continue
				}
				f, ok := fo.Export().(func(goja.FunctionCall) goja.Value) // the Go function of a native or templated function
				if !ok || f == nil {
					continue
				}
				fn := goruntime.FuncForPC(reflect.ValueOf(f).Pointer())
				if fn == nil || !strings.Contains(fn.Name(), "(*Sandbox).wrap.") {
					continue
				}
				wrapped = append(wrapped, owner+"."+name)
				lf := getQuiet(lazyOwners[owner], name).(*goja.Object)
				if got, want := lf.Get("length").ToInteger(), fo.Get("length").ToInteger(); got != want {
					t.Errorf("budget %d: %s.%s has length %d lazily, %d wrapped", budget, owner, name, got, want)
				}
			}
		}
		var want []string
		for _, g := range lazyGuards {
			if k := g.owner + "." + g.name; (!g.budget || budget > 0) && !slices.Contains(want, k) {
				want = append(want, k)
			}
		}
		slices.Sort(wrapped)
		slices.Sort(want)
		if len(wrapped) == 0 || !slices.Equal(wrapped, want) {
			t.Errorf("budget %d: installGuards wraps %v, the lazy guards are %v", budget, wrapped, want)
		}
	}
}

// TestLazyGuardsCostNothingUntilUsed: a loop without a memory budget has not built JSON or
// GoError after New, and its guarded built-ins are guarded by whichever route the script
// first reaches them (a saved reference, a descriptor, call/apply/Reflect, enumeration,
// internal calls such as Array.prototype.toString), and a loop with a budget still gets the
// eager wrappers.
func TestLazyGuardsCostNothingUntilUsed(t *testing.T) {
	for _, budget := range []int64{0, 1 << 40} {
		l := newTestVM(budget)
		for _, name := range []string{"JSON", "GoError", "Array", "String", "StringPrototype"} {
			if gojainternal.RuntimeGlobal(l.vm, name) != nil {
				t.Errorf("budget %d: New built %s", budget, name)
			}
		}
	}
	const deepJSON = `var deep = new Array(10002).join('[');`
	tt := []struct{ name, src string }{
		{"JSON.parse", deepJSON + `JSON.parse(deep)`},
		{"saved JSON, global deleted", deepJSON + `var J = JSON; delete globalThis.JSON; J.parse(deep)`},
		{"JSON.parse by descriptor", deepJSON + `Object.getOwnPropertyDescriptor(JSON, 'parse').value.call(null, deep)`},
		{"JSON enumerated first", deepJSON + `Object.getOwnPropertyNames(JSON); Reflect.apply(JSON.parse, null, [deep])`},
		{"JSON.stringify", `var o = {}; for (var i = 0; i < 10002; i++) o = {a: o}; JSON.stringify(o)`},
		{"repeat", `'ab'.repeat(1 << 29)`},
		{"repeat by descriptor", `Object.getOwnPropertyDescriptor(String.prototype, 'repeat').value.call('ab', 1 << 29)`},
		{"String.prototype enumerated first", `Object.getOwnPropertyNames(String.prototype); ''.padStart.apply('x', [1 << 30])`},
		{"padEnd", `'x'.padEnd(1 << 30, 'y')`},
		{"join", `var a = []; for (var i = 0; i < 10002; i++) a = [a]; a.join()`},
		{"toString reaches join", `var a = []; for (var i = 0; i < 10002; i++) a = [a]; String(a)`},
		{"toLocaleString", `var a = []; for (var i = 0; i < 10002; i++) a = [a]; Array.prototype.toLocaleString.call(a)`},
	}
	for _, tc := range tt {
		for _, budget := range []int64{0, 1 << 40} {
			l := newTestVM(budget)
			if err := l.run("t.js", `try { `+tc.src+`; print('no error') } catch (e) { print(e.name) }
				print(typeof GoError, 'GoError' in globalThis)`); err != nil {
				t.Fatalf("%s, budget %d: %v", tc.name, budget, err)
			}
			if l.out.String() != "RangeError\nundefined false\n" {
				t.Errorf("%s, budget %d: %q, want a RangeError and no GoError", tc.name, budget, l.out.String())
			}
		}
	}
}

// getQuiet is o[name], or nil when the getter throws (Function.prototype.caller).
func getQuiet(o *goja.Object, name string) (v goja.Value) {
	defer func() {
		if recover() != nil {
			v = nil
		}
	}()
	return o.Get(name)
}
