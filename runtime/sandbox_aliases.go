package runtime

import (
	"github.com/dop251/goja"

	"github.com/devicejs/devicejs/runtime/sandbox"
)

// The sandbox's exported names, from when it was part of this package. Each is the sandbox's
// own (the same constant, type or function), so existing callers keep working unchanged.

const (
	// Deprecated: use sandbox.MaxSourceBytes.
	MaxSourceBytes = sandbox.MaxSourceBytes
	// Deprecated: use sandbox.MaxSourceNesting.
	MaxSourceNesting = sandbox.MaxSourceNesting
	// Deprecated: use sandbox.MaxSourceDepth.
	MaxSourceDepth = sandbox.MaxSourceDepth
	// Deprecated: use sandbox.MaxJSONDepth.
	MaxJSONDepth = sandbox.MaxJSONDepth
	// Deprecated: use sandbox.MaxJoinDepth.
	MaxJoinDepth = sandbox.MaxJoinDepth
	// Deprecated: use sandbox.MaxStringLength.
	MaxStringLength = sandbox.MaxStringLength
	// Deprecated: use sandbox.RegexpMatchTimeout.
	RegexpMatchTimeout = sandbox.RegexpMatchTimeout
)

// SourceBoundError is the reason CheckSource refuses source.
//
// Deprecated: use sandbox.SourceBoundError.
type SourceBoundError = sandbox.SourceBoundError

// CheckSource reports whether goja may parse and compile src.
//
// Deprecated: use sandbox.CheckSource.
func CheckSource(src string) error { return sandbox.CheckSource(src) }

// JSONDepth is the deepest bracket nesting of JSON text outside strings.
//
// Deprecated: use sandbox.JSONDepth.
func JSONDepth(s string) int { return sandbox.JSONDepth(s) }

// AllocationCap is the largest single allocation the allocation guards let a built-in make.
//
// Deprecated: use sandbox.AllocationCap.
func AllocationCap() int64 { return sandbox.AllocationCap() }

// AllocGuardsOn reports whether the allocation guards are installed.
//
// Deprecated: use sandbox.AllocGuardsOn.
func AllocGuardsOn() bool { return sandbox.AllocGuardsOn() }

// NewArrayBuffer is vm.NewArrayBuffer(data) with the realm's ArrayBuffer constructor checked.
//
// Deprecated: use sandbox.NewArrayBuffer.
func NewArrayBuffer(vm *goja.Runtime, data []byte) goja.ArrayBuffer {
	return sandbox.NewArrayBuffer(vm, data)
}
