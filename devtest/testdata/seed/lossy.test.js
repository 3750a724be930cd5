// A lossy link: its draws (which segments are lost, how much jitter) depend on the test's own
// seed only, so the trace below is the same in the whole file, under --run and with -j.
test('first', function() {
  var d = device.start('ping.js', {link: 'latency=20ms,jitter=10ms,loss=10%'});
  world.after(5000);
  expect(d).toHavePublished({topic: 'ping/+', min: 1});
});

test('lossy link', function() {
  var d = device.start('ping.js', {link: 'latency=50ms,jitter=30ms,loss=8%'});
  world.until(function() { return d.count('publish_done') >= 40; }, 600000);
  var s = link.stats();
  var done = d.trace().filter(function(e) { return e.kind === 'publish_done'; }).slice(0, 40);
  print('ended at ' + world.now() + ' losses ' + (s.up.losses + s.down.losses));
  print('done at ' + done.map(function(e) { return e.atMs; }).join(','));
});
