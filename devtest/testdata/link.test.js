// The link's conditions measured where they act: device time between the device handing a
// PUBLISH to its connection (trace) and the broker receiving it (one way), and the PUBACK
// coming back (round trip).

// sentAt maps topic -> device time the device handed the PUBLISH to its connection.
function sentAt(d) {
  var m = {};
  d.trace().forEach(function(e) { if (e.kind === 'publish') m[e.topic] = e.atMs; });
  return m;
}

function doneAt(d) {
  var m = {};
  d.trace().forEach(function(e) { if (e.kind === 'publish_done') m[e.topic] = e.atMs; });
  return m;
}

test('latency: one way and round trip, in device time', function() {
  var d = device.start('ping.js', {link: 'latency=200ms'});
  world.after(10500);
  var sent = sentAt(d), done = doneAt(d), ps = d.published();
  expect(ps.length).toBeGreaterThanOrEqual(5);
  ps.forEach(function(p) {
    var oneWay = p.atMs - sent[p.topic];
    expect(oneWay).toBeGreaterThanOrEqual(200);
    expect(oneWay).toBeLessThan(260);
    var rtt = done[p.topic] - sent[p.topic];
    expect(rtt).toBeGreaterThanOrEqual(400);
    expect(rtt).toBeLessThan(520);
  });
  var s = link.stats();
  expect(s.up.bytes).toBeGreaterThan(0);
  expect(s.down.bytes).toBeGreaterThan(0);
});

test('loss: lost segments are retransmitted after the RTO, never dropped', function() {
  var d = device.start('ping.js', {link: 'latency=50ms,loss=30%'});
  world.after(60500);
  var s = link.stats();
  expect(s.up.losses + s.down.losses).toBeGreaterThan(5);
  var sent = sentAt(d), ps = d.published();
  var slow = 0;
  ps.forEach(function(p) { if (p.atMs - sent[p.topic] >= 250) slow++; }); // 50 ms + RTO 200 ms
  expect(slow).toBeGreaterThan(0);
  expect(d).toHavePublished({topic: 'ping/+', min: 50}); // every message arrives
  expect(d).not.toHavePrinted(/^DONE \d+ [1-9]/);
});

test('blackhole: nothing passes, nothing closes; the bytes arrive afterwards', function() {
  var d = device.start('ping.js');
  world.after(2500);
  var before = d.published().length;
  link.blackhole(true);
  world.after(5000);
  expect(d.published().length).toBe(before);
  expect(d).not.toHaveClosed();
  link.blackhole(false);
  var liftedAt = world.now();
  // The publish in flight when the link went dark arrives once it is lifted; publishes the
  // device refused meanwhile (one QoS 1 publish in flight at a time) are gone, later ones pass.
  world.until(function() { return d.published().length >= before + 3; }, 3000);
  expect(d.published()[before].atMs).toBeGreaterThanOrEqual(liftedAt);
});
