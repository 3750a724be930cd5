// Conformance scenario "broker down": nothing accepts connections from the start.
var SAMPLES = [
  {file: 'sample1.js', pubTopic: 'bar_topic/device01', pubPayload: 'Battery level : 10%', inTopic: 'foo_topic/device01'},
  {file: 'sample2.js', tls: true, pubTopic: 'bar_topic/device01', pubPayload: 'Battery level : 10%', inTopic: 'foo_topic/device01'},
  {file: 'sample3.js', tls: true, user: 'foo', pass: 'foobar', pubTopic: 'bar_topic/device01', pubPayload: 'Battery level : 10%', inTopic: 'foo_topic/device01'},
  {file: 'sample4.js'},
  {file: 'sample5.js', pubTopic: 'testtopic/subtopic/dummy', pubPayload: '{"message":"dummy"}', inTopic: 'shadowtopic/device01'},
  {file: 'sample6.js', pubTopic: 'foo_topic/device01/dummy', pubPayload: '{"message":"dummy"}', inTopic: 'foo_topic/device01/peer'}
];

SAMPLES.forEach(function(s) {
  test(s.file + ': broker down', function() {
    broker.stop();
    var forMs = {'sample4.js': 35000, 'sample6.js': 40000}[s.file] || 25000;
    var d = device.start('../samples/' + s.file);
    world.after(forMs);
    var forbidden = [/^CONNECTED$/, /Publish OK/];
    var want = [];
    switch (s.file) {
    case 'sample1.js':
    case 'sample2.js':
      want = [/^ERROR: 1 ERRNO: 6$/, /^ERROR: 1 ERRNO: 6$/, 'Skipped', /^ERROR: 1 ERRNO: 6$/, 'Skipped'];
      break;
    case 'sample3.js': // reconnectCount 1855: retries forever and reports no error
      want = ['Skipped', 'Skipped'];
      forbidden.push(/ERROR/);
      break;
    case 'sample4.js':
      want = ['end event', 'ABORT'];
      break;
    case 'sample5.js':
      want = ['Cannot publish'];
      forbidden.push(/ERROR/);
      break;
    case 'sample6.js':
      want = ['ERROR: 1 ERRNO: 6', 'reconnectAttempts: 1', 'ERROR: 1 ERRNO: 6', 'reconnectAttempts: 24',
        'ERROR: 1 ERRNO: 6', 'ABORT', 'mqtt instance recreate', 'ERROR: 1 ERRNO: 6'];
      expect(d).toHavePrinted(/^reconnectAttempts: /, {min: 24});
      break;
    }
    expect(d).toHavePrintedInOrder(want);
    forbidden.forEach(function(re) { expect(d).not.toHavePrinted(re); });
    expect(d).not.toHaveConnected();
  });
});
