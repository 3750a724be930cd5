test('a top-level loop holds device time', function() {
  var d = device.start('toplevel.js');
  world.after(1000);
  expect(d).toHavePrinted('top level: 0 ms of device time, 0 ticks');
});
