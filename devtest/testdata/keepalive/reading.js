// A cellular sensor (issue 18): a reading every 5 s, queued and sent with QoS 1, one at a time;
// a reading whose publish fails (11: the connection died) stays queued and is sent again after
// the reconnection. keepalive 30 s, reconnecting forever.
var c = mqtt.connect('mqtt://broker.example', {clientId: 'ka-1', keepalive: 30, reconnectCount: 1855, reconnectPeriod: 1000});
var queue = [], seq = 0, busy = false;
function pump() {
  if (busy || queue.length === 0 || !c.canPublish()) return;
  busy = true;
  var k = queue[0];
  c.publish('dev/ka-1/temp', String(k), {qos: 1}, function(err) {
    busy = false;
    if (err.code === 0) queue.shift();
    pump();
  });
}
c.on('connect', function() { print('CONNECT'); pump(); });
c.on('close', function() { print('CLOSE'); });
setInterval(function() { seq++; queue.push(seq); pump(); }, 5000);
