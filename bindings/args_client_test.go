package bindings_test

import (
	"strings"
	"testing"

	"github.com/devicejs/devicejs/internal/testbroker"
)

// TestClientArguments is the argument matrix of the Client methods on a client that is not
// connected (its broker port is closed): an invalid argument gives MqttError 10, a valid
// request is refused with 11 (Disconnected), nothing throws, and no callback of a refused
// request is ever called (cb prints CALLED).
func TestClientArguments(t *testing.T) {
	addr := testbroker.DeadAddr(t)
	tt := []struct {
		call string
		want string // String(result), MqttErrors as "code message"
	}{
		// publish(topic, message[, options][, callback])
		{`publish()`, "10 Illegal argument"},
		{`publish('t')`, "10 Illegal argument"},
		{`publish(5, 'm')`, "10 Illegal argument"},
		{`publish(null, 'm')`, "10 Illegal argument"},
		{`publish(new String('t'), 'm')`, "10 Illegal argument"},
		{`publish('', 'm')`, "10 Illegal argument"},
		{`publish('t/#', 'm')`, "10 Illegal argument"},
		{`publish('t/+', 'm')`, "10 Illegal argument"},
		{`publish('a\ud800', 'm')`, "10 Illegal argument"},
		{`publish('` + strings.Repeat("t", 128) + `', 'm')`, "10 Illegal argument"},
		{`publish('t', 5)`, "10 Illegal argument"},
		{`publish('t', null)`, "10 Illegal argument"},
		{`publish('t', undefined)`, "10 Illegal argument"},
		{`publish('t', {})`, "10 Illegal argument"},
		{`publish('t', [1, 2])`, "10 Illegal argument"},
		{`publish('t', new String('m'))`, "10 Illegal argument"},
		{`publish('t', {get x() { throw new Error('getter'); }})`, "10 Illegal argument"},
		{`publish('t', new Proxy({}, {ownKeys: function() { throw 1; }, get: function() { throw 2; }}))`, "10 Illegal argument"},
		{`publish('t', new Proxy(new ArrayBuffer(2), {}))`, "10 Illegal argument"},
		{`publish('t', 'x'.repeat(2560))`, "10 Illegal argument"}, // topic+message+9 > sendBuffSize
		{`publish('t', 'm', 5)`, "10 Illegal argument"},
		{`publish('t', 'm', 'opts')`, "10 Illegal argument"},
		{`publish('t', 'm', {qos: 3})`, "10 Illegal argument"},
		{`publish('t', 'm', {qos: -1})`, "10 Illegal argument"},
		{`publish('t', 'm', {qos: 1.5})`, "10 Illegal argument"},
		{`publish('t', 'm', {qos: '1'})`, "10 Illegal argument"},
		{`publish('t', 'm', {qos: NaN})`, "10 Illegal argument"},
		{`publish('t', 'm', {qos: 256})`, "10 Illegal argument"},
		{`publish('t', 'm', {retain: 1})`, "10 Illegal argument"},
		{`publish('t', 'm', {dup: 'yes'})`, "10 Illegal argument"},
		{`publish('t', 'm', {get qos() { throw new Error('boom'); }})`, "10 Illegal argument"},
		{`publish('t', 'm', new Proxy({}, {get: function() { throw 1; }}))`, "10 Illegal argument"},
		{`publish('t', 'm', {}, 5)`, "10 Illegal argument"},
		{`publish('t', 'm', cb, 5)`, "10 Illegal argument"},
		{`publish('t', 'm', cb, cb)`, "10 Illegal argument"},
		{`publish('t', 'm')`, "11 Disconnected"},
		{`publish('t', '')`, "11 Disconnected"},
		{`publish('t', 'a\ud800')`, "11 Disconnected"},
		{`publish('t', 'm', cb)`, "11 Disconnected"},
		{`publish('t', 'm', null, cb)`, "11 Disconnected"},
		{`publish('t', 'm', undefined, cb)`, "11 Disconnected"},
		{`publish('t', 'm', {qos: 2, retain: true, dup: false}, cb)`, "11 Disconnected"},
		{`publish('t', 'm', {qos: undefined, unknown: 1}, null)`, "11 Disconnected"},
		{`publish('t', new ArrayBuffer(4), cb)`, "11 Disconnected"},
		{`publish('t', new Float64Array(2), cb)`, "11 Disconnected"},
		{`publish('t', new DataView(new ArrayBuffer(4)), cb)`, "11 Disconnected"},
		{`publish('a/b/*', 'm')`, "11 Disconnected"},

		// subscribe(topic[, options][, callback])
		{`subscribe()`, "10 Illegal argument"},
		{`subscribe(5)`, "10 Illegal argument"},
		{`subscribe('')`, "10 Illegal argument"},
		{`subscribe('a/#/b')`, "10 Illegal argument"},
		{`subscribe('a+')`, "10 Illegal argument"},
		{`subscribe('t', 5)`, "10 Illegal argument"},
		{`subscribe('t', {qos: 3})`, "10 Illegal argument"},
		{`subscribe('t', {bin: 'true'})`, "10 Illegal argument"},
		{`subscribe('t', {bin: 1})`, "10 Illegal argument"},
		{`subscribe('t', {get bin() { throw 1; }})`, "10 Illegal argument"},
		{`subscribe('t', {}, 'cb')`, "10 Illegal argument"},
		{`subscribe('t', cb, cb)`, "10 Illegal argument"},
		{`subscribe('t')`, "11 Disconnected"},
		{`subscribe('t/#', cb)`, "11 Disconnected"},
		{`subscribe('+/x', {qos: 1, bin: true}, cb)`, "11 Disconnected"},
		{`subscribe('t', null, cb)`, "11 Disconnected"},

		// unsubscribe(topic[, callback])
		{`unsubscribe()`, "10 Illegal argument"},
		{`unsubscribe({})`, "10 Illegal argument"},
		{`unsubscribe('a/#/b')`, "10 Illegal argument"},
		{`unsubscribe('t', {})`, "10 Illegal argument"},
		{`unsubscribe('t', 5)`, "10 Illegal argument"},
		{`unsubscribe('t')`, "11 Disconnected"},
		{`unsubscribe('t', cb)`, "11 Disconnected"},
		{`unsubscribe('t', null)`, "11 Disconnected"},

		// on(event, callback): always undefined
		{`on()`, "undefined"},
		{`on('connect')`, "undefined"},
		{`on('connect', 5)`, "undefined"},
		{`on('bogus', cb)`, "undefined"},
		{`on(5, cb)`, "undefined"},
		{`on('message', cb)`, "undefined"},

		// get(name)
		{`get('errnoConnect')`, "number"},
		{`get('errnoconnect')`, "undefined"},
		{`get()`, "undefined"},
		{`get(5)`, "undefined"},
		{`get('toString')`, "undefined"},

		// state
		{`isConnected()`, "false"},
		{`isConnected(1, 2)`, "false"},
		{`canPublish()`, "false"},
		{`isReconnecting('x')`, "false"},
		{`reconnect(5)`, "undefined"},
	}
	for _, tc := range tt {
		t.Run(tc.call, func(t *testing.T) {
			src := `var client = mqtt.connect('BROKER', {connectTimeout: 0});
function cb() { print('CALLED'); }
function show(r) {
	if (r !== null && typeof r === 'object') return r.code + ' ' + r.message;
	if (typeof r === 'number') return 'number';
	return String(r);
}
print(show(client.` + tc.call + `));
client.end();
`
			out := env{Broker: addr}.mustRun(t, src)
			if got := strings.TrimSpace(out); got != tc.want {
				t.Errorf("client.%s = %q, want %q", tc.call, got, tc.want)
			}
		})
	}
}
