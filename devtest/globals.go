package devtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/dop251/goja"

	"github.com/devicejs/devicejs/runtime"
)

// device.start(file, {globals: {NAME: value}}): plain JSON values the device script sees as
// globals before it runs (runtime.Globals). The test file's values are converted to JSON here,
// on the test file's loop, keeping the order of object keys; a value that is not plain JSON
// (a function, undefined, a symbol, a BigInt, NaN, ±Infinity, a cycle, a Date, Map or any
// other non-plain object), nesting deeper than 100 levels or more than 1 MiB in all is a
// TypeError naming the key and where in the value, and so is a name that cannot be a global
// (not an identifier, a reserved word, or a global the device has: mqtt, print, ...).

// maxGlobalsDepth is runtime.Globals' nesting bound.
const maxGlobalsDepth = 100

// globalsJSON converts the globals option of device.start. It throws a TypeError for a bad
// value.
func (f *fileRun) globalsJSON(v goja.Value) runtime.Globals {
	o, ok := v.(*goja.Object)
	if !ok || objKind(o) != kindPlain {
		f.throw("TypeError", "device.start: globals: want an object of NAME: value, got "+describe(v))
	}
	g := runtime.Globals{}
	enc := &globalsEncoder{vm: f.loop.VM(), onPath: map[*goja.Object]bool{}}
	for _, k := range o.Keys() {
		var b bytes.Buffer
		enc.b = &b
		var err error
		if ex := f.loop.VM().Try(func() { err = enc.value(o.Get(k), k, 0) }); ex != nil {
			err = fmt.Errorf("reading it threw %s", ex.Value().String())
		}
		if err != nil {
			f.throw("TypeError", fmt.Sprintf("device.start: globals: %q: %v", k, err))
		}
		g[k] = json.RawMessage(b.Bytes())
	}
	if err := g.Validate(); err != nil {
		f.throw("TypeError", "device.start: globals: "+err.Error())
	}
	return g
}

// globalsEncoder writes a JS value as JSON, refusing what is not plain JSON.
type globalsEncoder struct {
	vm     *goja.Runtime
	b      *bytes.Buffer
	total  int
	onPath map[*goja.Object]bool
}

func (e *globalsEncoder) value(v goja.Value, at string, depth int) error {
	if depth > maxGlobalsDepth {
		return fmt.Errorf("at %s: nested deeper than %d levels", at, maxGlobalsDepth)
	}
	if e.b.Len()+e.total > runtime.MaxGlobalsBytes {
		return fmt.Errorf("the values encode to more than %d bytes", runtime.MaxGlobalsBytes)
	}
	notJSON := func(what string) error { return fmt.Errorf("at %s: %s is not plain JSON", at, what) }
	switch primKind(v) {
	case "undefined":
		return notJSON("undefined")
	case "null":
		e.b.WriteString("null")
		return nil
	case "boolean":
		e.b.WriteString(strconv.FormatBool(v.ToBoolean()))
		return nil
	case "number":
		n := v.ToFloat()
		if math.IsNaN(n) || math.IsInf(n, 0) {
			return notJSON(describe(v))
		}
		out, err := json.Marshal(n)
		if err != nil {
			return notJSON(describe(v))
		}
		e.b.Write(out)
		return nil
	case "string":
		out, _ := json.Marshal(v.String())
		e.b.Write(out)
		return nil
	case "bigint":
		return notJSON("a BigInt")
	case "symbol":
		return notJSON("a symbol")
	}
	o := v.(*goja.Object)
	kind := objKind(o)
	if kind != kindPlain && kind != kindArray {
		return notJSON("a " + kind.String())
	}
	if e.onPath[o] {
		return fmt.Errorf("at %s: a cycle (the value contains itself)", at)
	}
	e.onPath[o] = true
	defer delete(e.onPath, o)
	if kind == kindArray {
		n := o.Get("length").ToInteger()
		if n > runtime.MaxGlobalsBytes {
			return fmt.Errorf("at %s: an array of %d elements (more than %d bytes)", at, n, runtime.MaxGlobalsBytes)
		}
		e.b.WriteByte('[')
		for i := int64(0); i < n; i++ {
			if i > 0 {
				e.b.WriteByte(',')
			}
			if err := e.value(o.Get(strconv.FormatInt(i, 10)), fmt.Sprintf("%s[%d]", at, i), depth+1); err != nil {
				return err
			}
		}
		e.b.WriteByte(']')
		return nil
	}
	e.b.WriteByte('{')
	for i, k := range o.Keys() {
		if i > 0 {
			e.b.WriteByte(',')
		}
		key, _ := json.Marshal(k)
		e.b.Write(key)
		e.b.WriteByte(':')
		if err := e.value(o.Get(k), at+keyPath(k, false), depth+1); err != nil {
			return err
		}
	}
	e.b.WriteByte('}')
	return nil
}
