// One script for the device and its tests: on the device the defaults apply; a test gives
// other values with device.start(file, {globals}).
var DEVICE_ID = typeof DEVICE_ID !== 'undefined' ? DEVICE_ID : 'sensor01';
var PASSWORD = typeof PASSWORD !== 'undefined' ? PASSWORD : 'factory-secret';
var PERIOD_MS = typeof PERIOD_MS !== 'undefined' ? PERIOD_MS : 60000;
var c = mqtt.connect('mqtt://broker.example', {clientId: DEVICE_ID, username: DEVICE_ID, password: PASSWORD});
var seq = 0;
setInterval(function() {
  if (!c.isConnected()) return;
  seq++;
  c.publish('sensors/' + DEVICE_ID + '/temp', JSON.stringify({id: DEVICE_ID, seq: seq, temp: 20 + seq % 3, unit: 'C'}), {qos: 1});
}, PERIOD_MS);
