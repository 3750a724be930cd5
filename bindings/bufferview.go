package bindings

import (
	"github.com/dop251/goja"

	"github.com/devicejs/devicejs/internal/gojainternal"
)

// Go-side recognition of binary messages. A script can replace every built-in it can reach
// (ArrayBuffer.isView, Array.isArray, prototypes, Symbol.hasInstance, Symbol.species) and can
// fake any shape ({length: 5, 0: 65}, a Proxy over a typed array), so the binding never asks
// JS what an object is: it looks at the Go type goja keeps behind the object. None of the
// functions here runs script code.

// bufferKind is what an object is behind its JS surface.
type bufferKind int

const (
	notBuffer   bufferKind = iota // anything else: plain objects, arrays, Proxies, functions
	arrayBuffer                   // an ArrayBuffer
	typedArray                    // an Int8Array … Float64Array, BigInt64Array, BigUint64Array
	dataView                      // a DataView
)

// bufferKindOf classifies obj by goja's Go-side type (internal/gojainternal reads it: goja
// exports no test for a DataView; its TestLayout fails if a goja upgrade renames the types,
// and every view is then refused, never misread), and reports whether the ArrayBuffer behind
// it (its own, for an ArrayBuffer) is detached.
func bufferKindOf(obj *goja.Object) (kind bufferKind, detached bool) {
	if obj == nil {
		return notBuffer, false
	}
	if obj.ExportType() == typeArrayBuffer {
		ab, ok := obj.Export().(goja.ArrayBuffer)
		return arrayBuffer, !ok || ab.Detached()
	}
	switch k, detached := gojainternal.View(obj); k {
	case gojainternal.TypedArray:
		return typedArray, detached
	case gojainternal.DataView:
		return dataView, detached
	}
	return notBuffer, false
}

// bufferBytes returns a copy of the bytes obj holds (an ArrayBuffer) or views (a typed array
// or DataView), or ok == false for anything else, for a detached buffer and for more than max
// bytes (checked before copying). It runs no script code: goja hands a view's bytes over
// without reading any property.
func bufferBytes(vm *goja.Runtime, obj *goja.Object, max int) (b []byte, ok bool) {
	kind, detached := bufferKindOf(obj)
	if kind == notBuffer || detached {
		return nil, false
	}
	var view []byte
	if kind == arrayBuffer {
		ab, isAB := obj.Export().(goja.ArrayBuffer)
		if !isAB {
			return nil, false
		}
		view = ab.Bytes()
	} else if !exportBytes(vm, obj, &view) {
		return nil, false
	}
	if len(view) > max {
		return nil, false
	}
	return append([]byte{}, view...), true
}

// exportBytes is vm.ExportTo(obj, view) for a typed array or DataView, which goja answers
// with the viewed bytes, in place. A Go panic (goja slicing a buffer it does not expect)
// makes it fail instead of reaching the script.
func exportBytes(vm *goja.Runtime, obj *goja.Object, view *[]byte) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return vm.ExportTo(obj, view) == nil
}
