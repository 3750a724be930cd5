// devicejs benchmark: 2,000 sequential publish -> own-message round trips (QoS 0, device API
// only). Run: devicejs run --broker HOST:PORT rtt.js. Prints "RESULT mean_us=N" (Date.now()
// has millisecond resolution, so only the mean over all round trips is reported).
var TOTAL = 2000;
var TOPIC = 'bench/devicejs/rtt';
var PAYLOAD = '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';
var got = 0;
var finished = false;
var t0 = 0;
var completed = true; // the previous publish's callback ran (one publish in flight)
var echoed = false;   // its message came back before its callback
var c = mqtt.connect('mqtt://bench.local', { reconnectCount: 0 });

function send() {
  completed = false;
  echoed = false;
  var r = c.publish(TOPIC, PAYLOAD, { qos: 0 }, function (err) {
    if (finished) {
      return; // the last one may complete with 11 when end() comes first
    }
    if (err.code !== 0) {
      print('FAIL publish callback ' + err.code);
      c.end();
      return;
    }
    completed = true;
    if (echoed) {
      send();
    }
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
    print('RESULT mean_us=' + (dt * 1000 / TOTAL).toFixed(1));
    finished = true;
    c.end();
    return;
  }
  if (completed) {
    send();
  } else {
    echoed = true;
  }
});
c.on('connect', function () {
  c.subscribe(TOPIC, { qos: 0 }, function (err) {
    if (err.code !== 0) {
      print('FAIL subscribe ' + err.code);
      c.end();
      return;
    }
    t0 = Date.now();
    send();
  });
});
c.on('error', function (err) {
  print('FAIL connect ' + err.code + ' errno ' + c.get('errnoConnect'));
});
