// Conformance scenario "wrong password": the broker admits only a user the sample does not log in as.
var SAMPLES = [
  {file: 'sample1.js', pubTopic: 'bar_topic/device01', pubPayload: 'Battery level : 10%', inTopic: 'foo_topic/device01'},
  {file: 'sample2.js', tls: true, pubTopic: 'bar_topic/device01', pubPayload: 'Battery level : 10%', inTopic: 'foo_topic/device01'},
  {file: 'sample3.js', tls: true, user: 'foo', pass: 'foobar', pubTopic: 'bar_topic/device01', pubPayload: 'Battery level : 10%', inTopic: 'foo_topic/device01'},
  {file: 'sample4.js'},
  {file: 'sample5.js', pubTopic: 'testtopic/subtopic/dummy', pubPayload: '{"message":"dummy"}', inTopic: 'shadowtopic/device01'},
  {file: 'sample6.js', pubTopic: 'foo_topic/device01/dummy', pubPayload: '{"message":"dummy"}', inTopic: 'foo_topic/device01/peer'}
];

SAMPLES.forEach(function(s) {
  test(s.file + ': wrong password', function() {
    var users = {};
    if (s.user) {
      users[s.user] = s.pass + '-wrong';
    } else {
      users['someone'] = 'else';
    }
    broker.users(users); // skips the test on an external broker: needs the embedded broker
    var forMs = s.file === 'sample6.js' ? 40000 : 25000;
    var d = device.start('../samples/' + s.file);
    world.after(forMs);
    var refused = /^ERROR: 1 ERRNO: [45]$/; // CONNACK 4 bad user name or password, 5 not authorized
    var forbidden = [/^CONNECTED$/, /Publish OK/];
    var want = [];
    switch (s.file) {
    case 'sample1.js':
    case 'sample2.js':
      want = [refused, refused, 'Skipped'];
      break;
    case 'sample3.js':
      want = ['Skipped'];
      forbidden.push(/ERROR/);
      break;
    case 'sample5.js':
      want = ['Cannot publish'];
      forbidden.push(/ERROR/);
      break;
    case 'sample6.js':
      want = [refused, 'reconnectAttempts: 1', 'reconnectAttempts: 24', 'ABORT', 'mqtt instance recreate'];
      break;
    }
    expect(d).toHavePrintedInOrder(want);
    forbidden.forEach(function(re) { expect(d).not.toHavePrinted(re); });
    expect(d).toHaveFailedToConnect({min: 1});
  });
});
