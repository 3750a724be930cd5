package bindings_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/devicejs/devicejs/bindings"
	"github.com/devicejs/devicejs/internal/syncbuf"
	"github.com/devicejs/devicejs/runtime"
)

// hostileValues are JS expressions for the arguments FuzzJSAPI passes; each is evaluated
// afresh for every use. The callbacks that throw do so with "cb-thrown", which may end the
// run as an uncaught error (the script's own doing), and nothing else may.
var hostileValues = []string{
	`undefined`, `null`, `NaN`, `Infinity`, `-Infinity`, `-0`, `0`, `1`, `2`, `3`, `1.5`, `-1`,
	`Math.pow(2, 53)`, `Math.pow(2, 64)`, `1e308`, `-1e308`, `4294967297`,
	`''`, `'t/x'`, `'a/+/b'`, `'#'`, `'+'`, `'t/#'`, `'a\u0000b'`, `'\uD800'`, `'\uDC00x'`, `'x'.repeat(65536)`,
	`'\uFFFF'`, `'mqtt://127.0.0.1:1'`, `'BROKER'`, `'mqtts://127.0.0.1:1'`, `'mqtt://u:p@127.0.0.1'`,
	`'ssl.ca'`, `'ssl.cert'`, `'ssl.key'`, `'errnoConnect'`, `'connect'`, `'message'`, `'error'`, `'end'`, `'close'`,
	`true`, `false`, `{}`, `[]`, `[1, 2]`, `{qos: 1}`, `{qos: NaN}`, `{qos: 3}`, `{qos: -0}`, `{retain: 1}`, `{bin: true}`,
	`{dup: true, retain: true, qos: 2}`, `function() {}`, `function() { throw new Error('cb-thrown') }`,
	`Symbol('s')`, `Symbol.iterator`, `BigInt(10)`, `Object(BigInt(1))`,
	`new Proxy({}, {get: function() { throw new Error('trap') }, has: function() { throw 1 }, ownKeys: function() { throw 2 }, getOwnPropertyDescriptor: function() { throw 3 }})`,
	`new Proxy(function() {}, {apply: function() { throw new Error('cb-thrown') }})`,
	`Object.defineProperty({}, 'qos', {get: function() { throw new Error('getter') }, enumerable: true})`,
	`{valueOf: function() { throw 1 }, toString: function() { throw 2 }}`,
	`{valueOf: function() { return {} }, toString: function() { return {} }}`,
	`{qos: {valueOf: function() { throw 1 }}}`, `{qos: {valueOf: function() { return 1 }}}`,
	`new Number(1)`, `new String('t/x')`, `new Boolean(true)`, `new Uint8Array(4)`, `new ArrayBuffer(8)`,
	`new DataView(new ArrayBuffer(2))`, `new Float64Array([NaN])`, `new Date()`, `/re/g`, `Object.create(null)`,
	`Object.freeze({qos: 1})`, `(function() { return arguments })(1, 2)`,
	`{keepalive: -1}`, `{keepalive: 1e9}`, `{clientId: '\uD800'}`, `{clientId: ''}`, `{clientId: 'x'.repeat(200)}`,
	`{username: 'x'.repeat(65536), password: '\u0000'}`, `{reconnectPeriod: NaN}`, `{connectTimeout: Infinity}`,
	`{protocolVersion: 3}`, `{protocolId: 'MQIsdp', protocolVersion: 3}`, `{reconnectCount: 1855, reconnectPeriod: 1}`,
	`{sendBuffSize: 0, recvBuffSize: -1}`, `{sendBuffSize: 1e12}`, `{keepalive: Symbol()}`, `{password: BigInt(1)}`,
	`new Proxy({}, {get: function(t, k) { return k === 'qos' ? 1 : undefined }})`,
	`(function() { var a = [1]; Object.defineProperty(a, 0, {get: function() { throw 1 }}); return a })()`,
	`'-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'`,
}

// apiCalls are the calls FuzzJSAPI makes; "c" is the client (the call is skipped when connect
// returned undefined) and check names the spec's return column.
var apiCalls = []struct{ call, check string }{
	{"mqtt.set", "undef"}, {"mqtt.connect", "client"},
	{"c.publish", "mqttErr"}, {"c.subscribe", "mqttErr"}, {"c.unsubscribe", "mqttErr"},
	{"c.on", "undef"}, {"c.get", "numOrUndef"}, {"c.isConnected", "bool"}, {"c.isReconnecting", "bool"},
	{"c.canPublish", "bool"}, {"c.reconnect", "undef"}, {"c.end", "undef"},
}

// fuzzProgram turns fuzz bytes into a script: connect (to the broker, a closed port or a
// hostile URL, with hostile options) and up to 12 calls with up to 4 hostile arguments each,
// made both at once and again from the connect handler. Every call is checked against the
// spec's return column by the script itself, which prints "BAD ..." on a violation. A timer
// ends the client in any case, so the run ends.
func fuzzProgram(data []byte) string {
	next := func() int {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return int(b)
	}
	var b strings.Builder
	b.WriteString(`function check(name, kind, r) {
	var ok;
	switch (kind) {
	case 'undef': ok = r === undefined; break;
	case 'bool': ok = typeof r === 'boolean'; break;
	case 'numOrUndef': ok = r === undefined || typeof r === 'number'; break;
	case 'client': ok = r === undefined || (typeof r === 'object' && r !== null && typeof r.publish === 'function'); break;
	case 'mqttErr': ok = r === undefined || (typeof r === 'object' && r !== null && Object.getPrototypeOf(r) === Object.prototype &&
		[10, 11, 12, 13].indexOf(r.code) >= 0 && typeof r.message === 'string'); break;
	}
	if (!ok) print('BAD', name, 'returned', typeof r, (typeof r === 'object' && r) ? JSON.stringify(r) : String(typeof r === 'symbol' ? 'symbol' : r));
}
function call(name, kind, f) {
	var r;
	try { r = f(); } catch (e) { print('BAD', name, 'threw', String(e)); return; }
	check(name, kind, r);
}
var c;
function ender() { if (c) { try { c.end(); } catch (e) { print('BAD end threw'); } } }
setTimeout(ender, 3000);
`)
	urls := []string{`'BROKER'`, `'mqtt://127.0.0.1:1'`}
	u := next()
	url := urls[u%len(urls)]
	if u >= 128 {
		url = hostileValues[u%len(hostileValues)]
	}
	optsExpr := `{reconnectCount: 0, connectTimeout: 2000}`
	if o := next(); o >= 64 {
		optsExpr = hostileValues[o%len(hostileValues)]
	}
	fmt.Fprintf(&b, "call('mqtt.connect', 'client', function() { return c = mqtt.connect(%s, %s); });\n", url, optsExpr)
	var calls strings.Builder
	for n := next() % 13; n > 0 && len(data) > 0; n-- {
		k := apiCalls[next()%len(apiCalls)]
		if k.call == "mqtt.connect" {
			k = apiCalls[0]
		}
		var args []string
		for a := next() % 5; a > 0; a-- {
			args = append(args, hostileValues[next()%len(hostileValues)])
		}
		guard := ""
		if strings.HasPrefix(k.call, "c.") {
			guard = "if (c) "
		}
		fmt.Fprintf(&calls, "%scall(%q, %q, function() { return %s(%s); });\n", guard, k.call, k.check, k.call, strings.Join(args, ", "))
	}
	b.WriteString(calls.String())
	fmt.Fprintf(&b, "if (c) { c.on('connect', function() {\n%s\tender(); }); c.on('error', ender); }\n", calls.String())
	return b.String()
}

// FuzzJSAPI calls the JS API with hostile values (see hostileValues) against a real
// in-process broker and a closed port: every call answers as the spec's return column says
// (undefined, MqttError 10-13, a boolean...), nothing throws, no Go panic is recovered (the
// firewall logs "internal error") and the run ends by itself within its bound. Seeds in
// testdata/fuzz/FuzzJSAPI run in the default suite; `make fuzz` explores.
func FuzzJSAPI(f *testing.F) {
	for _, seed := range [][]byte{
		{}, {0, 0, 4, 2, 2, 18, 19}, {1, 0, 3, 3, 3, 22, 1, 2}, {0, 200, 2, 0, 2, 33, 70, 1, 1},
	} {
		f.Add(seed)
	}
	addr := startBroker(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		src := fuzzProgram(data)
		var logs syncbuf.Buffer
		e := env{Broker: addr, Scale: 100, For: 30 * time.Second, Config: bindings.Config{
			Logger: slog.New(slog.NewTextHandler(io.MultiWriter(&logs), &slog.HandlerOptions{Level: slog.LevelWarn})),
		}}
		start := time.Now()
		out, err := e.run(t, src)
		if strings.Contains(out, "BAD") {
			t.Errorf("API contract violated:\n%s\nscript:\n%s", out, src)
		}
		if strings.Contains(logs.String(), "internal error") {
			t.Errorf("a Go panic was recovered:\n%s\nscript:\n%s", logs.String(), src)
		}
		var se *runtime.ScriptError
		switch {
		case err == nil:
		case errors.As(err, &se) && se.Kind == runtime.KindException && strings.Contains(se.Message, "cb-thrown"):
		default:
			t.Errorf("run ended with %v after %v\nscript:\n%s", err, time.Since(start), src)
		}
	})
}
