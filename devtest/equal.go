package devtest

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/dop251/goja"
)

// Structural equality for toEqual (and toContain), in Go over goja values. It never goes
// through a lossy form (JSON, String()): docs/testing.md, "Equality", states the rules.
//
//   - numbers: SameValueZero (NaN equals NaN, +0 equals -0); other primitives: ===.
//   - functions, symbols, Proxies and built-ins with hidden state (Promise, WeakMap, WeakSet,
//     DataView, generators, ...): identity only. A Proxy's traps are script code that can
//     answer differently each time, so a Proxy equals only itself.
//   - objects: the same own enumerable keys (strings and symbols) with equal values; a property
//     whose value is undefined counts as missing ({a: undefined} equals {}), as in Jest's
//     toEqual. Prototypes are not compared: a class instance equals a plain object with the
//     same own properties (Jest's toEqual; toStrictEqual is not provided).
//   - arrays: the same length and equal elements; a hole equals undefined; both arrays.
//   - typed arrays: the same kind, length and elements; ArrayBuffers: the same bytes.
//   - Date: the same time value (two invalid dates are equal); RegExp: same source and flags;
//     Error: same name and message, then own enumerable properties; boxed primitives: their
//     values.
//   - Map and Set: the same size and, regardless of order, equal keys with equal values /
//     equal members.
//   - cycles: a pair of objects met again on the current path is taken as equal (as Jest).
//
// Reading a property runs its getter: a getter that throws fails the test with its error.
// Nesting deeper than maxEqualDepth or more than maxEqualValues values is an error, not a Go
// stack overflow.

const (
	maxEqualDepth  = 1000
	maxEqualValues = 200_000
)

// errEqualTooBig is the error of a comparison past maxEqualDepth or maxEqualValues.
var errEqualTooBig = errors.New("too big to compare")

type eqPair struct{ a, b *goja.Object }

// equality is one comparison.
type equality struct {
	vm      *goja.Runtime
	values  int
	onPath  map[eqPair]bool
	partial bool // partialMatch: only the expected value's own keys are compared
}

// deepEqual compares got with want. diff describes the first difference found ("at .a[2]:
// expected 1, got 2"); err is set when the values are too deep or too big to compare.
func deepEqual(vm *goja.Runtime, got, want goja.Value) (eq bool, diff string, err error) {
	e := &equality{vm: vm, onPath: map[eqPair]bool{}}
	return e.equal(got, want, 0, "")
}

// partialMatch reports whether got matches want partially (toHavePublished's json): as
// deepEqual, except that an object matches when it has want's own enumerable keys with
// matching values, whatever other keys it has, at every depth; arrays still need the same
// length, their elements matched partially.
func partialMatch(vm *goja.Runtime, got, want goja.Value) (eq bool, diff string, err error) {
	e := &equality{vm: vm, onPath: map[eqPair]bool{}, partial: true}
	return e.equal(got, want, 0, "")
}

// sameValueZero compares two numbers: NaN equals NaN, +0 equals -0.
func sameValueZero(a, b float64) bool { return a == b || (a != a && b != b) }

func isNil(v goja.Value) bool { return v == nil || goja.IsUndefined(v) }

// primKind is the typeof of a primitive ("object" for objects).
func primKind(v goja.Value) string {
	switch {
	case isNil(v):
		return "undefined"
	case goja.IsNull(v):
		return "null"
	case goja.IsNumber(v):
		return "number"
	case goja.IsString(v):
		return "string"
	case goja.IsBigInt(v):
		return "bigint"
	}
	switch v.(type) {
	case *goja.Symbol:
		return "symbol"
	case *goja.Object:
		return "object"
	}
	return "boolean"
}

func (e *equality) mismatch(path, what string, got, want goja.Value) (bool, string, error) {
	at := path
	if at == "" {
		at = "the value"
	}
	if what != "" {
		what = " (" + what + ")"
	}
	return false, fmt.Sprintf("at %s%s: expected %s, got %s", at, what, describe(want), describe(got)), nil
}

func (e *equality) equal(got, want goja.Value, depth int, path string) (bool, string, error) {
	e.values++
	if e.values > maxEqualValues {
		return false, "", fmt.Errorf("%w: more than %d values", errEqualTooBig, maxEqualValues)
	}
	if depth > maxEqualDepth {
		return false, "", fmt.Errorf("%w: nested deeper than %d levels (at %s)", errEqualTooBig, maxEqualDepth, truncate(path, 80))
	}
	kg, kw := primKind(got), primKind(want)
	if kg != kw {
		return e.mismatch(path, "", got, want)
	}
	switch kg {
	case "undefined", "null":
		return true, "", nil
	case "number":
		if sameValueZero(got.ToFloat(), want.ToFloat()) {
			return true, "", nil
		}
		return e.mismatch(path, "", got, want)
	case "object":
	default: // string, boolean, bigint, symbol (by identity)
		if got.StrictEquals(want) {
			return true, "", nil
		}
		return e.mismatch(path, "", got, want)
	}
	a, b := got.(*goja.Object), want.(*goja.Object)
	if a == b {
		return true, "", nil
	}
	pair := eqPair{a, b}
	if e.onPath[pair] {
		return true, "", nil // a cycle met again: equal so far (Jest)
	}
	e.onPath[pair] = true
	defer delete(e.onPath, pair)

	ka, kb := objKind(a), objKind(b)
	if ka != kb {
		return e.mismatch(path, "got a "+ka.String()+", expected a "+kb.String(), got, want)
	}
	switch ka {
	case kindIdentity, kindFunction, kindProxy:
		return e.mismatch(path, ka.String()+"s are equal only to themselves", got, want)
	case kindDate:
		ta, _ := a.Export().(time.Time)
		tb, _ := b.Export().(time.Time)
		if a.Export() == nil && b.Export() == nil || a.Export() != nil && b.Export() != nil && ta.Equal(tb) {
			return e.keys(a, b, depth, path)
		}
		return e.mismatch(path, "", got, want)
	case kindRegExp:
		if a.Get("source").String() != b.Get("source").String() || a.Get("flags").String() != b.Get("flags").String() {
			return e.mismatch(path, "", got, want)
		}
		return e.keys(a, b, depth, path)
	case kindBoxed:
		if ok, d, err := e.equal(boxedValue(e.vm, a), boxedValue(e.vm, b), depth+1, path); !ok || err != nil {
			return ok, d, err
		}
		return e.keys(a, b, depth, path)
	case kindError:
		for _, k := range []string{"name", "message"} {
			if ok, d, err := e.equal(a.Get(k), b.Get(k), depth+1, path+"."+k); !ok || err != nil {
				return ok, d, err
			}
		}
		return e.keys(a, b, depth, path)
	case kindArray:
		la, lb := a.Get("length").ToInteger(), b.Get("length").ToInteger()
		if la != lb {
			return e.mismatch(path, fmt.Sprintf("length %d, expected length %d", la, lb), got, want)
		}
		if la > int64(maxEqualValues-e.values) {
			return false, "", fmt.Errorf("%w: an array of length %d (more than %d values)", errEqualTooBig, la, maxEqualValues)
		}
		return e.keys(a, b, depth, path)
	case kindTyped:
		if a.ExportType() != b.ExportType() {
			return e.mismatch(path, "typed arrays of different kinds", got, want)
		}
		va, vb := reflect.ValueOf(a.Export()), reflect.ValueOf(b.Export())
		if va.Len() != vb.Len() {
			return e.mismatch(path, fmt.Sprintf("length %d, expected length %d", va.Len(), vb.Len()), got, want)
		}
		e.values += va.Len()
		for i := 0; i < va.Len(); i++ {
			x, y := va.Index(i), vb.Index(i)
			same := x.Equal(y)
			if x.CanFloat() {
				same = sameValueZero(x.Float(), y.Float())
			}
			if !same {
				return e.mismatch(fmt.Sprintf("%s[%d]", path, i), "", e.vm.ToValue(x.Interface()), e.vm.ToValue(y.Interface()))
			}
		}
		return true, "", nil
	case kindBuffer:
		ba, _ := a.Export().(goja.ArrayBuffer)
		bb, _ := b.Export().(goja.ArrayBuffer)
		if string(ba.Bytes()) != string(bb.Bytes()) {
			return e.mismatch(path, "different bytes", got, want)
		}
		return true, "", nil
	case kindMap, kindSet:
		return e.collection(a, b, ka == kindMap, depth, path)
	}
	return e.keys(a, b, depth, path)
}

// keys compares the own enumerable properties (string keys, then symbol keys); undefined
// counts as missing.
func (e *equality) keys(a, b *goja.Object, depth int, path string) (bool, string, error) {
	ak, bk := a.Keys(), b.Keys()
	e.values += len(ak) + len(bk)
	if e.values > maxEqualValues {
		return false, "", fmt.Errorf("%w: more than %d values", errEqualTooBig, maxEqualValues)
	}
	seen := make(map[string]bool, len(bk))
	isArr := a.ClassName() == "Array"
	check := func(k string) (bool, string, error) {
		return e.equal(a.Get(k), b.Get(k), depth+1, path+keyPath(k, isArr))
	}
	for _, k := range bk {
		seen[k] = true
		if ok, d, err := check(k); !ok || err != nil {
			return ok, d, err
		}
	}
	for _, k := range ak {
		if !seen[k] && !e.partial {
			if ok, d, err := check(k); !ok || err != nil {
				return ok, d, err
			}
		}
	}
	as, bs := a.Symbols(), b.Symbols()
	seenSym := map[*goja.Symbol]bool{}
	lists := [][]*goja.Symbol{bs, as}
	if e.partial {
		lists = lists[:1]
	}
	for _, list := range lists {
		for _, s := range list {
			if seenSym[s] {
				continue
			}
			seenSym[s] = true
			if ok, d, err := e.equal(a.GetSymbol(s), b.GetSymbol(s), depth+1, path+"["+symbolString(s)+"]"); !ok || err != nil {
				return ok, d, err
			}
		}
	}
	return true, "", nil
}

// collection compares Maps (isMap) or Sets regardless of order.
func (e *equality) collection(a, b *goja.Object, isMap bool, depth int, path string) (bool, string, error) {
	ea, eb := e.entries(a, isMap), e.entries(b, isMap)
	if len(ea) != len(eb) {
		return e.mismatch(path, fmt.Sprintf("size %d, expected size %d", len(ea), len(eb)), a, b)
	}
	used := make([]bool, len(eb))
	for _, x := range ea {
		found := false
		for j, y := range eb {
			if used[j] {
				continue
			}
			ok, _, err := e.equal(x[0], y[0], depth+1, path)
			if err == nil && ok && isMap {
				ok, _, err = e.equal(x[1], y[1], depth+1, path)
			}
			if err != nil {
				return false, "", err
			}
			if ok {
				used[j], found = true, true
				break
			}
		}
		if !found {
			what := "member " + describe(x[0]) + " not expected"
			if isMap {
				what = "entry " + describe(x[0]) + " => " + describe(x[1]) + " not expected"
			}
			return e.mismatch(path, what, a, b)
		}
	}
	return true, "", nil
}

// entries lists a Map's [key, value] pairs or a Set's members (in [0]) through the built-in
// iterator.
func (e *equality) entries(o *goja.Object, isMap bool) [][2]goja.Value {
	var out [][2]goja.Value
	e.vm.ForOf(o, func(v goja.Value) bool {
		e.values++
		if e.values > maxEqualValues {
			panic(e.vm.NewGoError(fmt.Errorf("%w: more than %d values", errEqualTooBig, maxEqualValues)))
		}
		if isMap {
			if p, ok := v.(*goja.Object); ok {
				out = append(out, [2]goja.Value{p.Get("0"), p.Get("1")})
			}
			return true
		}
		out = append(out, [2]goja.Value{v, nil})
		return true
	})
	return out
}

// keyPath renders a property key for a difference's path.
func keyPath(k string, index bool) string {
	if index {
		if _, err := strconv.ParseUint(k, 10, 32); err == nil {
			return "[" + k + "]"
		}
	}
	if isIdent(k) {
		return "." + k
	}
	return "[" + strconv.Quote(truncate(k, 40)) + "]"
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r == '$' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// objectKind is how an object is compared.
type objectKind int

const (
	kindPlain objectKind = iota
	kindArray
	kindFunction
	kindProxy
	kindIdentity // built-ins with hidden state
	kindDate
	kindRegExp
	kindError
	kindBoxed
	kindTyped
	kindBuffer
	kindMap
	kindSet
)

func (k objectKind) String() string {
	return [...]string{"plain object", "array", "function", "Proxy", "built-in object", "Date", "RegExp",
		"Error", "boxed primitive", "typed array", "ArrayBuffer", "Map", "Set"}[k]
}

var (
	typeProxy   = reflect.TypeOf(goja.Proxy{})
	typeBuffer  = reflect.TypeOf(goja.ArrayBuffer{})
	typePromise = reflect.TypeOf((*goja.Promise)(nil))
	typeMap     = reflect.TypeOf([][2]any{})
	typeSet     = reflect.TypeOf([]any{})
)

// hiddenStateTags are the @@toStringTag of built-ins whose state is not in properties.
var hiddenStateTags = map[string]bool{"DataView": true, "WeakMap": true, "WeakSet": true, "WeakRef": true,
	"Generator": true, "AsyncGenerator": true, "FinalizationRegistry": true, "Promise": true,
	"AsyncFunction": true, "GeneratorFunction": true}

// objKind classifies an object without running script code (except a @@toStringTag getter).
func objKind(o *goja.Object) objectKind {
	t := o.ExportType()
	switch t {
	case typeProxy:
		return kindProxy
	case typeBuffer:
		return kindBuffer
	case typePromise:
		return kindIdentity
	}
	switch o.ClassName() {
	case "Function":
		return kindFunction
	case "Array":
		return kindArray
	case "Date":
		return kindDate
	case "RegExp":
		return kindRegExp
	case "Error":
		return kindError
	case "Number", "String", "Boolean":
		return kindBoxed
	case "Arguments":
		return kindPlain
	}
	if _, ok := goja.AssertFunction(o); ok {
		return kindFunction
	}
	if t != nil && t.Kind() == reflect.Slice {
		switch t.Elem().Kind() {
		case reflect.Int8, reflect.Uint8, reflect.Int16, reflect.Uint16, reflect.Int32, reflect.Uint32,
			reflect.Int64, reflect.Uint64, reflect.Float32, reflect.Float64:
			return kindTyped
		}
	}
	tag := o.GetSymbol(goja.SymToStringTag)
	if tag != nil && goja.IsString(tag) {
		switch s := tag.String(); {
		case s == "Map" && t == typeMap:
			return kindMap
		case s == "Set" && t == typeSet:
			return kindSet
		case hiddenStateTags[s]:
			return kindIdentity
		}
	}
	return kindPlain
}

// boxedValue is the primitive inside a Number, String or Boolean object.
func boxedValue(vm *goja.Runtime, o *goja.Object) goja.Value {
	switch o.ClassName() {
	case "Number":
		return o.ToNumber()
	case "Boolean":
		if b, ok := o.Export().(bool); ok {
			return vm.ToValue(b)
		}
	}
	return vm.ToValue(o.String())
}

// Rendering of values for messages: JS-like, bounded in depth, items and length, without
// JSON (which loses NaN, Infinity, -0, undefined and functions).

const (
	renderDepth = 4
	renderItems = 20
	renderChars = 600
)

// describe renders a JS value for messages (at most about renderChars characters).
func describe(v goja.Value) string {
	r := &renderer{onPath: map[*goja.Object]bool{}}
	r.render(v, 0)
	s := r.b.String()
	if len(s) > renderChars {
		s = s[:renderChars] + "... (" + strconv.Itoa(len(s)-renderChars) + " more characters)"
	}
	return s
}

type renderer struct {
	b      strings.Builder
	onPath map[*goja.Object]bool
}

func (r *renderer) full() bool { return r.b.Len() > renderChars }

func (r *renderer) render(v goja.Value, depth int) {
	if r.full() {
		return
	}
	switch primKind(v) {
	case "undefined":
		r.b.WriteString("undefined")
		return
	case "null":
		r.b.WriteString("null")
		return
	case "number":
		r.b.WriteString(fmtNum(v.ToFloat()))
		return
	case "string":
		s := v.String()
		if len(s) > renderChars {
			s = s[:renderChars] + "..."
		}
		r.b.WriteString(strconv.Quote(s))
		return
	case "bigint":
		r.b.WriteString(v.String() + "n")
		return
	case "symbol":
		r.b.WriteString(symbolString(v.(*goja.Symbol)))
		return
	case "boolean":
		r.b.WriteString(v.String())
		return
	}
	o := v.(*goja.Object)
	if r.onPath[o] {
		r.b.WriteString("[Circular]")
		return
	}
	r.onPath[o] = true
	defer delete(r.onPath, o)
	k := objKind(o)
	switch k {
	case kindFunction:
		name := ""
		if n := o.Get("name"); n != nil && goja.IsString(n) {
			name = " " + truncate(n.String(), 60)
		}
		r.b.WriteString("[Function" + name + "]")
		return
	case kindProxy:
		r.b.WriteString("[Proxy]")
		return
	case kindIdentity:
		tag := "Object"
		if t := o.GetSymbol(goja.SymToStringTag); t != nil && goja.IsString(t) {
			tag = t.String()
		}
		r.b.WriteString("[" + tag + "]")
		return
	case kindDate:
		if t, ok := o.Export().(time.Time); ok {
			r.b.WriteString("Date(" + t.UTC().Format("2006-01-02T15:04:05.000Z") + ")")
		} else {
			r.b.WriteString("Date(Invalid)")
		}
		return
	case kindRegExp:
		r.b.WriteString("/" + truncate(o.Get("source").String(), 200) + "/" + o.Get("flags").String())
		return
	case kindError:
		r.b.WriteString(truncate(o.Get("name").String(), 60) + "(")
		r.render(o.Get("message"), depth+1)
		r.b.WriteString(")")
		return
	case kindBoxed:
		switch x := o.Export().(type) {
		case bool, int64:
			fmt.Fprintf(&r.b, "[%s: %v]", o.ClassName(), x)
		case float64:
			fmt.Fprintf(&r.b, "[%s: %s]", o.ClassName(), fmtNum(x))
		default:
			fmt.Fprintf(&r.b, "[%s: %q]", o.ClassName(), truncate(o.String(), 200))
		}
		return
	case kindBuffer:
		ab, _ := o.Export().(goja.ArrayBuffer)
		fmt.Fprintf(&r.b, "ArrayBuffer(%d)", len(ab.Bytes()))
		return
	case kindTyped:
		rv := reflect.ValueOf(o.Export())
		kind := rv.Type().Elem().Kind().String() // uint8, float64, ...
		fmt.Fprintf(&r.b, "%s%sArray(%d) [", strings.ToUpper(kind[:1]), kind[1:], rv.Len())
		for i := 0; i < rv.Len() && i < renderItems; i++ {
			if i > 0 {
				r.b.WriteString(", ")
			}
			if x := rv.Index(i); x.CanFloat() {
				r.b.WriteString(fmtNum(x.Float()))
			} else {
				fmt.Fprint(&r.b, x.Interface())
			}
		}
		if rv.Len() > renderItems {
			fmt.Fprintf(&r.b, ", ... %d more", rv.Len()-renderItems)
		}
		r.b.WriteString("]")
		return
	case kindMap, kindSet:
		name := map[bool]string{true: "Map", false: "Set"}[k == kindMap]
		fmt.Fprintf(&r.b, "%s(%s) {...}", name, o.Get("size").String())
		return
	}
	isArr := k == kindArray
	if depth >= renderDepth {
		r.b.WriteString(map[bool]string{true: "[Array]", false: "[Object]"}[isArr])
		return
	}
	open, end := "{", "}"
	if isArr {
		open, end = "[", "]"
	}
	r.b.WriteString(open)
	if isArr {
		n := o.Get("length").ToInteger()
		for i := int64(0); i < n; i++ {
			if i > 0 {
				r.b.WriteString(", ")
			}
			if i == renderItems || r.full() {
				fmt.Fprintf(&r.b, "... %d more", n-i)
				break
			}
			r.render(o.Get(strconv.FormatInt(i, 10)), depth+1)
		}
		r.b.WriteString(end)
		return
	}
	keys := o.Keys()
	for i, key := range keys {
		if i > 0 {
			r.b.WriteString(", ")
		}
		if i == renderItems || r.full() {
			fmt.Fprintf(&r.b, "... %d more", len(keys)-i)
			break
		}
		if isIdent(key) {
			r.b.WriteString(key + ": ")
		} else {
			r.b.WriteString(strconv.Quote(truncate(key, 40)) + ": ")
		}
		r.render(o.Get(key), depth+1)
	}
	r.b.WriteString(end)
}

// fmtNum renders a number as JS does, -0 as -0.
func fmtNum(f float64) string {
	switch {
	case f != f:
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0 && math.Signbit(f):
		return "-0"
	}
	if a := math.Abs(f); a >= 1e-6 && a < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func symbolString(s *goja.Symbol) string { return "Symbol(" + truncate(s.String(), 60) + ")" }
