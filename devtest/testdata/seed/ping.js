// Publishes a numbered QoS 1 message every second and prints when each one completes.
var c = mqtt.connect('mqtt://broker.example', {clientId: 'pinger', reconnectCount: 1855, reconnectPeriod: 1000});
var n = 0;
setInterval(function() {
  if (!c.isConnected()) return;
  n++;
  var k = n;
  c.publish('ping/' + k, 'p' + k, {qos: 1}, function(err) { print('DONE ' + k + ' ' + err.code); });
}, 1000);
