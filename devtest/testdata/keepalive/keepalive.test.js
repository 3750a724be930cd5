// Half-open links on device time (issue 18 A): a blackhole of 3 minutes against keepalive 30 s.

function kinds(d, kind) { return d.trace().filter(function(e) { return e.kind === kind; }); }

function seqs(list) { return list.map(function(p) { return Number(String(p.payload)); }); }

test('keepalive 30 s: close within the keepalive rule, reconnect after the blackhole, flush', function() {
  var d = device.start('reading.js');
  world.until(function() { return d.published().length >= 3; }, 30000);
  link.blackhole(true);
  var darkAt = world.now();
  world.after(180000);
  // PINGREQ once 30 s passed since the last packet sent or received (a PUBACK at most 5 s
  // before the blackhole, or the publish written into it), no PINGRESP within 10 s: close.
  var closes = kinds(d, 'close');
  expect(closes.length).toBe(1);
  expect(closes[0].atMs).toBeGreaterThanOrEqual(darkAt + 25000 + 10000);
  expect(closes[0].atMs).toBeLessThanOrEqual(darkAt + 30000 + 10000);
  expect(closes[0].error).toMatch(/keepalive: no PINGRESP within 10s/);
  expect(closes[0].err).toBe(closes[0].error); // the deprecated alias
  // No connection through the blackhole: attempts time out (connectTimeout 30 s).
  expect(kinds(d, 'connack').length).toBe(1);
  var sent = d.published().length;
  link.blackhole(false);
  var litAt = world.now();
  world.until(function() { return kinds(d, 'connack').length === 2; }, 40000);
  expect(kinds(d, 'connack')[1].atMs).toBeGreaterThanOrEqual(litAt);
  // The readings queued during the blackhole are flushed: every sequence number arrives, in
  // order (the publish written into the blackhole may arrive twice: once late, once resent).
  world.until(function() { return d.published().length >= sent + 40; }, 60000);
  var got = seqs(d.published()), want = 1;
  got.forEach(function(k) {
    if (k === want) want++;
    else expect(k).toBeLessThan(want); // a duplicate of an earlier one, never a gap
  });
  expect(want).toBeGreaterThan(40);
});

test('keepalive 0: no keepalive, no close during a blackhole', function() {
  var d = device.start('reading-nokeepalive.js');
  world.until(function() { return d.published().length >= 3; }, 30000);
  link.blackhole(true);
  world.after(180000);
  expect(d).not.toHaveClosed();
  // The publishes held in the blackhole complete afterwards, the queue drains. Counted from
  // before the link comes back: the drain may already have begun when blackhole(false)
  // returns (it runs on the link's goroutines at the same device time).
  var before = d.published().length;
  link.blackhole(false);
  world.until(function() { return d.published().length >= before + 30; }, 30000);
  expect(d).not.toHaveClosed();
});
