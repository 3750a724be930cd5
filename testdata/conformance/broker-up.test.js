// Conformance scenario "broker up" for the six documented samples (run verbatim from
// ../samples): each connects, publishes what it says on its interval (seen by the broker),
// and prints what a peer publishes to a topic it subscribed. Same table in every file of this
// folder (test files have no require()).
var SAMPLES = [
  {file: 'sample1.js', pubTopic: 'bar_topic/device01', pubPayload: 'Battery level : 10%', inTopic: 'foo_topic/device01'},
  {file: 'sample2.js', tls: true, pubTopic: 'bar_topic/device01', pubPayload: 'Battery level : 10%', inTopic: 'foo_topic/device01'},
  {file: 'sample3.js', tls: true, user: 'foo', pass: 'foobar', pubTopic: 'bar_topic/device01', pubPayload: 'Battery level : 10%', inTopic: 'foo_topic/device01'},
  {file: 'sample4.js'},
  {file: 'sample5.js', pubTopic: 'testtopic/subtopic/dummy', pubPayload: '{"message":"dummy"}', inTopic: 'shadowtopic/device01'},
  {file: 'sample6.js', pubTopic: 'foo_topic/device01/dummy', pubPayload: '{"message":"dummy"}', inTopic: 'foo_topic/device01/peer'}
];

// login admits the sample's own user when it sends one (anonymous otherwise).
function login(s) {
  if (s.user && broker.isEmbedded()) {
    var u = {};
    u[s.user] = s.pass;
    broker.users(u);
  }
}

// sendUntilPrinted publishes msg to the sample's inTopic until the sample prints it.
function sendUntilPrinted(d, s, msg) {
  var want = 'TOPIC: ' + s.inTopic + ' MESSAGE: ' + msg;
  for (var i = 0; i < 20; i++) {
    world.publish(s.inTopic, msg);
    try {
      world.until(function() { return d.lines().indexOf(want) >= 0; }, 1000);
      return;
    } catch (e) {}
  }
  expect(d).toHavePrinted(want);
}

// expectExactPublishes: at least n publishes on pubTopic, every one with the sample's payload.
function expectExactPublishes(d, s, n) {
  expect(d).toHavePublished({topic: s.pubTopic, min: n});
  var ps = d.published();
  for (var i = 0; i < ps.length; i++) {
    if (ps[i].topic === s.pubTopic) expect(ps[i].payload).toBe(s.pubPayload);
  }
}

SAMPLES.forEach(function(s) {
  test(s.file + ': broker up', function() {
    login(s);
    var forMs = s.file === 'sample4.js' ? 65000 : 35000; // sample 4: two connect/end cycles of 30 s
    var d = device.start('../samples/' + s.file);
    world.until(function() { return d.lines().indexOf('CONNECTED') >= 0; }, 10000);
    if (s.inTopic) {
      world.until(function() { return d.count('suback') > 0; }, 10000);
      sendUntilPrinted(d, s, 'hello-from-peer');
    }
    world.after(forMs - world.now());
    ['ERROR', 'Skipped', 'Cannot publish', 'Publish failed', 'DISCONNECTED', 'SUBSCRIBE ERROR'].forEach(function(bad) {
      expect(d).not.toHavePrinted(new RegExp(bad));
    });
    switch (s.file) {
    case 'sample4.js':
      expect(d).toHavePrintedInOrder(['CONNECTED', 'end event', 'ABORT', 'CONNECTED', 'end event', 'ABORT']);
      break;
    case 'sample5.js':
    case 'sample6.js':
      expect(d).toHavePrintedInOrder(['CONNECTED', 'Publish OK', 'Publish OK']);
      break;
    default:
      expect(d).toHavePrinted('CONNECTED');
    }
    if (s.pubTopic) expectExactPublishes(d, s, 2);
  });
});
