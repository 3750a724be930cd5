// devicejs benchmark (footprint): one idle connected device. fleetbench runs 1,000 of these,
// one runtime each, in one process. Prints "connected" once connected, "closed" if the
// connection is lost.
var c = mqtt.connect('mqtt://bench.local', { reconnectCount: 0 });
c.on('connect', function () {
  print('connected');
});
c.on('close', function () {
  print('closed');
});
c.on('error', function (err) {
  print('FAIL connect ' + err.code + ' errno ' + c.get('errnoConnect'));
});
