// devicejs benchmark (profile of one idle device, docs/performance.md "What an idle device
// is made of"): connect with keepalive 600, subscribe one topic, then idle. Prints
// "connected" once subscribed.
var c = mqtt.connect('mqtt://bench.local', { keepalive: 600, reconnectCount: 0 });
c.on('connect', function () {
  c.subscribe('bench/idle/cmd', { qos: 1 }, function (err) {
    print(err.code === 0 ? 'connected' : 'FAIL subscribe ' + err.code);
  });
});
c.on('message', function (topic, message) {});
c.on('error', function (err) {
  print('FAIL connect ' + err.code);
});
