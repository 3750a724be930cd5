// A publish the broker's ACL denies (user 'limited' may only publish under allowed/).
var c = mqtt.connect('mqtt://broker.local:1883', {username: 'limited', password: 'limited', reconnectCount: 0});
c.on('close', function () { print('close'); c.end(); });
c.on('connect', function () {
  c.publish('allowed/x', 'ok', {qos: 1}, function (e) {
    print('allowed publish ' + e.code);
    c.publish('denied/x', 'no', {qos: 1}, function (e) { print('denied publish ' + e.code); });
  });
});
c.on('error', function (e) { print('error ' + e.code + ' errno ' + c.get('errnoConnect')); c.end(); });
