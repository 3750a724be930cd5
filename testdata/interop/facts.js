// Broker facts (docs/conformance.md "What you see with each broker"): retained messages and
// wildcards, '.' and '*' in topic names, '$' topics and wildcards.
var c = mqtt.connect('mqtt://broker.local:1883', {reconnectCount: 0});
c.on('message', function (t, m) { print('message ' + t + ' ' + m); });
c.on('close', function () { print('close'); });
function later(f) { setTimeout(f, 500); }
c.on('connect', function () {
  c.publish('facts/ret/a', 'retained', {qos: 1, retain: true}, function (e) {
    c.subscribe('facts/ret/#', {qos: 1}, function (e) {
      print('subscribed facts/ret/# ' + e.code);
      later(function () {
        c.subscribe('facts/ret/a', {qos: 1}, function (e) {
          print('subscribed facts/ret/a ' + e.code);
          later(topics);
        });
      });
    });
  });
});
function topics() {
  c.subscribe('facts/t/#', {qos: 1}, function (e) {
    c.publish('facts/t/a.b', 'dot', {qos: 1}, function (e) {
      c.publish('facts/t/a*b', 'star', {qos: 1}, function (e) {
        later(dollar);
      });
    });
  });
}
function dollar() {
  c.subscribe('+/dollar', {qos: 1}, function (e) {
    print('subscribed +/dollar ' + e.code);
    c.publish('$facts/dollar', 'dollar', {qos: 1}, function (e) {
      print('published $facts/dollar ' + e.code);
      later(function () {
        c.publish('facts/ret/a', '', {qos: 1, retain: true}, function () { c.end(); });
      });
    });
  });
}
