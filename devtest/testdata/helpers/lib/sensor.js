// Helpers shared by test files: require('./lib/sensor.js') from a test file next to lib/.
// device.start paths are relative to the test file, not to this helper.
var limits = require('./limits.json');

/** Starts the sensor as device id with the test's password, and waits for its first reading. */
exports.startSensor = function(id) {
  var d = device.start('sensor.js', {globals: {DEVICE_ID: id, PASSWORD: 'test-pw', PERIOD_MS: limits.periodMs}});
  world.until(function() { return d.published().length >= 1; }, 10000);
  return d;
};

/** The readings a device published, parsed. */
exports.readings = function(d) {
  return d.published().map(function(p) { return JSON.parse(p.payload); });
};

exports.maxTemp = limits.maxTemp;
