// Publishes a numbered temperature every second (QoS 1) while it can; reconnects forever.
var c = mqtt.connect('mqtt://broker.example', {clientId: 'dev-7', reconnectCount: 1855, reconnectPeriod: 1000});
var seq = 0;
setInterval(function() {
  if (!c.canPublish()) return;
  seq++;
  c.publish('dev/dev-7/temp', String(seq), {qos: 1});
}, 1000);
