package runtime

import (
	"context"
	"io"
	"reflect"
	goruntime "runtime"
	"slices"
	"strings"
	"testing"

	"github.com/dop251/goja"
)

// TestLazyGuardsCoverInstallGuards: every built-in installGuards replaces (found by looking,
// in a VM where it ran, for native functions whose Go function is installGuards' wrapper) is
// one of lazyGuards, and the other way round, so a guard added to installGuards cannot be
// missing from the lazy path of loops without a memory budget.
func TestLazyGuardsCoverInstallGuards(t *testing.T) {
	patchGuardTemplates()
	if !lazyGuardsOn {
		t.Fatal("lazy sandbox guards off: goja's template layout is not the expected one (guard_gojalayout.go)")
	}
	l := New(Options{Stdout: io.Discard})
	l.installGuards() // eager, as for a loop with a memory budget
	vm := l.vm
	owners := map[string]*goja.Object{
		"global":             vm.GlobalObject(),
		"global.JSON":        vm.Get("JSON").ToObject(vm),
		"String.prototype":   vm.ToValue("").ToObject(vm).Prototype(),
		"Array.prototype":    vm.NewArray().Prototype(),
		"Object.prototype":   vm.NewObject().Prototype(),
		"Function.prototype": vm.ToValue(func(goja.FunctionCall) goja.Value { return nil }).(*goja.Object).Prototype(),
		"Math":               vm.Get("Math").ToObject(vm),
		"Reflect":            vm.Get("Reflect").ToObject(vm),
		"Number.prototype":   vm.ToValue(1).ToObject(vm).Prototype(),
	}
	var wrapped []string
	for owner, o := range owners {
		for _, name := range o.GetOwnPropertyNames() {
			fo, ok := getQuiet(o, name).(*goja.Object)
			if !ok {
				continue
			}
			f, _ := nativeSlots(fo)
			if f == nil || *f == nil {
				continue
			}
			fn := goruntime.FuncForPC(reflect.ValueOf(*f).Pointer())
			if fn != nil && strings.Contains(fn.Name(), "(*Loop).wrap.") {
				wrapped = append(wrapped, owner+"."+name)
			}
		}
	}
	var lazy []string
	for _, g := range lazyGuards {
		lazy = append(lazy, g.tmpl+"."+g.name)
	}
	slices.Sort(wrapped)
	slices.Sort(lazy)
	if len(wrapped) == 0 || !slices.Equal(wrapped, lazy) {
		t.Fatalf("installGuards wraps %v, the lazy guards are %v", wrapped, lazy)
	}
}

// TestLazyGuardsCostNothingUntilUsed: a loop without a memory budget has not built JSON or
// GoError after New, and its guarded built-ins are guarded by whichever route the script
// first reaches them (a saved reference, a descriptor, call/apply/Reflect, enumeration,
// internal calls such as Array.prototype.toString), and a loop with a budget still gets the
// eager wrappers.
func TestLazyGuardsCostNothingUntilUsed(t *testing.T) {
	l := New(Options{Stdout: io.Discard})
	if runtimeGlobal(l.vm, "JSON") != nil || runtimeGlobal(l.vm, "GoError") != nil {
		t.Fatalf("New built JSON or GoError")
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
			var out strings.Builder
			l := New(Options{Stdout: &out, MemoryGuardBudget: budget})
			if err := l.Run(context.Background(), "t.js", `try { `+tc.src+`; print('no error') } catch (e) { print(e.name) }
				print(typeof GoError, 'GoError' in globalThis)`); err != nil {
				t.Fatalf("%s, budget %d: %v", tc.name, budget, err)
			}
			if out.String() != "RangeError\nundefined false\n" {
				t.Errorf("%s, budget %d: %q, want a RangeError and no GoError", tc.name, budget, out.String())
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
