package sandbox

import (
	"fmt"
	"math"
	"time"

	"github.com/dlclark/regexp2/v2"
	"github.com/dop251/goja"
)

// The resource limits of a run. See "Limits" in docs/runtime.md.
const (
	// MaxJSONDepth bounds the nesting of arrays and objects that JSON.parse
	// and JSON.stringify accept. goja's JSON code recurses on the Go stack
	// without a bound, and a Go stack overflow kills the process: a payload of
	// ten million '[' does. Deeper input throws a catchable RangeError.
	MaxJSONDepth = 10000
	// MaxJoinDepth bounds the nesting of Array.prototype.join (and so of
	// Array.prototype.toString) and toLocaleString: goja's join of an array
	// nested a million deep recurses in Go until the process dies. Deeper
	// nesting throws a catchable RangeError.
	MaxJoinDepth = 10000
	// MaxStringLength bounds the strings String.prototype.repeat, padStart and
	// padEnd build (V8's bound, in UTF-16 units); longer ones throw a catchable
	// RangeError instead of spending seconds in Go code that cannot be
	// interrupted.
	MaxStringLength = 1<<29 - 24
	// RegexpMatchTimeout bounds one match of a backtracking regular
	// expression (goja runs those, with back-references or look-around, on
	// regexp2). It is process-wide: regexp2 reads it when a RegExp is
	// compiled. goja drops regexp2's timeout error, so a match that times out
	// behaves as no match.
	RegexpMatchTimeout = time.Second
	// MaxSourceDepth bounds the bracket nesting of the script source: goja's
	// parser recurses on the Go stack without a bound.
	MaxSourceDepth = 10000
)

func init() {
	// The only place regexp2 reads a timeout from; it must be set before any
	// loop compiles a RegExp (so here, race-free).
	regexp2.DefaultMatchTimeout = RegexpMatchTimeout
}

// installGuards replaces JSON.parse, JSON.stringify and three String
// methods with wrappers that bound nesting and length before calling the
// originals, and removes goja's non-standard GoError global. VM goroutine only.
func (sb *Sandbox) installGuards() {
	vm := sb.vm
	g := vm.GlobalObject()
	if err := g.Delete("GoError"); err != nil {
		panic(err)
	}
	json := g.Get("JSON").ToObject(vm)
	sb.wrap(json, "parse", 2, sb.jsonParse)
	sb.wrap(json, "stringify", 3, sb.jsonStringify)
	// The prototypes are reached through instances, not through the String and Array
	// constructors: goja builds a built-in on first access, and the constructors (with their
	// static methods and Symbol.species) would cost ~7 KiB per runtime that few scripts use.
	sp := vm.ToValue("").ToObject(vm).Prototype()
	ap := vm.NewArray().Prototype()
	sb.wrap(ap, "join", 1, sb.nested)
	sb.wrap(ap, "toLocaleString", 0, sb.nested)
	sb.wrap(sp, "repeat", 1, sb.stringRepeat)
	sb.wrap(sp, "padStart", 1, sb.stringPad)
	sb.wrap(sp, "padEnd", 1, sb.stringPad)
	if sb.guardBudget > 0 {
		sb.installMemoryGuards(sp, ap)
	}
}

// wrap replaces o[name] (writable, configurable, not enumerable, like every
// built-in method) with a native whose guard gets the original. VM goroutine only.
func (sb *Sandbox) wrap(o *goja.Object, name string, length int, guard func(orig goja.Callable, call goja.FunctionCall) goja.Value) {
	orig, ok := goja.AssertFunction(o.Get(name))
	if !ok {
		panic("sandbox: no built-in " + name)
	}
	f := sb.nativeFunc(name, func(call goja.FunctionCall) goja.Value { return guard(orig, call) })
	// DefineDataProperty's flags are writable, configurable, enumerable.
	if err := f.DefineDataProperty("length", sb.vm.ToValue(length), goja.FLAG_FALSE, goja.FLAG_TRUE, goja.FLAG_FALSE); err != nil {
		panic(err)
	}
	if err := o.DefineDataProperty(name, f, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE); err != nil {
		panic(err)
	}
}

// must returns v or throws err as a JS exception.
func must(v goja.Value, err error) goja.Value {
	if err != nil {
		panic(err)
	}
	return v
}

// rangeError throws a RangeError. VM goroutine only.
func (sb *Sandbox) rangeError(format string, args ...any) {
	ctor := sb.vm.GlobalObject().Get("RangeError")
	obj, err := sb.vm.New(ctor, sb.vm.ToValue(fmt.Sprintf(format, args...)))
	if err != nil {
		panic(err)
	}
	panic(obj)
}

// jsonParse is JSON.parse with the text's nesting checked first. The text is
// converted once and handed on as a primitive, as JSON.parse converts it
// first anyway.
func (sb *Sandbox) jsonParse(orig goja.Callable, call goja.FunctionCall) goja.Value {
	text := call.Argument(0).ToString()
	if d := JSONDepth(text.String()); d > MaxJSONDepth {
		sb.rangeError("JSON.parse: nesting deeper than %d levels", MaxJSONDepth)
	}
	if sb.guardBudget > 0 && sb.overBudget("JSON.parse", jsonParseCost(text.String())) {
		return goja.Undefined()
	}
	args := append([]goja.Value{text}, call.Arguments[min(1, len(call.Arguments)):]...)
	return must(orig(call.This, args...))
}

// JSONDepth is the deepest bracket nesting of JSON text outside strings, in one pass without
// recursion (a check before a recursive decoder sees the text). Invalid text can only be
// over-counted, and is rejected by the decoder anyway.
func JSONDepth(s string) int {
	depth, deepest := 0, 0
	in := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case in && c == '\\':
			i++
		case c == '"':
			in = !in
		case in:
		case c == '[' || c == '{':
			depth++
			deepest = max(deepest, depth)
		case c == ']' || c == '}':
			depth--
		}
	}
	return deepest
}

// sourceDepth is the deepest nesting of ( [ { in source text, counting
// every bracket (in strings and comments too: a bound, not a parse).
func sourceDepth(s string) int {
	depth, deepest := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(', '[', '{':
			depth++
			deepest = max(deepest, depth)
		case ')', ']', '}':
			depth--
		}
	}
	return deepest
}

// jsonStringify is JSON.stringify with the nesting of what it serialises
// bounded: a replacer function (the script's, if any, runs first) records
// each object's depth before it is serialised. An array replacer (a
// property list) is passed through unchecked.
func (sb *Sandbox) jsonStringify(orig goja.Callable, call goja.FunctionCall) goja.Value {
	args := append([]goja.Value(nil), call.Arguments...)
	for len(args) < 2 {
		args = append(args, goja.Undefined())
	}
	var user goja.Callable
	if r, ok := args[1].(*goja.Object); ok {
		if f, ok := goja.AssertFunction(r); ok {
			user = f
		} else if sb.isArray(r) {
			return must(orig(call.This, args...))
		}
	}
	depths := map[*goja.Object]int{}
	args[1] = sb.vm.ToValue(func(c goja.FunctionCall) goja.Value {
		v := c.Argument(1)
		if user != nil {
			v = must(user(c.This, c.Arguments...))
		}
		if o, ok := v.(*goja.Object); ok {
			h, _ := c.This.(*goja.Object)
			d := depths[h] + 1
			if d > MaxJSONDepth {
				sb.rangeError("JSON.stringify: nesting deeper than %d levels", MaxJSONDepth)
			}
			depths[o] = d
		}
		return v
	})
	return must(orig(call.This, args...))
}

// isArray is Array.isArray (true for a Proxy of an array too). VM goroutine only.
func (sb *Sandbox) isArray(v goja.Value) bool {
	f, ok := goja.AssertFunction(sb.vm.GlobalObject().Get("Array").ToObject(sb.vm).Get("isArray"))
	if !ok {
		return false
	}
	r, err := f(goja.Undefined(), v)
	return err == nil && r.ToBoolean()
}

// thisString converts this as String.prototype methods do (throwing a
// TypeError for null and undefined). VM goroutine only.
func (sb *Sandbox) thisString(name string, this goja.Value) goja.Value {
	if this == nil || goja.IsUndefined(this) || goja.IsNull(this) {
		panic(sb.vm.NewTypeError("String.prototype.%s called on null or undefined", name))
	}
	return this.ToString()
}

// nested calls orig with the nesting of join and toLocaleString counted:
// array elements that are arrays are converted by calling join (through
// toString) or toLocaleString again, inside orig.
func (sb *Sandbox) nested(orig goja.Callable, call goja.FunctionCall) goja.Value {
	if sb.joinDepth >= MaxJoinDepth {
		sb.rangeError("Array.prototype.join: arrays nested deeper than %d levels", MaxJoinDepth)
	}
	sb.joinDepth++
	defer func() { sb.joinDepth-- }()
	return must(orig(call.This, call.Arguments...))
}

// stringRepeat is String.prototype.repeat with the result's length bounded.
func (sb *Sandbox) stringRepeat(orig goja.Callable, call goja.FunctionCall) goja.Value {
	s := sb.thisString("repeat", call.This)
	n := call.Argument(0).ToNumber()
	if f := n.ToFloat(); !math.IsNaN(f) && !math.IsInf(f, 0) && f >= 1 {
		if float64(stringLength(s))*math.Trunc(f) > MaxStringLength {
			sb.rangeError("Invalid string length")
		}
		if sb.overBudget("String.prototype.repeat", float64(stringLength(s))*math.Trunc(f)) {
			return goja.Undefined()
		}
	}
	return must(orig(s, n))
}

// stringPad is String.prototype.padStart and padEnd with the result's
// length bounded (an empty fill string still returns the string unchanged).
func (sb *Sandbox) stringPad(orig goja.Callable, call goja.FunctionCall) goja.Value {
	s := sb.thisString("padStart", call.This)
	n := call.Argument(0).ToNumber()
	args := []goja.Value{n}
	fill := call.Argument(1)
	if !goja.IsUndefined(fill) {
		fill = fill.ToString()
		args = append(args, fill)
	}
	f := n.ToFloat()
	if f > MaxStringLength && f > float64(stringLength(s)) && (goja.IsUndefined(fill) || stringLength(fill) > 0) {
		sb.rangeError("Invalid string length")
	}
	if f > float64(stringLength(s)) && (goja.IsUndefined(fill) || stringLength(fill) > 0) && sb.overBudget("String.prototype.padStart", f) {
		return goja.Undefined()
	}
	return must(orig(s, args...))
}

// stringLength is the length in UTF-16 units of a string value.
func stringLength(v goja.Value) int64 {
	if s, ok := v.(goja.String); ok {
		return int64(s.Length())
	}
	return 0
}
