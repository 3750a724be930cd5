package bindings

import (
	"testing"

	"github.com/dop251/goja"
)

// TestBufferKindLayout checks that bufferKindOf still recognises goja's objects: it reads
// goja's unexported types, so a goja upgrade that renames them fails here (at run time every
// view would be refused).
func TestBufferKindLayout(t *testing.T) {
	vm := goja.New()
	tt := []struct {
		src  string
		want bufferKind
	}{
		{`new ArrayBuffer(4)`, arrayBuffer},
		{`new Uint8Array(4)`, typedArray},
		{`new Int8Array(4)`, typedArray},
		{`new Uint8ClampedArray(4)`, typedArray},
		{`new Int16Array(4)`, typedArray},
		{`new Uint16Array(4)`, typedArray},
		{`new Int32Array(4)`, typedArray},
		{`new Uint32Array(4)`, typedArray},
		{`new Float32Array(4)`, typedArray},
		{`new Float64Array(4)`, typedArray},
		{`new BigInt64Array(4)`, typedArray},
		{`new BigUint64Array(4)`, typedArray},
		{`new (class extends Uint16Array {})(4)`, typedArray},
		{`new DataView(new ArrayBuffer(4))`, dataView},
		{`({})`, notBuffer},
		{`[1, 2]`, notBuffer},
		{`new Proxy(new Uint8Array(4), {})`, notBuffer},
		{`new Proxy(new DataView(new ArrayBuffer(4)), {})`, notBuffer},
		{`new Proxy(new ArrayBuffer(4), {})`, notBuffer},
		{`Object.create(Uint8Array.prototype)`, notBuffer},
		{`Object.create(DataView.prototype)`, notBuffer},
		{`Object.create(ArrayBuffer.prototype)`, notBuffer},
		{`(function() {})`, notBuffer},
		{`new String('ab')`, notBuffer},
		{`new Map()`, notBuffer},
	}
	for _, tc := range tt {
		v, err := vm.RunString("(" + tc.src + ")")
		if err != nil {
			t.Fatal(err)
		}
		if got, detached := bufferKindOf(v.(*goja.Object)); got != tc.want || detached {
			t.Errorf("bufferKindOf(%s) = %v, detached %v; want %v", tc.src, got, detached, tc.want)
		}
	}
	if k, _ := bufferKindOf(nil); k != notBuffer {
		t.Errorf("bufferKindOf(nil) = %v", k)
	}
}

// TestDetachedBuffersAreRefused detaches buffers from Go (a script cannot: goja has no
// transfer) and checks that the buffer and every view of it are refused, without a panic.
func TestDetachedBuffersAreRefused(t *testing.T) {
	for _, src := range []string{
		`v = b`,
		`v = new Uint8Array(b)`,
		`v = new Uint8Array(b, 2, 3)`,
		`v = new Float64Array(b)`,
		`v = new DataView(b)`,
		`v = new DataView(b, 4, 2)`,
	} {
		vm := goja.New()
		if _, err := vm.RunString(`var b = new ArrayBuffer(8), v; ` + src); err != nil {
			t.Fatal(err)
		}
		ab := vm.Get("b").Export().(goja.ArrayBuffer)
		v := vm.Get("v")
		if _, ok := messageArg(vm, v); !ok {
			t.Errorf("%s: refused before the detach", src)
		}
		if !ab.Detach() {
			t.Fatalf("%s: Detach failed", src)
		}
		if b, ok := messageArg(vm, v); ok {
			t.Errorf("%s: detached, messageArg = %q, true; want refused", src, b)
		}
	}
}

// TestBufferBytesMax checks that a view longer than the bound is refused (before its bytes
// are copied) and one of exactly the bound accepted.
func TestBufferBytesMax(t *testing.T) {
	vm := goja.New()
	for _, tc := range []struct {
		src string
		ok  bool
	}{
		{`new Uint8Array(16)`, true},
		{`new Uint8Array(17)`, false},
		{`new Uint16Array(8)`, true},
		{`new Uint16Array(9)`, false},
		{`new DataView(new ArrayBuffer(64), 8, 16)`, true},
		{`new DataView(new ArrayBuffer(64), 8, 17)`, false},
		{`new ArrayBuffer(16)`, true},
		{`new ArrayBuffer(17)`, false},
		{`new Uint8Array(new ArrayBuffer(64), 48)`, true},
	} {
		v, err := vm.RunString("(" + tc.src + ")")
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := bufferBytes(vm, v.(*goja.Object), 16); ok != tc.ok {
			t.Errorf("bufferBytes(%s, 16) ok = %v, want %v", tc.src, ok, tc.ok)
		}
	}
}
