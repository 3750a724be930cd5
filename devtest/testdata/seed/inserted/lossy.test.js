test('inserted above', function() {
  var d = device.start('ping.js', {link: 'latency=5ms,loss=20%'});
  world.after(7000);
});

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
