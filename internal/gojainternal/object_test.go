package gojainternal

import (
	"fmt"
	"testing"

	"github.com/dop251/goja"
	"github.com/dop251/goja/unistring"
)

// TestLazyObject holds a NewLazyObject object beside the eager object it stands for (every
// property defined at once) through what a script can observe of a plain object with methods
// and values, and checks that each value is made at most once, and only when touched.
func TestLazyObject(t *testing.T) {
	if !templatedLayouts().objOK {
		t.Fatal("goja's templatedObject is not where NewLazyObject expects it: lazy objects fall back to eager ones")
	}
	names := []unistring.String{"on", "publish", "count", "get"}
	exprs := []string{
		`typeof o`,
		`JSON.stringify(Object.keys(o))`,
		`JSON.stringify(Object.getOwnPropertyNames(o))`,
		`JSON.stringify(Reflect.ownKeys(o))`,
		`JSON.stringify(Object.getOwnPropertyDescriptor(o, "count"))`,
		`JSON.stringify(Object.getOwnPropertyDescriptors(o))`,
		`JSON.stringify(o)`,
		`var s = ""; for (var k in o) s += k + ","; s`,
		`Object.entries(o).map(function (e) { return e[0] + ":" + typeof e[1] }).join()`,
		`o.hasOwnProperty("publish") + "," + ("publish" in o) + "," + o.hasOwnProperty("nope") + "," + ("toString" in o)`,
		`o.publish(1, 2)`,
		`o.on.name + "/" + o.on.length`,
		`o.publish === o.publish`,
		`String(o) + Object.prototype.toString.call(o)`,
		`Object.getPrototypeOf(o) === Object.prototype && o instanceof Object && o.constructor === Object`,
		`delete o.publish; JSON.stringify(Object.keys(o)) + typeof o.publish + o.hasOwnProperty("publish")`,
		`delete o.count; o.count = 5; JSON.stringify(Object.keys(o)) + o.count`,
		`o.extra = 1; JSON.stringify(Object.keys(o))`,
		`Object.defineProperty(o, "count", {value: 9, enumerable: false}); JSON.stringify(Object.keys(o)) + o.count`,
		`Object.defineProperty(o, "z", {value: 1}); JSON.stringify(Object.getOwnPropertyNames(o))`,
		`o.count = 3; o.count`,
		`"use strict"; o.count = 4; o.count`,
		`Object.freeze(o); Object.isFrozen(o) + "," + Object.isExtensible(o)`,
		`"use strict"; Object.freeze(o); try { o.count = 1; "assigned" } catch (e) { e.constructor.name }`,
		`Object.seal(o); Object.isSealed(o) + "," + delete o.on`,
		`Object.preventExtensions(o); o.q = 1; o.q + "," + Object.isExtensible(o)`,
		`JSON.stringify(Object.assign({}, o))`,
		`JSON.stringify(Object.keys({...o}))`,
		`var p = new Proxy(o, {}); JSON.stringify(Object.keys(p)) + p.count`,
		`with (o) { typeof publish + count }`,
		`Object.setPrototypeOf(o, null); Object.getPrototypeOf(o) === null && o.count`,
		`var c = Object.create(o); c.count + "," + c.hasOwnProperty("count")`,
		`o[Symbol.iterator] === undefined && Object.getOwnPropertySymbols(o).length`,
		`var m = new Map([[o, 1]]); m.get(o)`,
		`JSON.stringify(Object.fromEntries(Object.entries(o).filter(function (e) { return typeof e[1] !== "function" })))`,
		`o.toString === Object.prototype.toString`,
	}
	for _, src := range exprs {
		var got [2]string
		for i, lazy := range []bool{true, false} {
			got[i] = evalObject(t, names, src, lazy)
		}
		if got[0] != got[1] {
			t.Errorf("%s\n  lazy:  %s\n  eager: %s", src, got[0], got[1])
		}
	}

	// made at most once, and only when touched
	vm := goja.New()
	made := map[int]int{}
	o := NewLazyObject(vm, names, func(i int) goja.Value { made[i]++; return vm.ToValue(i) })
	if implOf(o).Type().String() != "*goja.templatedObject" {
		t.Fatalf("NewLazyObject made %v", implOf(o).Type())
	}
	if err := vm.Set("o", o); err != nil {
		t.Fatal(err)
	}
	if len(made) != 0 {
		t.Errorf("values made before any touch: %v", made)
	}
	if _, err := vm.RunString(`o.count; o.count; o.hasOwnProperty("get"); "on" in o`); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(made) != "map[2:1]" {
		t.Errorf("after reading count twice and testing on/get: made %v, want map[2:1]", made)
	}
	if _, err := vm.RunString(`Object.keys(o); Object.keys(o)`); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(made) != "map[0:1 1:1 2:1 3:1]" {
		t.Errorf("after listing: made %v, want each once", made)
	}
}

// evalObject runs src in a fresh runtime whose global o has the names, on and publish
// functions, count 7 and get a function.
func evalObject(t *testing.T, names []unistring.String, src string, lazy bool) string {
	t.Helper()
	vm := goja.New()
	fnt := NewFuncTemplate("on", 0)
	value := func(i int) goja.Value {
		switch names[i] {
		case "count":
			return vm.ToValue(7)
		default:
			n := names[i].String()
			return fnt.New(vm, func(call goja.FunctionCall) goja.Value { return vm.ToValue(n + fmt.Sprint(len(call.Arguments))) })
		}
	}
	var o *goja.Object
	if lazy {
		o = NewLazyObject(vm, names, value)
	} else {
		o = eagerObject(vm, names, value)
	}
	return runWith(t, vm, "o", o, src)
}
