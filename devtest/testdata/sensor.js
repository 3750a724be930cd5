// A user's sensor: connects, publishes a reading every 10 s (QoS 1), prints what it does.
var client = mqtt.connect('mqtt://broker.example:1883', {clientId: 'sensor-1', reconnectPeriod: 1000, reconnectCount: 1855});
client.on('connect', function() {
  print('CONNECTED');
  client.subscribe('sensor-1/cmd', {qos: 1});
});
client.on('close', function() { print('CLOSED'); });
client.on('message', function(topic, message) { print('CMD ' + message); });
var n = 0;
setInterval(function() {
  n++;
  if (client.isConnected()) {
    client.publish('sensors/sensor-1/temp', '{"n":' + n + ',"c":21.5}', {qos: 1});
  } else {
    print('OFFLINE ' + n);
  }
}, 10000);
