package bindings

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/dop251/goja"

	"github.com/devicejs/devicejs/mqttcore"
)

// newTestModule is a module with just a VM and a logger writing to buf: enough for the
// firewall and the argument helpers.
func newTestModule(buf *bytes.Buffer) *module {
	vm := goja.New()
	return &module{vm: vm, log: slog.New(slog.NewTextHandler(buf, nil))}
}

func TestFirewall(t *testing.T) {
	var logs bytes.Buffer
	m := newTestModule(&logs)
	var nilMap map[string]int
	set := func(name string, onPanic fallback, fn func(goja.FunctionCall) goja.Value) {
		if err := m.vm.Set(name, m.firewall(name, onPanic, fn)); err != nil {
			t.Fatal(err)
		}
	}
	set("goBug", returnOtherError, func(goja.FunctionCall) goja.Value {
		nilMap["x"] = 1 // a Go bug: assignment to entry in nil map
		return goja.Undefined()
	})
	set("goBugBool", returnFalse, func(goja.FunctionCall) goja.Value { panic("bug") })
	set("goBugUndef", returnUndefined, func(goja.FunctionCall) goja.Value { panic(errors.New("bug")) })
	set("jsThrow", returnOtherError, func(goja.FunctionCall) goja.Value {
		panic(m.vm.NewTypeError("thrown on purpose"))
	})
	set("jsValue", returnOtherError, func(goja.FunctionCall) goja.Value {
		panic(m.vm.ToValue("a string"))
	})
	v, err := m.vm.RunString(`
var out = [];
var r = goBug(); out.push(r.code + ' ' + r.message);
out.push(String(goBugBool()));
out.push(String(goBugUndef()));
try { jsThrow(); out.push('no throw'); } catch (e) { out.push('caught ' + (e instanceof TypeError) + ' ' + e.message); }
try { jsValue(); out.push('no throw'); } catch (e) { out.push('caught ' + e); }
out.join('|');
`)
	if err != nil {
		t.Fatal(err)
	}
	want := "255 Other error|false|undefined|caught true thrown on purpose|caught a string"
	if got := v.String(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if n := strings.Count(logs.String(), "recovered panic"); n != 3 {
		t.Errorf("%d panics logged, want 3:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "goroutine") || !strings.Contains(logs.String(), "method=goBug") {
		t.Errorf("log has no stack or method:\n%s", logs.String())
	}
}

func TestJobFirewall(t *testing.T) {
	var logs bytes.Buffer
	m := newTestModule(&logs)
	err := m.jobFirewall("'message' event", func(*goja.Runtime) error { panic("bug") })(m.vm)
	if err == nil || !strings.Contains(err.Error(), "'message' event") {
		t.Errorf("err = %v", err)
	}
	want := errors.New("passed through")
	if err := m.jobFirewall("x", func(*goja.Runtime) error { return want })(m.vm); err != want {
		t.Errorf("err = %v, want %v", err, want)
	}
	defer func() {
		if r := recover(); r == nil {
			t.Error("a goja exception was swallowed")
		}
	}()
	_ = m.jobFirewall("x", func(vm *goja.Runtime) error { panic(vm.NewTypeError("js")) })(m.vm)
}

func TestIsGojaPanic(t *testing.T) {
	vm := goja.New()
	_, jsErr := vm.RunString(`throw new Error('x')`)
	tt := []struct {
		name string
		v    any
		want bool
	}{
		{"Object", vm.NewTypeError("x"), true},
		{"primitive", vm.ToValue(1), true},
		{"Exception", jsErr, true},
		{"InterruptedError", &goja.InterruptedError{}, true},
		{"StackOverflowError", &goja.StackOverflowError{}, true},
		{"string", "bug", false},
		{"error", errors.New("bug"), false},
		{"Code", mqttcore.OtherError, false},
		{"nil pointer", (*int)(nil), false},
	}
	for _, tc := range tt {
		if got := isGojaPanic(tc.v); got != tc.want {
			t.Errorf("%s: isGojaPanic = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestArgHelpers checks the primitive helpers against JS values, including the awkward ones.
func TestArgHelpers(t *testing.T) {
	vm := goja.New()
	eval := func(src string) goja.Value {
		v, err := vm.RunString("(" + src + ")")
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		return v
	}
	ints := []struct {
		src  string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"-0", 0, true}, {"60", 60, true}, {"60.0", 60, true}, {"-5", -5, true},
		{"9007199254740991", 9007199254740991, true}, {"9007199254740992", 0, false},
		{"1.5", 0, false}, {"NaN", 0, false}, {"Infinity", 0, false}, {"-Infinity", 0, false},
		{"'5'", 0, false}, {"true", 0, false}, {"null", 0, false}, {"undefined", 0, false},
		{"new Number(5)", 0, false}, {"{valueOf: function() { return 5; }}", 0, false}, {"5n", 0, false},
	}
	for _, tc := range ints {
		n, ok := integer(eval(tc.src))
		if n != tc.want || ok != tc.ok {
			t.Errorf("integer(%s) = %d, %v; want %d, %v", tc.src, n, ok, tc.want, tc.ok)
		}
	}
	if _, ok := integer(nil); ok {
		t.Error("integer(nil) ok")
	}

	strs := []struct {
		src           string
		name, payload string
		nameOK, payOK bool
	}{
		{`'abc'`, "abc", "abc", true, true},
		{`''`, "", "", true, true},
		{`'héllo ✓'`, "héllo ✓", "héllo ✓", true, true},
		{`'\ud83d\ude00'`, "😀", "😀", true, true},
		{`'a\ud800'`, "", "a\uFFFD", false, true},
		{`'\udc00a'`, "", "\uFFFDa", false, true},
		{`'\ud800\ud800'`, "", "\uFFFD\uFFFD", false, true},
		{`new String('x')`, "", "", false, false},
		{`5`, "", "", false, false},
		{`undefined`, "", "", false, false},
	}
	for _, tc := range strs {
		v := eval(tc.src)
		if s, ok := nameString(v); s != tc.name || ok != tc.nameOK {
			t.Errorf("nameString(%s) = %q, %v; want %q, %v", tc.src, s, ok, tc.name, tc.nameOK)
		}
		if s, ok := payloadString(v); s != tc.payload || ok != tc.payOK {
			t.Errorf("payloadString(%s) = %q, %v; want %q, %v", tc.src, s, ok, tc.payload, tc.payOK)
		}
	}

	bools := []struct {
		src    string
		want   bool
		wantOK bool
	}{
		{"true", true, true}, {"false", false, true}, {"1", false, false}, {"'true'", false, false},
		{"new Boolean(true)", false, false}, {"null", false, false},
	}
	for _, tc := range bools {
		if b, ok := boolean(eval(tc.src)); b != tc.want || ok != tc.wantOK {
			t.Errorf("boolean(%s) = %v, %v", tc.src, b, ok)
		}
	}
}

// TestMessageArg checks the payload conversion of .publish's message, and that it copies.
func TestMessageArg(t *testing.T) {
	var logs bytes.Buffer
	m := newTestModule(&logs)
	tt := []struct {
		src  string
		want string
		ok   bool
	}{
		{`'AB'`, "AB", true},
		{`'é'`, "\xc3\xa9", true},
		{`new Uint8Array([1, 2, 3]).buffer`, "\x01\x02\x03", true},
		{`new Uint8Array([1, 2, 3, 4]).subarray(1, 3)`, "\x02\x03", true},
		{`new Uint16Array([0x0201, 0x0403])`, "\x01\x02\x03\x04", true},
		{`new Int8Array([-1])`, "\xff", true},
		{`new Float32Array([1])`, "\x00\x00\x80\x3f", true},
		{`new BigUint64Array([1n])`, "\x01\x00\x00\x00\x00\x00\x00\x00", true},
		{`new Uint8ClampedArray([300])`, "\xff", true},
		{`new DataView(new Uint8Array([1, 2, 3, 4]).buffer, 1, 2)`, "\x02\x03", true},
		{`new ArrayBuffer(0)`, "", true},
		{`[1, 2]`, "", false},
		{`({byteLength: 2, buffer: new ArrayBuffer(2)})`, "", false},
		{`new Proxy(new Uint8Array(2), {})`, "", false},
		{`5`, "", false},
		{`null`, "", false},
	}
	for _, tc := range tt {
		v, err := m.vm.RunString("(" + tc.src + ")")
		if err != nil {
			t.Fatal(err)
		}
		b, ok := messageArg(m.vm, v)
		if string(b) != tc.want || ok != tc.ok {
			t.Errorf("messageArg(%s) = %q, %v; want %q, %v", tc.src, b, ok, tc.want, tc.ok)
		}
	}
	// The bytes are a copy: changing the buffer afterwards does not change them.
	v, _ := m.vm.RunString(`var u = new Uint8Array([1, 2]); u`)
	b, _ := messageArg(m.vm, v)
	_, _ = m.vm.RunString(`u[0] = 9`)
	if b[0] != 1 {
		t.Error("messageArg does not copy")
	}
}
