// Shared helpers (require), per-test device values (globals) and payload matchers.
var sensor = require('./lib/sensor.js');

test('the device id and password come from the test', function() {
  var d = sensor.startSensor('sensor02');
  world.after(3000);
  expect(d.clientId()).toBe('sensor02');
  expect(d).toHavePublished({topic: 'sensors/sensor02/temp', json: {id: 'sensor02', seq: 1}});
  expect(d).toHavePublished({topic: 'sensors/+/temp', json: {unit: 'C'}, min: 3});
  expect(d).not.toHavePublished({json: {unit: 'F'}});
});

test('a predicate over the parsed payload', function() {
  var d = sensor.startSensor('sensor03');
  world.after(5000);
  expect(d).toHavePublished(function(m) { return m.json.temp <= sensor.maxTemp; }, {min: 5});
  expect(d).toHavePublishedInOrder([{json: {seq: 1}}, function(m) { return m.json.seq === 3; }]);
  expect(sensor.readings(d).length).toBeGreaterThanOrEqual(5);
});
