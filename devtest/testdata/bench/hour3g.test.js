// One hour of device time of a 10-s QoS 1 publisher over the 3g profile (BenchmarkHourPublisher3G).
test('an hour over 3g', function() {
  var d = device.start('publisher.js', {link: '3g'});
  world.after(60 * 60 * 1000);
  expect(d).toHavePublished({topic: 'sensors/bench-1/temp', qos: 1, min: 359});
});
