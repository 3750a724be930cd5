package bindings

import (
	"math"
	"reflect"
	"time"

	"github.com/dop251/goja"

	"github.com/devicejs/devicejs/mqttcore"
)

// Argument helpers. Each returns (value, ok) and never panics for any JS value, including
// objects with throwing getters and Proxies: script code that runs while an argument is read
// (a getter, a Proxy trap) and throws makes the argument invalid (ok == false) rather than
// propagating. Uncatchable errors (interrupts, stack overflow) still propagate, through
// goja.Runtime.Try. All helpers are loop only.
//
// Conventions (docs/api.md, "Arguments"):
//   - a missing argument and undefined are the same thing;
//   - an optional object argument may also be null, which means "not given";
//   - numbers must be number primitives that are finite and integer valued (no numeric strings,
//     no Number objects, no NaN or Infinity); -0 is 0;
//   - strings must be string primitives (no String objects); strings that name something
//     (url, topic, clientId, ...) must not contain lone UTF-16 surrogates;
//   - booleans must be boolean primitives;
//   - an option field that is undefined (or absent) takes its default.

// maxSafeInteger is Number.MAX_SAFE_INTEGER: the integer range where every JS number is exact.
const maxSafeInteger = 1<<53 - 1

// absent reports whether v is a missing argument or undefined.
func absent(v goja.Value) bool {
	return v == nil || goja.IsUndefined(v)
}

// absentOrNull reports whether v is missing, undefined or null.
func absentOrNull(v goja.Value) bool {
	return absent(v) || goja.IsNull(v)
}

// nameString returns v as a Go string if v is a string primitive holding well-formed UTF-16
// (no lone surrogates), so that the UTF-8 result is exactly what the script wrote.
func nameString(v goja.Value) (string, bool) {
	s, ok := v.(goja.String)
	if !ok {
		return "", false
	}
	n := s.Length()
	for i := 0; i < n; i++ {
		c := s.CharAt(i)
		switch {
		case c >= 0xD800 && c <= 0xDBFF: // high surrogate: a low one must follow
			if i+1 >= n {
				return "", false
			}
			if d := s.CharAt(i + 1); d < 0xDC00 || d > 0xDFFF {
				return "", false
			}
			i++
		case c >= 0xDC00 && c <= 0xDFFF: // low surrogate without a high one
			return "", false
		}
	}
	return s.String(), true
}

// payloadString returns v as UTF-8 if v is a string primitive. Lone surrogates become U+FFFD,
// as TextEncoder does, so every string can be published (goja's String decodes UTF-16 with
// unicode/utf16, which does exactly that).
func payloadString(v goja.Value) (string, bool) {
	s, ok := v.(goja.String)
	if !ok {
		return "", false
	}
	return s.String(), true
}

// integer returns v as an int64 if v is a finite, integer-valued number primitive within
// ±Number.MAX_SAFE_INTEGER.
func integer(v goja.Value) (int64, bool) {
	if v == nil {
		return 0, false
	}
	if _, isObj := v.(*goja.Object); isObj {
		return 0, false // Number objects are not numbers here
	}
	switch v.ExportType() {
	case typeInt64, typeFloat64:
	default:
		return 0, false // not a number primitive (goja exports numbers as int64 or float64)
	}
	f := v.ToFloat()
	if math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) || math.Abs(f) > maxSafeInteger {
		return 0, false
	}
	return int64(f), true
}

// boolean returns v as a bool if v is a boolean primitive.
func boolean(v goja.Value) (bool, bool) {
	if v == nil || v.ExportType() != typeBool {
		return false, false
	}
	if _, isObj := v.(*goja.Object); isObj {
		return false, false // Boolean objects are not booleans here
	}
	return v.ToBoolean(), true
}

// object returns v as an object (functions, arrays and Proxies included).
func object(v goja.Value) (*goja.Object, bool) {
	o, ok := v.(*goja.Object)
	return o, ok && o != nil
}

// function returns v as a callable function object.
func function(v goja.Value) (*goja.Object, goja.Callable, bool) {
	o, ok := object(v)
	if !ok {
		return nil, nil, false
	}
	fn, ok := goja.AssertFunction(o)
	if !ok {
		return nil, nil, false
	}
	return o, fn, true
}

// field reads o[name] (getters and Proxy traps run). ok is false if reading threw.
func field(vm *goja.Runtime, o *goja.Object, name string) (v goja.Value, ok bool) {
	if ex := vm.Try(func() { v = o.Get(name) }); ex != nil {
		return nil, false
	}
	return v, true
}

// optionsObject reads an optional options argument: (nil, true) when it is absent or null, the
// object when it is one, ok == false otherwise.
func optionsObject(v goja.Value) (*goja.Object, bool) {
	if absentOrNull(v) {
		return nil, true
	}
	return object(v)
}

// optionalCallback reads an optional callback argument: (nil, true) when it is absent or null,
// the function when it is one, ok == false for anything else.
func optionalCallback(v goja.Value) (*callback, bool) {
	if absentOrNull(v) {
		return nil, true
	}
	o, fn, ok := function(v)
	if !ok {
		return nil, false
	}
	return &callback{obj: o, fn: fn}, true
}

// callback is a script function kept for a later call on the loop.
type callback struct {
	obj *goja.Object // keeps the function reachable and identifies it
	fn  goja.Callable
}

// --- mqtt.connect(url[, options]) ---

// urlArg reads mqtt.connect's url: a string; its syntax is checked by mqttcore.ParseURL.
func urlArg(v goja.Value) (string, bool) {
	return nameString(v)
}

// connectOptionsArg reads mqtt.connect's options into mqttcore.Options, starting from the
// defaults. Unknown fields are ignored. Range checks are mqttcore's (Options.Validate), except
// where converting to Go units could overflow, and except that an explicit empty clientId is
// refused (mqttcore reads "" as "generate one").
func connectOptionsArg(vm *goja.Runtime, v goja.Value) (mqttcore.Options, bool) {
	o := mqttcore.DefaultOptions()
	obj, ok := optionsObject(v)
	if !ok {
		return o, false
	}
	if obj == nil {
		return o, true
	}
	ok = intField(vm, obj, "keepalive", func(n int64) bool { return durationOf(n, time.Second, &o.KeepAlive) }) &&
		stringField(vm, obj, "clientId", func(s string) bool { o.ClientID = s; return s != "" }) &&
		stringField(vm, obj, "protocolId", func(s string) bool { o.ProtocolID = s; return true }) &&
		intField(vm, obj, "protocolVersion", func(n int64) bool { return intOf(n, &o.ProtocolVersion) }) &&
		intField(vm, obj, "reconnectPeriod", func(n int64) bool { return durationOf(n, time.Millisecond, &o.ReconnectPeriod) }) &&
		intField(vm, obj, "connectTimeout", func(n int64) bool { return durationOf(n, time.Millisecond, &o.ConnectTimeout) }) &&
		stringField(vm, obj, "username", func(s string) bool { o.Username = &s; return true }) &&
		stringField(vm, obj, "password", func(s string) bool { o.Password = &s; return true }) &&
		intField(vm, obj, "reconnectCount", func(n int64) bool { return intOf(n, &o.ReconnectCount) }) &&
		intField(vm, obj, "sendBuffSize", func(n int64) bool { return intOf(n, &o.SendBuffSize) }) &&
		intField(vm, obj, "recvBuffSize", func(n int64) bool { return intOf(n, &o.RecvBuffSize) })
	return o, ok
}

// intField reads an optional integer field and hands it to set; absent or undefined keeps the
// default. ok is false for a wrong type, a throwing read or when set refuses the value.
func intField(vm *goja.Runtime, obj *goja.Object, name string, set func(int64) bool) bool {
	v, ok := field(vm, obj, name)
	if !ok {
		return false
	}
	if absent(v) {
		return true
	}
	n, ok := integer(v)
	return ok && set(n)
}

// stringField reads an optional string field (no lone surrogates) and hands it to set.
func stringField(vm *goja.Runtime, obj *goja.Object, name string, set func(string) bool) bool {
	v, ok := field(vm, obj, name)
	if !ok {
		return false
	}
	if absent(v) {
		return true
	}
	s, ok := nameString(v)
	return ok && set(s)
}

// boolField reads an optional boolean field and hands it to set.
func boolField(vm *goja.Runtime, obj *goja.Object, name string, set func(bool)) bool {
	v, ok := field(vm, obj, name)
	if !ok {
		return false
	}
	if absent(v) {
		return true
	}
	b, ok := boolean(v)
	if ok {
		set(b)
	}
	return ok
}

// qosField reads an optional qos field: an integer 0, 1 or 2.
func qosField(vm *goja.Runtime, obj *goja.Object, qos *byte) bool {
	return intField(vm, obj, "qos", func(n int64) bool {
		if n < 0 || n > 2 {
			return false
		}
		*qos = byte(n)
		return true
	})
}

// durationOf stores n units in *d, refusing negative values (mqttcore would refuse them too)
// and values whose conversion would overflow time.Duration.
func durationOf(n int64, unit time.Duration, d *time.Duration) bool {
	if n < 0 || n > int64(math.MaxInt64/unit) {
		return false
	}
	*d = time.Duration(n) * unit
	return true
}

// intOf stores n in *i if it fits in 32 bits (every spec range does; larger values are out of
// range anyway and must not wrap).
func intOf(n int64, i *int) bool {
	if n < math.MinInt32 || n > math.MaxInt32 {
		return false
	}
	*i = int(n)
	return true
}

// --- mqtt.set(name[, arg]) ---

// settingArgs reads mqtt.set's name and arg. arg absent or undefined means "clear"
// (value ""); null is treated the same way. Any other non-string arg is invalid.
func settingArgs(name, arg goja.Value) (setting, value string, ok bool) {
	setting, ok = nameString(name)
	if !ok {
		return "", "", false
	}
	if absentOrNull(arg) {
		return setting, "", true
	}
	value, ok = payloadString(arg)
	return setting, value, ok
}

// --- client.on(event, callback) ---

// eventArg reads .on's event name: one of the spec's six events.
func eventArg(v goja.Value) (event, bool) {
	s, ok := nameString(v)
	if !ok {
		return 0, false
	}
	for e, name := range eventNames {
		if name == s {
			return event(e), true
		}
	}
	return 0, false
}

// handlerArg reads .on's mandatory callback.
func handlerArg(v goja.Value) (*callback, bool) {
	o, fn, ok := function(v)
	if !ok {
		return nil, false
	}
	return &callback{obj: o, fn: fn}, true
}

// --- client.publish(topic, message[, options][, callback]) ---

// topicArg reads a topic name or filter; its syntax is mqttcore's (ValidateTopicName/Filter).
func topicArg(v goja.Value) (string, bool) {
	return nameString(v)
}

// messageArg reads .publish's message: a string (sent as UTF-8), an ArrayBuffer, or a view of
// one (any typed array or DataView: the bytes it views). The bytes are copied, so the script
// may change its buffer right after the call. What an object is comes from goja's Go-side type
// (bufferview.go), never from a built-in the script can replace (ArrayBuffer.isView,
// prototypes, Symbol.hasInstance): array-likes, Proxies and detached buffers are invalid, and
// nothing of the object is read. A message of more than mqttcore.HostMaxBuffSize bytes can fit
// no send buffer and is refused before it is copied.
func messageArg(vm *goja.Runtime, v goja.Value) ([]byte, bool) {
	if s, ok := v.(goja.String); ok {
		if s.Length() > mqttcore.HostMaxBuffSize { // UTF-8 takes at least a byte per UTF-16 unit
			return nil, false
		}
		return []byte(s.String()), true
	}
	obj, ok := object(v)
	if !ok {
		return nil, false
	}
	return bufferBytes(vm, obj, mqttcore.HostMaxBuffSize)
}

// publishArgs reads .publish's optional options and callback, allowing the callback in the
// options position: publish(t, m, cb).
func publishArgs(vm *goja.Runtime, optArg, cbArg goja.Value) (mqttcore.PublishOptions, *callback, bool) {
	var o mqttcore.PublishOptions
	if _, _, isFn := function(optArg); isFn {
		cb, _ := optionalCallback(optArg)
		return o, cb, absent(cbArg) || goja.IsNull(cbArg)
	}
	obj, ok := optionsObject(optArg)
	if !ok {
		return o, nil, false
	}
	if obj != nil {
		ok = qosField(vm, obj, &o.QoS) &&
			boolField(vm, obj, "retain", func(b bool) { o.Retain = b }) &&
			boolField(vm, obj, "dup", func(b bool) { o.Dup = b })
		if !ok {
			return o, nil, false
		}
	}
	cb, ok := optionalCallback(cbArg)
	return o, cb, ok
}

// subscribeArgs reads .subscribe's optional options ({qos, bin}) and callback, allowing the
// callback in the options position: subscribe(t, cb).
func subscribeArgs(vm *goja.Runtime, optArg, cbArg goja.Value) (mqttcore.SubscribeOptions, *callback, bool) {
	var o mqttcore.SubscribeOptions
	if _, _, isFn := function(optArg); isFn {
		cb, _ := optionalCallback(optArg)
		return o, cb, absent(cbArg) || goja.IsNull(cbArg)
	}
	obj, ok := optionsObject(optArg)
	if !ok {
		return o, nil, false
	}
	if obj != nil {
		ok = qosField(vm, obj, &o.QoS) &&
			boolField(vm, obj, "bin", func(b bool) { o.Binary = b })
		if !ok {
			return o, nil, false
		}
	}
	cb, ok := optionalCallback(cbArg)
	return o, cb, ok
}

// --- client.get(name) ---

// infoNameArg reads .get's name.
func infoNameArg(v goja.Value) (string, bool) {
	return nameString(v)
}

// Export types of goja primitives.
var (
	typeInt64   = reflect.TypeOf(int64(0))
	typeFloat64 = reflect.TypeOf(float64(0))
	typeBool    = reflect.TypeOf(false)

	typeArrayBuffer = reflect.TypeOf(goja.ArrayBuffer{})
)
