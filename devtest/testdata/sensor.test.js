test('publishes a reading every 10 s', function() {
  var d = device.start('sensor.js');
  world.until(function() { return d.lines().indexOf('CONNECTED') >= 0; }, 5000);
  world.after(35000);
  expect(d).toHavePrinted('CONNECTED', 1);
  expect(d).toHavePublished({topic: 'sensors/+/temp', qos: 1, count: 3});
  expect(d).toHavePublishedInOrder([{payload: /"n":1,/}, {payload: /"n":2,/}, {payload: /"n":3,/}]);
  expect(world.now()).toBeGreaterThanOrEqual(35000);
});

test('obeys a command from a peer', function() {
  var d = device.start('sensor.js');
  world.until(function() { return d.count('suback') > 0; }, 5000);
  world.publish('sensor-1/cmd', 'reboot', {qos: 1});
  world.until(function() { return d.lines().indexOf('CMD reboot') >= 0; }, 1000);
});

test('recovers from a broker restart', function() {
  var d = device.start('sensor.js');
  world.after(12000);
  broker.restart();
  world.after(20000);
  expect(d).toHaveClosed(1);
  expect(d).toHaveReconnected({min: 1});
  expect(d).toHaveConnected(2);
  expect(d).toHavePublished({topic: 'sensors/sensor-1/temp', fromMs: 12000});
});

test('reports offline while the network is down', function() {
  var d = device.start('sensor.js');
  world.after(5000);
  link.cut();       // the connection is reset...
  link.outage(30000); // ...and nothing gets through for 30 s
  world.after(30000);
  expect(d).toHavePrinted(/^OFFLINE /, {min: 2});
  world.after(15000);
  expect(d).toHaveConnected({min: 2});
});
