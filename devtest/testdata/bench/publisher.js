// A sensor publishing a reading every 10 s at QoS 1 (issue 18's benchmark device).
var client = mqtt.connect('mqtt://broker.example:1883', {clientId: 'bench-1', reconnectPeriod: 1000});
var n = 0;
client.on('connect', function() { print('CONNECTED'); });
setInterval(function() {
  n++;
  if (client.isConnected()) client.publish('sensors/bench-1/temp', '{"n":' + n + '}', {qos: 1});
}, 10000);
