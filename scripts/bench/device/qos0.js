// devicejs benchmark: 20,000 chained QoS 0 publishes to a subscribed topic (device API only).
// Run: devicejs run --broker HOST:PORT qos0.js. Prints "RESULT msgs_per_s=N".
var TOTAL = 20000;
var QOS = 0;
var TOPIC = 'bench/devicejs/qos0';
var PAYLOAD = '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';
var sent = 0;
var got = 0;
var t0 = 0;
var finished = false;
var c = mqtt.connect('mqtt://bench.local', { reconnectCount: 0 });

function next() {
  if (sent >= TOTAL) {
    return;
  }
  sent++;
  var r = c.publish(TOPIC, PAYLOAD, { qos: QOS }, function (err) {
    if (finished) {
      return; // the last message can come back before its own completion; end() makes that 11
    }
    if (err.code !== 0) {
      print('FAIL publish callback ' + err.code);
      c.end();
      return;
    }
    next();
  });
  if (r !== undefined) {
    print('FAIL publish ' + r.code);
    c.end();
  }
}

c.on('message', function () {
  got++;
  if (got === TOTAL) {
    var dt = Date.now() - t0;
    print('RESULT msgs_per_s=' + Math.round(TOTAL * 1000 / dt));
    finished = true;
    c.end();
  }
});
c.on('connect', function () {
  c.subscribe(TOPIC, { qos: QOS }, function (err) {
    if (err.code !== 0) {
      print('FAIL subscribe ' + err.code);
      c.end();
      return;
    }
    t0 = Date.now();
    next();
  });
});
c.on('error', function (err) {
  print('FAIL connect ' + err.code + ' errno ' + c.get('errnoConnect'));
});
