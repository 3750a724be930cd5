// Publishes JSON and non-JSON payloads once connected, one every 100 ms, for the payload
// matchers' tests.
var c = mqtt.connect('mqtt://broker.example', {clientId: 'pub'});
var msgs = [];
for (var i = 1; i <= 3; i++) {
  msgs.push(['tele/a', JSON.stringify({seq: i, temp: 20 + i / 2, tags: ['x', 'y'], nested: {a: 1, b: {c: i}}})]);
}
msgs.push(['tele/raw', 'not json']);
msgs.push(['tele/arr', '[1,2,{"k":"v","z":0}]']);
msgs.push(['tele/deep', new Array(1002).join('[') + new Array(1002).join(']')]);
msgs.push(['tele/num', '42']);
var n = 0;
var t = setInterval(function() {
  if (!c.isConnected()) return;
  var m = msgs[n++];
  c.publish(m[0], m[1], {qos: 1});
  if (n === msgs.length) { clearInterval(t); print('SENT'); }
}, 100);
