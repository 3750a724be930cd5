// One hour of device time of a 10-s QoS 1 publisher without a link (BenchmarkHourPublisherNoLink).
test('an hour without a link', function() {
  var d = device.start('publisher.js');
  world.after(60 * 60 * 1000);
  expect(d).toHavePublished({topic: 'sensors/bench-1/temp', qos: 1, min: 359});
});
