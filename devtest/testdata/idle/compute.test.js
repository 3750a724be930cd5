// The clock does not move while a handler computes (docs/testing.md, the virtual-time rule).
test('a long handler sees no time pass', function() {
  var d = device.start('compute.js');
  world.until(function() { return d.lines().length >= 2; }, 1000);
  var l = d.lines();
  var at = l[0].split(' ')[1];
  expect(l[0]).toBe('before ' + at);
  expect(l[1]).toBe('after ' + at + ' true');
});
