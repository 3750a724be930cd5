package cli_test

import (
	"strings"
	"testing"
)

// TestSandboxSurface lists every own property of the global object of a real `devicejs run`:
// exactly the ECMAScript built-ins goja provides, print, the timers, mqtt, the hidden
// preemption tick, the hidden call-depth check and the hidden check of eval and Function
// source (docs/runtime.md). Anything else (require, process, console, fs, net, goja's
// GoError...) fails the test. A goja upgrade that adds a standard built-in belongs in the list.
func TestSandboxSurface(t *testing.T) {
	t.Parallel()
	want := strings.Join([]string{
		"AggregateError", "Array", "ArrayBuffer", "BigInt", "BigInt64Array", "BigUint64Array", "Boolean",
		"DataView", "Date", "Error", "EvalError", "Float32Array", "Float64Array", "Function", "Infinity",
		"Int16Array", "Int32Array", "Int8Array", "JSON", "Map", "Math", "NaN", "Number", "Object", "Promise",
		"Proxy", "RangeError", "ReferenceError", "Reflect", "RegExp", "Set", "String", "Symbol", "SyntaxError",
		"TypeError", "URIError", "Uint16Array", "Uint32Array", "Uint8Array", "Uint8ClampedArray", "WeakMap",
		"WeakSet", "__devicejs$enter", "__devicejs$source", "__devicejs$tick", "clearInterval", "clearTimeout", "decodeURI", "decodeURIComponent",
		"encodeURI", "encodeURIComponent", "escape", "eval", "globalThis", "isFinite", "isNaN", "mqtt",
		"parseFloat", "parseInt", "print", "setInterval", "setTimeout", "undefined", "unescape",
	}, ",")
	p := script(t, "globals.js", `print(Object.getOwnPropertyNames(globalThis).sort().join());
print(Object.keys(mqtt).sort().join(), Object.getOwnPropertyNames(mqtt).sort().join());
print(typeof require, typeof process, typeof console, typeof module, typeof exports, typeof fs, typeof net, typeof GoError);`)
	r := runBinary(t, "run", p)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("output %q", r.stdout)
	}
	got := strings.Split(lines[0], ",")
	for _, g := range got {
		if !strings.Contains(","+want+",", ","+g+",") {
			t.Errorf("unexpected global %q", g)
		}
	}
	if lines[0] != want {
		t.Errorf("globals\n got %s\nwant %s", lines[0], want)
	}
	if lines[1] != "connect,set connect,set" {
		t.Errorf("mqtt has %q", lines[1])
	}
	if lines[2] != strings.Repeat("undefined ", 7)+"undefined" {
		t.Errorf("host objects: %q", lines[2])
	}
}
