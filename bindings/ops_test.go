package bindings_test

import "testing"

// TestOperations: while connected, the refusals that depend on the session's state (12 for a
// publish in flight, 13 for a sixth filter), unsubscribe completion, and a text subscription
// receiving bytes that are not UTF-8. The broker sits on publishes to slow/ topics (harness),
// so the first publish is surely still in flight when the next statement runs.
func TestOperations(t *testing.T) {
	src := `
var client = mqtt.connect('BROKER');
function show(r) { return r === undefined ? 'accepted' : r.code + ' ' + r.message; }
client.on('connect', function() {
	var filters = ['slow/1', 'a/2', 'a/3', 'a/4', 'a/5', 'a/6'];
	for (var i = 0; i < filters.length; i++) {
		print('subscribe ' + filters[i] + ' ' + show(client.subscribe(filters[i])));
	}
	print('resubscribe slow/1 ' + show(client.subscribe('slow/1', {qos: 1})));
	print('canPublish ' + client.canPublish());
	print('publish 1 ' + show(client.publish('slow/1', new Uint8Array([0x68, 0xff, 0x69]), {qos: 2}, function(err) {
		print('publish 1 done ' + err.code);
		print('canPublish ' + client.canPublish());
	})));
	print('canPublish ' + client.canPublish());
	print('publish 2 ' + show(client.publish('slow/1', 'second', function() { print('CALLED'); })));
});
client.on('message', function(topic, message) {
	print('message ' + topic + ' ' + JSON.stringify(message));
	client.unsubscribe('slow/1', function(err) {
		print('unsubscribed ' + err.code);
		print('subscribe a/6 ' + show(client.subscribe('a/6', function(err) {
			print('subscribed a/6 ' + err.code);
			client.end();
		})));
	});
});
`
	out := env{Broker: startBroker(t)}.mustRun(t, src)
	// The publish completion and the delivery of the message race at the broker; both orders
	// are right.
	head := `subscribe slow/1 accepted
subscribe a/2 accepted
subscribe a/3 accepted
subscribe a/4 accepted
subscribe a/5 accepted
subscribe a/6 13 Subscribe failed
resubscribe slow/1 accepted
canPublish true
publish 1 accepted
canPublish false
publish 2 12 Publish failed
`
	doneFirst := head + `publish 1 done 0
canPublish true
message slow/1 "h�i"
unsubscribed 0
subscribe a/6 accepted
subscribed a/6 0
`
	messageFirst := head + `message slow/1 "h�i"
publish 1 done 0
canPublish true
unsubscribed 0
subscribe a/6 accepted
subscribed a/6 0
`
	if out != doneFirst && out != messageFirst {
		t.Errorf("output:\n%s\nwant:\n%s", out, doneFirst)
	}
}
