// Peers keep their subscriptions across broker restarts (issue 18 D).

function seqs(list) { return list.map(function(m) { return String(m.payload); }); }

test('a peer subscription survives broker.stop() and broker.start()', function() {
  var backend = world.subscribe('dev/+/temp');
  var d = device.start('temp.js');
  world.until(function() { return d.published().length >= 3; }, 10000);
  broker.stop();
  world.after(3000);
  broker.start();
  world.until(function() { return d.published().length >= 15; }, 30000);
  world.after(500);
  // Everything the broker received from the device reached the backend, before and after.
  expect(seqs(backend.messages())).toEqual(seqs(d.published()));
});

test('and broker.restart(), twice, with a peer subscribed after the first', function() {
  var a = world.subscribe('dev/#');
  var d = device.start('temp.js');
  world.until(function() { return d.published().length >= 2; }, 10000);
  broker.restart();
  var b = world.subscribe('dev/dev-7/temp');
  world.until(function() { return d.published().length >= 6; }, 30000);
  broker.restart();
  world.until(function() { return d.published().length >= 10; }, 30000);
  world.after(500);
  var all = seqs(d.published());
  expect(seqs(a.messages())).toEqual(all);
  var since = b.messages().length > 0 ? all.indexOf(String(b.messages()[0].payload)) : -1;
  expect(since).toBeGreaterThanOrEqual(0);
  expect(seqs(b.messages())).toEqual(all.slice(since));
});
