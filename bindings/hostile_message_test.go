package bindings_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/devicejs/devicejs/internal/testbroker"
)

// hostileCase is one publish of a hostile script: the message expression, and what must
// happen: refused with MqttError 10, or accepted and these exact bytes on the wire.
type hostileCase struct {
	name string
	msg  string // JS expression, evaluated after the group's tampering
	want string // the bytes the peer must receive, or refused
}

// refused is hostileCase.want for a publish that must return MqttError 10 and send nothing.
const refused = "<refused: MqttError 10>"

// hostileGroups tamper with the built-ins a validation could consult (their prelude runs
// before anything else in the script), then publish messages. Item 4 of issue 11: the binding
// must not be fooled by any of it.
var hostileGroups = []struct {
	name    string
	prelude string
	cases   []hostileCase
}{
	{"isView says yes", `ArrayBuffer.isView = function() { return true; };`, []hostileCase{
		{"arraylike", `({length: 5, 0: 65, 1: 66, 2: 67, 3: 68, 4: 69})`, refused},
		{"hugelength", `({length: 1.5e9})`, refused},
		{"hugelength2", `({length: 2**53 - 1, 0: 1})`, refused},
		{"neglength", `({length: -1})`, refused},
		{"array", `[65, 66]`, refused},
		{"arguments", `(function() { return arguments; })(65, 66)`, refused},
		{"stringobj", `new String('AB')`, refused},
		{"function", `Object.assign(function() {}, {0: 65, byteLength: 1, buffer: new ArrayBuffer(1)})`, refused},
		{"dataview", `new DataView(new Uint8Array([1, 2, 3]).buffer, 1)`, "\x02\x03"},
		{"uint8", `new Uint8Array([3])`, "\x03"},
	}},
	{"isView throws, isArray lies", `
		ArrayBuffer.isView = function() { throw new Error('isView'); };
		Array.isArray = function() { return true; };`, []hostileCase{
		{"dataview", `new DataView(new ArrayBuffer(2))`, "\x00\x00"},
		{"array", `[1, 2]`, refused},
		{"arraylike", `({length: 1, 0: 7})`, refused},
	}},
	{"isView deleted with ArrayBuffer", `delete ArrayBuffer.isView; globalThis.ArrayBuffer = undefined;`, []hostileCase{
		{"dataview", `new DataView(new Uint8Array([9]).buffer)`, "\x09"},
		{"buffer", `new Uint8Array([8]).buffer`, "\x08"},
	}},
	{"proxies", `var traps = 0;
		function spy(target) {
			return new Proxy(target, {
				get: function(t, k) { traps++; return k === 'length' ? 1.5e9 : Reflect.get(t, k); },
				getPrototypeOf: function(t) { traps++; return Reflect.getPrototypeOf(t); },
				has: function() { traps++; return true; },
				ownKeys: function(t) { traps++; return Reflect.ownKeys(t); },
				getOwnPropertyDescriptor: function(t, k) { traps++; return Reflect.getOwnPropertyDescriptor(t, k); },
			});
		}
		ArrayBuffer.isView = function() { return true; };`, []hostileCase{
		{"uint8", `spy(new Uint8Array([1, 2]))`, refused},
		{"dataview", `spy(new DataView(new ArrayBuffer(2)))`, refused},
		{"buffer", `spy(new ArrayBuffer(2))`, refused},
		{"plain", `spy({length: 2, 0: 1, 1: 2})`, refused},
		{"revoked", `(function() { var r = Proxy.revocable(new Uint8Array(1), {}); r.revoke(); return r.proxy; })()`, refused},
		{"trapcount", `'traps ' + traps`, "traps 0"},
	}},
	{"fake prototypes", `ArrayBuffer.isView = function() { return true; };`, []hostileCase{
		{"u8proto", `Object.setPrototypeOf({length: 2, 0: 65, 1: 66}, Uint8Array.prototype)`, refused},
		{"dvproto", `Object.create(DataView.prototype)`, refused},
		{"abproto", `Object.create(ArrayBuffer.prototype)`, refused},
		{"nullproto", `Object.assign(Object.create(null), {length: 1, 0: 65})`, refused},
		{"realsubclass", `new (class extends Uint8Array {})([4, 5])`, "\x04\x05"},
		{"reprotoed", `Object.setPrototypeOf(new Uint8Array([6]), Object.prototype)`, "\x06"},
	}},
	{"view getters replaced", `
		var TA = Object.getPrototypeOf(Uint8Array.prototype);
		var bufferOf = Object.getOwnPropertyDescriptor(TA, 'buffer').get;
		function bytes(a) { return bufferOf.call(new Uint8Array(a)); }
		['length', 'byteLength', 'byteOffset', 'buffer'].forEach(function(k) {
			Object.defineProperty(TA, k, {get: function() { throw new Error(k); }});
		});
		['byteLength', 'byteOffset', 'buffer'].forEach(function(k) {
			Object.defineProperty(DataView.prototype, k, {get: function() { return 1.5e9; }});
		});
		Object.defineProperty(ArrayBuffer.prototype, 'byteLength', {get: function() { return 1.5e9; }});
		ArrayBuffer.prototype.slice = function() { throw new Error('slice'); };`, []hostileCase{
		{"sub", `new Uint8Array([1, 2, 3, 4]).subarray(1, 3)`, "\x02\x03"},
		{"u16", `new Uint16Array([0x0201])`, "\x01\x02"},
		{"dataview", `new DataView(bytes([1, 2, 3]), 2, 1)`, "\x03"},
		{"buffer", `bytes([5, 6])`, "\x05\x06"},
	}},
	{"symbols", `
		function u8(list) { var u = new Uint8Array(list.length); for (var i = 0; i < list.length; i++) u[i] = list[i]; return u; }
		Object.defineProperty(Uint8Array, Symbol.hasInstance, {value: function() { return true; }});
		Object.defineProperty(Object, Symbol.hasInstance, {value: function() { return true; }});
		Object.defineProperty(Uint8Array, Symbol.species, {get: function() { throw new Error('species'); }});
		Object.defineProperty(ArrayBuffer, Symbol.species, {get: function() { throw new Error('species'); }});
		Array.prototype[Symbol.iterator] = function() { throw new Error('iterator'); };
		Object.getPrototypeOf(Uint8Array.prototype)[Symbol.iterator] = function() { throw new Error('iterator'); };
		Object.prototype[Symbol.toPrimitive] = function() { throw new Error('toPrimitive'); };
		Object.prototype[Symbol.toStringTag] = 'Uint8Array';`, []hostileCase{
		{"arraylike", `({length: 1, 0: 65})`, refused},
		{"iterable", `({[Symbol.iterator]: function*() { yield 65; }})`, refused},
		{"uint8", `u8([7, 8])`, "\x07\x08"},
		{"dataview", `new DataView(u8([9]).buffer)`, "\x09"},
	}},
	{"Object.prototype getters", `var reads = 0;
		['length', '0', '1', 'buffer', 'byteLength', 'byteOffset', 'valueOf', 'toString', 'toJSON'].forEach(function(k) {
			Object.defineProperty(Object.prototype, k, {get: function() { reads++; return k === 'length' ? 1.5e9 : 65; }, configurable: true});
		});`, []hostileCase{
		{"empty", `({})`, refused},
		{"nullproto", `Object.create(null)`, refused},
		{"uint8", `new Uint8Array([1])`, "\x01"},
		{"readcount", `'reads ' + reads`, "reads 0"},
	}},
	{"huge", ``, []hostileCase{
		{"u8over16MiB", `new Uint8Array(16 * 1024 * 1024 + 1)`, refused},
		{"f64over16MiB", `new Float64Array(2 * 1024 * 1024 + 1)`, refused},
		{"string", `'x'.repeat(4096)`, refused},
		{"oversend", `new Uint8Array(4096)`, refused}, // over the default sendBuffSize
		{"empty", `new Uint8Array(0)`, ""},
	}},
}

// TestHostileMessages runs each group against a real broker with a peer subscribed to every
// topic the script publishes to: each refused publish returns MqttError 10 and puts nothing on
// the wire, each accepted one puts exactly its bytes there, and the script's tampering (run
// before any publish) changes none of it.
func TestHostileMessages(t *testing.T) {
	addr := startBroker(t)
	for gi, g := range hostileGroups {
		t.Run(g.name, func(t *testing.T) {
			prefix := fmt.Sprintf("h%d/", gi)
			peer := testbroker.Subscribe(t, addr, prefix+"#")
			var cases strings.Builder
			for _, c := range g.cases {
				fmt.Fprintf(&cases, "[%q, function() { return %s; }],\n", c.name, c.msg)
			}
			src := g.prelude + `
var cases = [` + cases.String() + `];
var client = mqtt.connect('BROKER', {clientId: 'hostile` + fmt.Sprint(gi) + `'});
client.on('connect', function() {
	var i = 0;
	function next() {
		while (i < cases.length) {
			var c = cases[i++];
			var r = client.publish('` + prefix + `' + c[0], c[1](), function(err) {
				print(this === client ? 'sent ' + err.code : 'bad this');
				next();
			});
			if (r === undefined) return;
			print(c[0] + ' refused ' + r.code);
		}
		client.publish('` + prefix + `end', 'end', function() { client.end(); });
	}
	next();
});
`
			start := time.Now()
			out := env{Broker: addr}.mustRun(t, src)
			elapsed := time.Since(start)
			var wantOut strings.Builder
			var wantWire []string
			for _, c := range g.cases {
				if c.want == refused {
					fmt.Fprintf(&wantOut, "%s refused 10\n", c.name)
					continue
				}
				wantOut.WriteString("sent 0\n")
				wantWire = append(wantWire, prefix+c.name+" "+fmt.Sprintf("%q", c.want))
			}
			if out != wantOut.String() {
				t.Errorf("script printed:\n%s\nwant:\n%s", out, wantOut.String())
			}
			var got []string
			for {
				m := testbroker.Next(t, peer)
				if m.Topic == prefix+"end" {
					break
				}
				got = append(got, m.Topic+" "+fmt.Sprintf("%q", m.Payload))
			}
			if strings.Join(got, "\n") != strings.Join(wantWire, "\n") {
				t.Errorf("on the wire:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantWire, "\n"))
			}
			t.Logf("%d publishes in %v", len(g.cases), elapsed)
		})
	}
}
