// Conformance scenario "wrong CA": the device trusts a CA that did not sign the broker's
// certificate. TLS samples fail with errnoConnect 7; mqtt:// samples do not use the CA.
var SAMPLES = [
  {file: 'sample1.js', pubTopic: 'bar_topic/device01', pubPayload: 'Battery level : 10%', inTopic: 'foo_topic/device01'},
  {file: 'sample2.js', tls: true, pubTopic: 'bar_topic/device01', pubPayload: 'Battery level : 10%', inTopic: 'foo_topic/device01'},
  {file: 'sample3.js', tls: true, user: 'foo', pass: 'foobar', pubTopic: 'bar_topic/device01', pubPayload: 'Battery level : 10%', inTopic: 'foo_topic/device01'},
  {file: 'sample4.js'},
  {file: 'sample5.js', pubTopic: 'testtopic/subtopic/dummy', pubPayload: '{"message":"dummy"}', inTopic: 'shadowtopic/device01'},
  {file: 'sample6.js', pubTopic: 'foo_topic/device01/dummy', pubPayload: '{"message":"dummy"}', inTopic: 'foo_topic/device01/peer'}
];

SAMPLES.forEach(function(s) {
  test(s.file + ': wrong CA', function() {
    if (s.user && broker.isEmbedded()) {
      var u = {};
      u[s.user] = s.pass;
      broker.users(u);
    }
    var forMs = s.file === 'sample6.js' ? 40000 : 25000;
    var d = device.start('../samples/' + s.file, {ssl: {ca: world.newCA().ca}});
    world.after(forMs);
    if (!s.tls) {
      expect(d).toHavePrinted('CONNECTED');
      expect(d).not.toHavePrinted(/ERROR/);
    } else if (s.user) { // sample 3 retries forever (reconnectCount 1855) and reports no error
      expect(d).toHavePrinted('Skipped');
      expect(d).not.toHavePrinted(/^CONNECTED$|ERROR/);
      expect(d).toHaveFailedToConnect({errno: 7, min: 2});
    } else {
      var want = 'ERROR: 1 ERRNO: 7';
      expect(d).toHavePrintedInOrder([want, want, 'Skipped', want]);
      expect(d).not.toHavePrinted('CONNECTED');
    }
  });
});
