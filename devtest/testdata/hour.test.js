// One hour of device time: a sample-5-like device publishing every 10 s (QoS 1), with a
// broker restart at 30 min. BenchmarkHourOfDeviceTime times it.
test('an hour with a broker restart', function() {
  var d = device.start('../../testdata/samples/sample5.js');
  world.after(30 * 60 * 1000);
  broker.restart();
  world.after(30 * 60 * 1000);
  expect(world.now()).toBe(3600000);
  expect(d).toHaveConnected({min: 2});
  // sample 5 publishes every 15 s: 240 in the hour, less the few around the restart
  expect(d).toHavePublished({topic: 'testtopic/subtopic/dummy', min: 230});
  expect(d).toHavePublished({topic: 'testtopic/subtopic/dummy', fromMs: 1800000, min: 110});
});
