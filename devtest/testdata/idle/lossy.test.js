// A device publishing over a lossy, jittery link (TestDeviceTimeTraceIsDeterministic).
test('a lossy link', function() {
  var d = device.start('../ping.js', {link: 'latency=50ms,jitter=20ms,loss=20%'});
  world.after(20000);
  expect(d.published().length).toBeGreaterThan(5);
});
