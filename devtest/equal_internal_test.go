package devtest

import (
	"errors"
	"strings"
	"testing"

	"github.com/dop251/goja"
)

// TestDeepEqualShapes: toEqual's structural equality over many shapes (issue 17, finding 8:
// the JSON comparison called objects holding NaN, Infinity or functions equal, and a Proxy
// equal to {}).
func TestDeepEqualShapes(t *testing.T) {
	vm := goja.New()
	if _, err := vm.RunString(`
		var fn1 = function a() {}, fn2 = function a() {};
		var sym = Symbol('s');
		class Point { constructor() { this.x = 1; this.y = 2; } }
		var cyc1 = {a: 1}; cyc1.self = cyc1;
		var cyc2 = {a: 1}; cyc2.self = cyc2;
		var cyc3 = {a: 2}; cyc3.self = cyc3;
		var target = {a: 1};
		var prox = new Proxy(target, {});
	`); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		got, want string
		equal     bool
		diff      string // part of the difference's description, when not equal
	}{
		// numbers: SameValueZero
		{"NaN", "NaN", true, ""},
		{"NaN", "0", false, "expected 0, got NaN"},
		{"0", "-0", true, ""},
		{"Infinity", "Infinity", true, ""},
		{"Infinity", "-Infinity", false, "expected -Infinity, got Infinity"},
		{"({v: NaN})", "({v: 1})", false, "at .v: expected 1, got NaN"},
		{"({v: NaN})", "({v: NaN})", true, ""},
		{"({v: Infinity})", "({v: -Infinity})", false, "at .v"},
		{"({v: Infinity})", "({v: null})", false, "at .v: expected null, got Infinity"},
		{"({v: 0})", "({v: -0})", true, ""},
		{"1", "'1'", false, `expected "1", got 1`},
		{"1n", "1n", true, ""},
		{"1n", "1", false, ""},
		// functions and symbols by identity
		{"({f: fn1})", "({f: fn2})", false, "at .f (functions are equal only to themselves)"},
		{"({f: fn1})", "({f: fn1})", true, ""},
		{"({f: fn1})", "({})", false, "at .f"},
		{"sym", "sym", true, ""},
		{"Symbol('s')", "Symbol('s')", false, ""},
		{"({[sym]: 1})", "({[sym]: 2})", false, "Symbol(s)"},
		// Proxy: identity only
		{"prox", "({a: 1})", false, "got a Proxy, expected a plain object"},
		{"prox", "({})", false, ""},
		{"prox", "prox", true, ""},
		{"({p: prox})", "({p: new Proxy(target, {})})", false, "Proxys are equal only to themselves"},
		// undefined vs missing: equal (Jest's toEqual)
		{"({a: undefined, b: 1})", "({b: 1})", true, ""},
		{"({b: 1})", "({a: undefined, b: 1})", true, ""},
		{"({a: null})", "({})", false, "at .a: expected undefined, got null"},
		{"undefined", "null", false, ""},
		// arrays
		{"[[1, 2], [3]]", "[[1, 2], [3]]", true, ""},
		{"[[1, 2], [3]]", "[[1, 2], [4]]", false, "at [1][0]: expected 4, got 3"},
		{"[1, 2]", "[1, 2, 3]", false, "length 2, expected length 3"},
		{"[1, , 3]", "[1, undefined, 3]", true, ""},
		{"[1, , 3]", "[1, null, 3]", false, "at [1]"},
		{"[]", "({})", false, "got a array, expected a plain object"},
		{"({0: 'a', length: 1})", "['a']", false, ""},
		{"(function(){ var a = [1]; a.extra = 2; return a; })()", "[1]", false, "at .extra"},
		// typed arrays and buffers
		{"new Uint8Array([1, 2])", "new Uint8Array([1, 2])", true, ""},
		{"new Uint8Array([1, 2])", "new Uint8Array([1, 3])", false, "at [1]: expected 3, got 2"},
		{"new Uint8Array([1, 2])", "new Int8Array([1, 2])", false, "different kinds"},
		{"new Uint8Array([1, 2])", "[1, 2]", false, "typed array"},
		{"new Float64Array([NaN])", "new Float64Array([NaN])", true, ""},
		{"new Uint8Array([1]).buffer", "new Uint8Array([1]).buffer", true, ""},
		{"new Uint8Array([1]).buffer", "new Uint8Array([2]).buffer", false, "different bytes"},
		// class instances vs plain objects: prototypes are not compared (Jest's toEqual)
		{"new Point()", "({x: 1, y: 2})", true, ""},
		{"new Point()", "({x: 1, y: 3})", false, "at .y"},
		{"Object.create(null)", "({})", true, ""},
		// Date, RegExp, Error, boxed
		{"new Date(5)", "new Date(5)", true, ""},
		{"new Date(5)", "new Date(6)", false, ""},
		{"new Date(NaN)", "new Date(NaN)", true, ""},
		{"new Date(5)", "5", false, ""},
		{"/a/g", "/a/g", true, ""},
		{"/a/g", "/a/i", false, ""},
		{"new Error('x')", "new Error('x')", true, ""},
		{"new Error('x')", "new Error('y')", false, "at .message"},
		{"new TypeError('x')", "new Error('x')", false, "at .name"},
		{"new Number(NaN)", "new Number(NaN)", true, ""},
		{"new String('a')", "new String('b')", false, ""},
		{"new Number(1)", "1", false, ""},
		// Map and Set, regardless of order
		{"new Map([[1, {a: 1}], [2, 'b']])", "new Map([[2, 'b'], [1, {a: 1}]])", true, ""},
		{"new Map([[1, {a: 1}]])", "new Map([[1, {a: 2}]])", false, "entry 1 => {a: 1} not expected"},
		{"new Set([1, NaN])", "new Set([NaN, 1])", true, ""},
		{"new Set([1])", "new Set([1, 2])", false, "size 1, expected size 2"},
		{"new Map()", "({})", false, ""},
		// built-ins with hidden state: identity
		{"Promise.resolve(1)", "Promise.resolve(1)", false, "built-in object"},
		{"new WeakMap()", "new WeakMap()", false, ""},
		{"new DataView(new ArrayBuffer(1))", "new DataView(new ArrayBuffer(1))", false, ""},
		// cycles terminate
		{"cyc1", "cyc2", true, ""},
		{"cyc1", "cyc3", false, "at .a"},
		// nested paths with odd keys
		{"({'a b': {c: [1]}})", "({'a b': {c: [2]}})", false, `at ["a b"].c[0]`},
	} {
		got, err := vm.RunString("(" + tc.got + ")")
		if err != nil {
			t.Fatalf("%s: %v", tc.got, err)
		}
		want, err := vm.RunString("(" + tc.want + ")")
		if err != nil {
			t.Fatalf("%s: %v", tc.want, err)
		}
		eq, diff, err := deepEqual(vm, got, want)
		if err != nil {
			t.Errorf("%s vs %s: error %v", tc.got, tc.want, err)
			continue
		}
		if eq != tc.equal || !strings.Contains(diff, tc.diff) {
			t.Errorf("%s vs %s: equal %v (%q), want %v (%q)", tc.got, tc.want, eq, diff, tc.equal, tc.diff)
		}
		if eq2, _, _ := deepEqual(vm, want, got); eq2 != eq {
			t.Errorf("%s vs %s: not symmetric", tc.got, tc.want)
		}
	}
}

// TestDeepEqualBounds: a hostile nesting or size is an error, not a Go stack overflow or a
// hang; describe stays bounded.
func TestDeepEqualBounds(t *testing.T) {
	vm := goja.New()
	// 2e5 levels (building 1e6 takes goja about 9 s on the loaded machine; the bound works the
	// same at any depth past maxEqualDepth).
	deep, err := vm.RunString(`var o = {}; for (var i = 0; i < 2e5; i++) o = {a: o}; o`)
	if err != nil {
		t.Fatal(err)
	}
	deep2, _ := vm.RunString(`var p = {}; for (var i = 0; i < 2e5; i++) p = {a: p}; p`)
	if _, _, err := deepEqual(vm, deep, deep2); !errors.Is(err, errEqualTooBig) || !strings.Contains(err.Error(), "deeper than 1000") {
		t.Errorf("2e5-deep: err %v", err)
	}
	for _, src := range []string{
		`var a = []; for (var i = 0; i < 3e5; i++) a.push(i); [a, a.slice()]`, // dense, past the value bound
		`var s = [], s2 = []; s[4e9] = 1; s2[4e9] = 1; [s, s2]`,               // sparse, length past the bound
		`var w = []; for (var i = 0; i < 1000; i++) w.push({x: [1, 2, 3, {y: i}]}); [w, JSON.parse(JSON.stringify(w))]`,
	} {
		pair, err := vm.RunString(src)
		if err != nil {
			t.Fatal(err)
		}
		o := pair.(*goja.Object)
		eq, _, err := deepEqual(vm, o.Get("0"), o.Get("1"))
		if strings.Contains(src, "var w") {
			if !eq || err != nil {
				t.Errorf("1000 small objects: %v %v", eq, err)
			}
		} else if !errors.Is(err, errEqualTooBig) {
			t.Errorf("%s: err %v", src, err)
		}
	}
	big, _ := vm.RunString(`a`)
	for _, v := range []goja.Value{deep, big} {
		if s := describe(v); len(s) > renderChars+100 {
			t.Errorf("describe: %d characters", len(s))
		}
	}
	for src, want := range map[string]string{
		"({a: NaN, b: -0, c: undefined, d: Infinity, f: function g() {}})": "{a: NaN, b: -0, c: undefined, d: Infinity, f: [Function g]}",
		"[1, , 'x']":             `[1, undefined, "x"]`,
		"new Proxy({}, {})":      "[Proxy]",
		"new Uint8Array([1, 2])": "Uint8Array(2) [1, 2]",
		"new Map([[1, 2]])":      "Map(1) {...}",
		"(function(){ var c = {}; c.c = c; return c; })()": "{c: [Circular]}",
		"({a: {b: {c: {d: {e: 1}}}}})":                     "{a: {b: {c: {d: [Object]}}}}",
		"new Error('boom')":                                `Error("boom")`,
		"1e21":                                             "1e+21",
		"100000000":                                        "100000000",
	} {
		v, err := vm.RunString("(" + src + ")")
		if err != nil {
			t.Fatal(err)
		}
		if got := describe(v); got != want {
			t.Errorf("describe(%s) = %s, want %s", src, got, want)
		}
	}
}

// TestPartialMatchShapes: toHavePublished's json is a partial match: extra keys in the payload
// are ignored at every depth, arrays keep their length, values compare as toEqual.
func TestPartialMatchShapes(t *testing.T) {
	vm := goja.New()
	for _, tc := range []struct {
		got, want string
		match     bool
		diff      string
	}{
		{`({a: 1, b: 2})`, `({a: 1})`, true, ""},
		{`({a: 1})`, `({a: 1, b: 2})`, false, "at .b: expected 2, got undefined"},
		{`({a: {b: {c: 1, d: 2}, e: 3}})`, `({a: {b: {c: 1}}})`, true, ""},
		{`({a: {b: {c: 1}}})`, `({a: {b: {c: "1"}}})`, false, `at .a.b.c: expected "1", got 1`},
		{`({a: [1, 2, 3]})`, `({a: [1, 2]})`, false, "length 3, expected length 2"},
		{`({a: [{k: 1, z: 0}, {k: 2}]})`, `({a: [{k: 1}, {}]})`, true, ""},
		{`({a: [{k: 1}]})`, `({a: [{k: 2}]})`, false, "at .a[0].k: expected 2, got 1"},
		{`[1, 2]`, `({})`, false, "got a array, expected a plain object"},
		{`({a: 1})`, `({})`, true, ""},
		{`({})`, `({a: undefined})`, true, ""},
		{`({a: null})`, `({a: undefined})`, false, "at .a: expected undefined, got null"},
		{`42`, `42`, true, ""},
		{`"x"`, `({})`, false, "expected {}"},
		{`({n: 0})`, `({n: -0})`, true, ""},
	} {
		got, err := vm.RunString(tc.got)
		if err != nil {
			t.Fatal(err)
		}
		want, err := vm.RunString(tc.want)
		if err != nil {
			t.Fatal(err)
		}
		ok, diff, err := partialMatch(vm, got, want)
		if err != nil || ok != tc.match || !strings.Contains(diff, tc.diff) {
			t.Errorf("partialMatch(%s, %s) = %v %q %v, want %v %q", tc.got, tc.want, ok, diff, err, tc.match, tc.diff)
		}
	}
}
