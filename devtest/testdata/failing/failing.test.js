// Tests that must fail or skip, each in its own way (checked by TestFailureMessages).
test('wrong publish count', function() {
  var d = device.start('../sensor.js');
  world.after(25000);
  expect(d).toHavePublished({topic: 'sensors/sensor-1/temp', count: 5});
});

test('until times out', function() {
  var d = device.start('../sensor.js');
  world.until(function() { return d.lines().indexOf('NEVER') >= 0; }, 3000);
});

test('thrown error', function() {
  throw new Error('boom');
});

test('bad arguments throw TypeErrors, caught by the test', function() {
  var caught = 0;
  var calls = [
    function() { world.after(-1); },
    function() { world.after('x'); },
    function() { world.until(42, 1000); },
    function() { world.publish('a/#', 'x'); },
    function() { world.publish('a', 'x', {qos: 7}); },
    function() { world.subscribe('a/#/b'); },
    function() { link.set('no-such-profile'); },
    function() { link.set({loss: 2}); },
    function() { broker.refuse(-3); },
    function() { broker.deny('a', 'sideways'); },
    function() { device.start('no-such-file.js'); },
    function() { device.start('../sensor.js', {link: 'bogus=1'}); },
    function() { expect(1).toHavePrintedInOrder; expect({}).toMatch(undefined); throw new TypeError('x'); },
    function() { test(); }
  ];
  calls.forEach(function(f) { try { f(); } catch (e) { caught++; } });
  expect(caught).toBe(calls.length);
});

test.skip('skipped on purpose', function() {}, 'not ready');
