package sandbox

import "testing"

// TestLazyHooksCostNothingUntilUsed: Install builds none of the hidden hooks; a script with
// no function, loop or eval builds none; each is built by its first use.
func TestLazyHooksCostNothingUntilUsed(t *testing.T) {
	v := newTestVM(0)
	if !v.sb.hooksLazy {
		t.Fatal("hooks not lazy: goja's template layout is not the expected one (internal/gojainternal)")
	}
	if v.sb.tickObj != nil || v.sb.enterObj != nil || v.sb.sourceObj != nil || v.sb.hooks != nil {
		t.Fatal("Install built a hook")
	}
	for _, step := range []struct {
		src                 string
		tick, enter, source bool
	}{
		{`var a = 1 + 2`, false, false, false},
		{`for (var i = 0; i < 2; i++) {}`, true, false, false},
		{`(function () {})()`, true, true, false},
		{`Function("return 1")()`, true, true, true},
	} {
		if err := v.run("step.js", step.src); err != nil {
			t.Fatal(err)
		}
		if (v.sb.tickObj != nil) != step.tick || (v.sb.enterObj != nil) != step.enter || (v.sb.sourceObj != nil) != step.source {
			t.Errorf("after %s: tick %v enter %v source %v", step.src, v.sb.tickObj != nil, v.sb.enterObj != nil, v.sb.sourceObj != nil)
		}
	}
}

// TestLazyHooksEveryFirstAccess: whatever a script does first with a hook (read it, its
// descriptor, define, delete or assign over it, list keys, shadow it), on the global object
// or on Number.prototype, it meets the hook Install defines: the same attributes, the same
// object on both holders, not replaceable, and the depth check still throws its RangeError.
func TestLazyHooksEveryFirstAccess(t *testing.T) {
	firsts := []string{
		``,
		`__devicejs$enter; __devicejs$tick; __devicejs$source;`,
		`Object.getOwnPropertyDescriptor(globalThis, "__devicejs$enter");`,
		`Object.getOwnPropertyDescriptor(Number.prototype, "__devicejs$enter");`,
		`Object.getOwnPropertyDescriptors(Number.prototype);`,
		`Object.getOwnPropertyNames(globalThis).forEach(function (k) { try { globalThis[k] } catch (e) {} });`,
		`try { Object.defineProperty(Number.prototype, "__devicejs$enter", { get: function () {} }) } catch (e) {}`,
		`try { Object.defineProperty(globalThis, "__devicejs$enter", { get: function () {} }) } catch (e) {}`,
		`try { Object.defineProperty(Number.prototype, "__devicejs$tick", { value: 1 }) } catch (e) {}`,
		`try { Object.defineProperty(Number.prototype, "__devicejs$source", { value: 1 }) } catch (e) {}`,
		`delete Number.prototype.__devicejs$enter; delete Number.prototype.__devicejs$tick; delete Number.prototype.__devicejs$source;`,
		`delete globalThis.__devicejs$enter; delete globalThis.__devicejs$tick; delete globalThis.__devicejs$source;`,
		`Number.prototype.__devicejs$tick = 1; Number.prototype.__devicejs$source = 1; Number.prototype.__devicejs$enter = 1;`,
		`globalThis.__devicejs$tick = 1; var __devicejs$source = 1; __devicejs$enter = 1;`,
		`Object.freeze(Number.prototype);`,
		`Object.setPrototypeOf(Number.prototype, new Proxy({}, {}));`,
		`with (new Proxy({}, { has: function () { return true }, get: function () { return 0 } })) { var w = 1 }`,
		`Reflect.ownKeys(Number.prototype); Reflect.ownKeys(globalThis);`,
		`for (var k in Number.prototype) {} Object.keys(globalThis);`,
	}
	check := `
var names = ["__devicejs$tick", "__devicejs$enter", "__devicejs$source"], out = [];
names.forEach(function (n) {
	var g = Object.getOwnPropertyDescriptor(globalThis, n), p = Object.getOwnPropertyDescriptor(Number.prototype, n);
	out.push(n + ":" + !!g.get + g.writable + g.enumerable + g.configurable + (g.get ? typeof g.get : typeof g.value) +
		(g.get ? g.get === p.get : g.value === p.value) + p.enumerable + p.configurable);
});
var threw = "";
try { (function r() { return r() })() } catch (e) { threw = e.name + ": " + e.message }
out.push(threw);
out.join(" ")`
	want := "__devicejs$tick:falsefalsefalsefalsefunctiontruefalsefalse __devicejs$enter:trueundefinedfalsefalsefunctiontruefalsefalse __devicejs$source:falsefalsefalsefalsefunctiontruefalsefalse RangeError: Maximum call stack size exceeded"
	// want is what Install's eager definitions give (DefineDataProperty and
	// DefineAccessorProperty with every flag false, one object on both holders). The eager
	// path cannot run in this process: once goja's templates have the hook names, every loop
	// is lazy (a loop is eager only where the templates could not be patched).
	for _, first := range firsts {
		v := newEvalVM(t, true)
		prg, _, err := v.sb.Compile("first.js", first+"\n"+check)
		if err != nil {
			t.Fatalf("%s: %v", first, err)
		}
		res, err := v.vm.RunProgram(prg)
		if err != nil {
			t.Fatalf("%s: %v", first, err)
		}
		if got := res.String(); got != want {
			t.Errorf("%s:\ngot  %s\nwant %s", first, got, want)
		}
	}
}
