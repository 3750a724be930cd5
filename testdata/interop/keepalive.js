// Broker facts: a QoS 2 subscription's granted QoS (see the SUBACK in --trace), and keepalive
// 1 s over 5 s of silence from the script.
var c = mqtt.connect('mqtt://broker.local:1883', {keepalive: 1, reconnectCount: 0});
c.on('close', function () { print('close'); c.end(); });
c.on('connect', function () {
  c.subscribe('facts/q2/#', {qos: 2}, function (e) {
    print('subscribed qos 2: ' + e.code);
    setTimeout(function () {
      print('connected after 5 s with keepalive 1 s: ' + c.isConnected());
      c.end();
    }, 5000);
  });
});
