// devicejs benchmark: connect, CONNACK, end (the harness times the whole process).
// Run: devicejs run --broker HOST:PORT startup.js.
var c = mqtt.connect('mqtt://bench.local', { reconnectCount: 0 });
c.on('connect', function () {
  c.end();
});
c.on('error', function (err) {
  print('FAIL connect ' + err.code + ' errno ' + c.get('errnoConnect'));
});
