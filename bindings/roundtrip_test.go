package bindings_test

import (
	"testing"
)

// TestRoundTrip connects to a real broker, subscribes as text and as binary, publishes a
// string, an ArrayBuffer and views of one, and reads them back.
func TestRoundTrip(t *testing.T) {
	addr := startBroker(t)
	src := `
var client = mqtt.connect('BROKER', {clientId: 'roundtrip'});
function hex(ab) {
	var u = new Uint8Array(ab), s = [];
	for (var i = 0; i < u.length; i++) s.push(u[i]);
	return s.join(',');
}
var sends = [
	['t/str', 'héllo ✓'],
	['t/bin', 'AB'],
	['t/bin', new Uint8Array([1, 2, 255]).buffer],
	['t/bin', new Uint8Array([9, 1, 2, 3, 9]).subarray(1, 4)],
	['t/bin', new DataView(new Uint8Array([7, 8, 9, 10]).buffer, 1, 2)],
	['t/bin', new Uint16Array([0x0201])],
	['t/str', new Uint8Array([0x68, 0x69]).buffer],
	['t/str', 'bye'],
];
var i = 0, waiting = 0, acks = [];
// next publishes the next message once both the previous one's callback and its delivery
// have happened (their relative order is the broker's business).
function next() {
	if (--waiting > 0) return;
	if (i >= sends.length) {
		print('acks ' + JSON.stringify(acks));
		client.end(function() { print('released'); });
		return;
	}
	var s = sends[i++];
	waiting = 2;
	var r = client.publish(s[0], s[1], {qos: 1}, function(err) {
		acks.push(err.code + ' ' + err.message);
		next();
	});
	if (r !== undefined) print('refused ' + r.code);
}
client.on('connect', function(connack) {
	print('connect ' + JSON.stringify(connack));
	client.subscribe('t/str', function(err) {
		print('subscribed t/str ' + err.code);
		client.subscribe('t/bin', {qos: 1, bin: true}, function(err) {
			print('subscribed t/bin ' + err.code);
			next();
		});
	});
});
client.on('message', function(topic, message) {
	if (typeof message === 'string') {
		print(topic + ' string ' + message);
	} else {
		print(topic + ' ' + (message instanceof ArrayBuffer ? 'ArrayBuffer ' : 'other ') + hex(message));
	}
	next();
});
client.on('end', function() { print('end'); });
`
	out := env{Broker: addr}.mustRun(t, src)
	want := `connect {"sessionPresent":false,"returnCode":0}
subscribed t/str 0
subscribed t/bin 0
t/str string héllo ✓
t/bin ArrayBuffer 65,66
t/bin ArrayBuffer 1,2,255
t/bin ArrayBuffer 1,2,3
t/bin ArrayBuffer 8,9
t/bin ArrayBuffer 1,2
t/str string hi
t/str string bye
acks ["0 OK","0 OK","0 OK","0 OK","0 OK","0 OK","0 OK","0 OK"]
end
released
`
	if out != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
}
