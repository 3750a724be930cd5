// Conformance scenario "broker restart": the broker goes away while the sample is connected
// and comes back on the same address; the sample recovers (by itself or through its handlers)
// and works again.
var SAMPLES = [
  {file: 'sample1.js', pubTopic: 'bar_topic/device01', pubPayload: 'Battery level : 10%', inTopic: 'foo_topic/device01'},
  {file: 'sample2.js', tls: true, pubTopic: 'bar_topic/device01', pubPayload: 'Battery level : 10%', inTopic: 'foo_topic/device01'},
  {file: 'sample3.js', tls: true, user: 'foo', pass: 'foobar', pubTopic: 'bar_topic/device01', pubPayload: 'Battery level : 10%', inTopic: 'foo_topic/device01'},
  {file: 'sample4.js'},
  {file: 'sample5.js', pubTopic: 'testtopic/subtopic/dummy', pubPayload: '{"message":"dummy"}', inTopic: 'shadowtopic/device01'},
  {file: 'sample6.js', pubTopic: 'foo_topic/device01/dummy', pubPayload: '{"message":"dummy"}', inTopic: 'foo_topic/device01/peer'}
];

SAMPLES.forEach(function(s) {
  test(s.file + ': broker restart', function() {
    if (s.user && broker.isEmbedded()) {
      var u = {};
      u[s.user] = s.pass;
      broker.users(u);
    }
    var closeLine = s.file !== 'sample4.js' && s.file !== 'sample5.js';
    var d = device.start('../samples/' + s.file);
    world.until(function() { return d.lines().indexOf('CONNECTED') >= 0; }, 10000);
    broker.stop();
    if (closeLine) world.until(function() { return d.lines().indexOf('DISCONNECTED') >= 0; }, 10000);
    broker.start();
    function connectedTwice() {
      return d.lines().filter(function(l) { return l === 'CONNECTED'; }).length >= 2;
    }
    world.until(connectedTwice, 70000);
    var again = d.lines().length;
    if (s.inTopic) {
      var tr = d.trace().filter(function(e) { return e.kind === 'connack'; });
      var reconnectedAt = tr[tr.length - 1].atMs;
      world.until(function() {
        return d.trace().some(function(e) { return e.kind === 'suback' && e.atMs >= reconnectedAt; });
      }, 10000);
      var want = 'TOPIC: ' + s.inTopic + ' MESSAGE: after-restart';
      for (var i = 0; i < 20 && d.lines().indexOf(want) < 0; i++) {
        world.publish(s.inTopic, 'after-restart');
        try { world.until(function() { return d.lines().indexOf(want) >= 0; }, 1000); } catch (e) {}
      }
      expect(d).toHavePrinted(want);
    }
    if (s.pubTopic) {
      var restartedAt = world.now();
      world.until(function() {
        return d.published().filter(function(p) { return p.topic === s.pubTopic && p.atMs >= restartedAt; }).length > 0;
      }, 40000);
    }
    expect(d).toHavePrintedInOrder(closeLine ? ['CONNECTED', 'DISCONNECTED', 'CONNECTED'] : ['CONNECTED', 'CONNECTED']);
    expect(d).not.toHavePrinted(/Failed to create/);
    var after = d.lines().slice(again);
    after.forEach(function(l) { expect(l).not.toMatch(/SUBSCRIBE ERROR|Publish failed/); });
  });
});
