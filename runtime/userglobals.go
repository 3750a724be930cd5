package runtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/dop251/goja"

	"github.com/devicejs/devicejs/runtime/sandbox"
)

// Globals are per-device values a host gives a script as plain global variables before the
// script runs: `--define KEY=VALUE` on run and fleet, devicejs.Config.Globals, and
// device.start(file, {globals}) in tests all end here. Each value must be plain JSON (null,
// booleans, finite numbers, strings, arrays and objects of them): anything encoding/json cannot
// encode (functions, channels, NaN, ±Inf, cycles) is refused with an error naming the key. The
// script sees a fresh copy made of plain JS objects and arrays, never a Go value.
//
// A real device has no such mechanism; docs/api.md ("Per-device values") shows how one script
// serves both: `var DEVICE_ID = typeof DEVICE_ID !== 'undefined' ? DEVICE_ID : 'sensor01';`.
type Globals map[string]any

// MaxGlobalsBytes bounds the JSON encoding of all of a device's Globals together (1 MiB).
const MaxGlobalsBytes = 1 << 20

// maxGlobalsDepth bounds the nesting of one value (arrays and objects).
const maxGlobalsDepth = 100

// GlobalsError is the error for a bad per-device value: Key names it.
type GlobalsError struct {
	Key string // the global's name
	Err error  // what is wrong with it
}

func (e *GlobalsError) Error() string { return fmt.Sprintf("global %q: %v", e.Key, e.Err) }
func (e *GlobalsError) Unwrap() error { return e.Err }

// ErrGlobalName is wrapped by a GlobalsError whose key is not a usable global name: not an
// identifier, a reserved word, or a name the device or ECMAScript already defines.
var ErrGlobalName = errors.New("not a usable global name")

// unusableNames are the names no per-device global can take: the ECMAScript reserved words and
// the strict-mode ones (none can be a variable's name), and the names of the device's own
// globals and of the ECMAScript globals that a per-device value must not replace (Setup also
// refuses any other name the global object already has). Built at the first name checked, not
// at init: most processes define no global.
var unusableNames = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`break case catch class const continue debugger default delete do
		else enum export extends false finally for function if import in instanceof new null return
		super switch this throw true try typeof var void while with yield let static implements
		interface package private protected public await arguments eval`) {
		m[w] = true
	}
	for _, w := range strings.Fields(`mqtt print setTimeout setInterval clearTimeout clearInterval
		globalThis undefined NaN Infinity Object Function Array String Number Boolean Symbol BigInt
		Math JSON Date RegExp Error Promise Proxy Reflect Map Set WeakMap WeakSet`) {
		m[w] = true
	}
	return m
})

// checkGlobalName reports a name that cannot be a per-device global.
func checkGlobalName(name string) error {
	if name == "" || unusableNames()[name] {
		return ErrGlobalName
	}
	for i, r := range name {
		ok := r == '_' || r == '$' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9'
		if !ok {
			return ErrGlobalName
		}
	}
	return nil
}

// Validate checks every name and value of g and returns a *GlobalsError for the first bad one
// (in name order), or an error when they encode to more than MaxGlobalsBytes.
func (g Globals) Validate() error {
	_, err := g.encode()
	return err
}

// encode checks g and returns each value as JSON text.
func (g Globals) encode() (map[string][]byte, error) {
	names := make([]string, 0, len(g))
	for k := range g {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make(map[string][]byte, len(g))
	total := 0
	for _, k := range names {
		if err := checkGlobalName(k); err != nil {
			return nil, &GlobalsError{Key: k, Err: err}
		}
		b, err := json.Marshal(g[k])
		if err != nil {
			var ue *json.UnsupportedValueError
			var te *json.UnsupportedTypeError
			switch {
			case errors.As(err, &ue):
				err = fmt.Errorf("not plain JSON: %s", ue.Str)
			case errors.As(err, &te):
				err = fmt.Errorf("not plain JSON: a Go %s", te.Type)
			}
			return nil, &GlobalsError{Key: k, Err: err}
		}
		if sandbox.JSONDepth(string(b)) > maxGlobalsDepth {
			return nil, &GlobalsError{Key: k, Err: fmt.Errorf("nested deeper than %d levels", maxGlobalsDepth)}
		}
		if total += len(b); total > MaxGlobalsBytes {
			return nil, &GlobalsError{Key: k, Err: fmt.Errorf("the values encode to more than %d bytes", MaxGlobalsBytes)}
		}
		out[k] = b
	}
	return out, nil
}

// ParseGlobal reads one `--define KEY=VALUE`: VALUE is taken as JSON when it is a JSON text
// (`N=3`, `ON=true`, `CFG={"a":1}`, `S="042"`), else as a plain string (`ID=sensor-042`). The
// name is checked as by Validate.
func ParseGlobal(def string) (string, any, error) {
	k, v, ok := strings.Cut(def, "=")
	if !ok {
		return "", nil, fmt.Errorf("%q: want KEY=VALUE", def)
	}
	if err := checkGlobalName(k); err != nil {
		return "", nil, &GlobalsError{Key: k, Err: err}
	}
	var x any
	d := json.NewDecoder(strings.NewReader(v))
	d.UseNumber()
	if err := d.Decode(&x); err == nil && !d.More() && json.Valid([]byte(v)) {
		return k, x, nil
	}
	return k, v, nil
}

// Setup returns a setup function for Loop.Run that defines each value of g as a global
// (writable, enumerable and configurable, like an assignment to globalThis) made of plain JS
// objects and arrays. It fails, naming the key, for a value Validate refuses or a name the
// global object already has (run it after the bindings' setup so that `mqtt` is there). Loop
// only.
func (g Globals) Setup() func(*Loop) error {
	enc, err := g.encode()
	return func(l *Loop) error {
		if err != nil {
			return err
		}
		names := make([]string, 0, len(enc))
		for k := range enc {
			names = append(names, k)
		}
		sort.Strings(names)
		global := l.vm.GlobalObject()
		for _, k := range names {
			if global.Get(k) != nil {
				return &GlobalsError{Key: k, Err: ErrGlobalName}
			}
			d := json.NewDecoder(bytes.NewReader(enc[k]))
			d.UseNumber()
			v, err := plainValue(l.vm, d, 0)
			if err != nil {
				return &GlobalsError{Key: k, Err: err}
			}
			if err := global.DefineDataProperty(k, v, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE); err != nil {
				return &GlobalsError{Key: k, Err: err}
			}
		}
		return nil
	}
}

// plainValue builds the JS value of the next JSON value of d from plain objects and arrays,
// keeping the order of object keys; keys are defined as own data properties, so "__proto__" is
// an ordinary key, as in JSON.parse.
func plainValue(vm *goja.Runtime, d *json.Decoder, depth int) (goja.Value, error) {
	if depth > maxGlobalsDepth {
		return nil, fmt.Errorf("nested deeper than %d levels", maxGlobalsDepth)
	}
	t, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch t := t.(type) {
	case nil:
		return goja.Null(), nil
	case bool, string:
		return vm.ToValue(t), nil
	case json.Number:
		if i, err := strconv.ParseInt(string(t), 10, 64); err == nil && i > -1<<53 && i < 1<<53 {
			return vm.ToValue(i), nil
		}
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil || math.IsInf(f, 0) {
			return nil, fmt.Errorf("number %s out of range", t)
		}
		return vm.ToValue(f), nil
	case json.Delim:
		switch t {
		case '[':
			var items []any
			for d.More() {
				v, err := plainValue(vm, d, depth+1)
				if err != nil {
					return nil, err
				}
				items = append(items, v)
			}
			if _, err := d.Token(); err != nil {
				return nil, err
			}
			return vm.NewArray(items...), nil
		case '{':
			o := vm.NewObject()
			for d.More() {
				kt, err := d.Token()
				if err != nil {
					return nil, err
				}
				v, err := plainValue(vm, d, depth+1)
				if err != nil {
					return nil, err
				}
				if err := o.DefineDataProperty(kt.(string), v, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE); err != nil {
					return nil, err
				}
			}
			if _, err := d.Token(); err != nil {
				return nil, err
			}
			return o, nil
		}
	}
	return nil, fmt.Errorf("not plain JSON: %v", t)
}
