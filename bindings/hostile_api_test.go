package bindings_test

import (
	"strings"
	"testing"

	"github.com/devicejs/devicejs/internal/testbroker"
)

// TestTamperedRealm replaces the built-ins a binding could lean on (Function.prototype.call,
// apply and bind, Object.defineProperty, Reflect, JSON, setters on Object.prototype for the
// names of the objects the binding builds, Symbol.hasInstance) and then uses the whole API
// against a real broker, with a peer watching the wire: callbacks still run with the client as
// this, MqttErrors and the CONNACK object still carry their values (no script setter runs),
// options read through inherited getters are checked like own ones, and only the valid
// publishes reach the wire.
func TestTamperedRealm(t *testing.T) {
	addr := startBroker(t)
	peer := testbroker.Subscribe(t, addr, "tr/#")
	src := `
var setterRuns = 0, qosReads = 0, qosValue;
Object.defineProperty(Object.prototype, 'qos', {get: function() { qosReads++; return qosValue; }, configurable: true});
['code', 'message', 'sessionPresent', 'returnCode', 'on', 'publish'].forEach(function(k) {
	Object.defineProperty(Object.prototype, k, {set: function() { setterRuns++; }, configurable: true});
});
Function.prototype.call = function() { throw new Error('call'); };
Function.prototype.apply = function() { throw new Error('apply'); };
Function.prototype.bind = function() { throw new Error('bind'); };
Object.defineProperty = function() { throw new Error('defineProperty'); };
Object.defineProperties = function() { throw new Error('defineProperties'); };
Reflect.apply = function() { throw new Error('Reflect.apply'); };
JSON.stringify = function() { throw new Error('JSON'); };
Object.prototype[Symbol.hasInstance] = function() { return true; };

function show(r) { return r === undefined ? 'ok' : 'refused ' + r.code + ' ' + r.message; }
var c = mqtt.connect('BROKER', {clientId: 'tampered'});
c.on('connect', function(ack) {
	print('connect ' + (this === c) + ' ' + ack.sessionPresent + ' ' + ack.returnCode);
	var steps = [
		// inherited getter values are checked like own values
		function(next) { qosValue = 3; print('qos 3 ' + show(c.publish('tr/q3', 'x', {}, next))); next(); },
		function(next) { qosValue = 1.5e9; print('qos 1.5e9 ' + show(c.publish('tr/qbig', 'x', {}, next))); next(); },
		function(next) { qosValue = {valueOf: function() { return 1; }}; print('qos object ' + show(c.publish('tr/qobj', 'x', {}, next))); next(); },
		function(next) { qosValue = '1'; print('qos string ' + show(c.publish('tr/qstr', 'x', {}, next))); next(); },
		function(next) { qosValue = 1; print('qos 1 inherited ' + show(c.publish('tr/q1', 'one', {}, next))); },
		function(next) { qosValue = undefined; print('default ' + show(c.publish('tr/plain', 'two', null, next))); },
		function(next) { print('own qos wins ' + show(c.publish('tr/own', 'three', {qos: 0}, next))); },
		function(next) { print('topic object ' + show(c.publish(new String('tr/s'), 'x', next))); next(); },
		function(next) { print('subscribe ' + show(c.subscribe('tr/sub', {qos: 0}, next))); },
		function(next) { print('unsubscribe ' + show(c.unsubscribe('tr/sub', next))); },
	];
	var i = 0;
	function next(err) {
		if (err !== undefined) print('  done ' + err.code + ' ' + err.message + ' ' + (this === c));
		if (i < steps.length) { steps[i++](next); return; }
		print('qos reads ' + (qosReads > 0) + ', setter runs ' + setterRuns);
		c.publish('tr/end', 'end', function() { c.end(); });
	}
	next();
});
`
	out := env{Broker: addr}.mustRun(t, src)
	want := `connect true false 0
qos 3 refused 10 Illegal argument
qos 1.5e9 refused 10 Illegal argument
qos object refused 10 Illegal argument
qos string refused 10 Illegal argument
qos 1 inherited ok
  done 0 OK true
default ok
  done 0 OK true
own qos wins ok
  done 0 OK true
topic object refused 10 Illegal argument
subscribe ok
  done 0 OK true
unsubscribe ok
  done 0 OK true
qos reads true, setter runs 0
`
	if out != want {
		t.Errorf("printed:\n%s\nwant:\n%s", out, want)
	}
	var wire []string
	for {
		m := testbroker.Next(t, peer)
		if m.Topic == "tr/end" {
			break
		}
		wire = append(wire, m.Topic+" "+string(m.Payload))
	}
	if got, want := strings.Join(wire, "\n"), "tr/q1 one\ntr/plain two\ntr/own three"; got != want {
		t.Errorf("on the wire:\n%s\nwant:\n%s", got, want)
	}
}
