// A deliberately wrong device script: typecheck_test.go expects tsc to report each line.
var client = mqtt.conect('mqtt://foo.bar:1883');
var c = mqtt.connect('mqtt://foo.bar:1883');
c.on('conect', function() {});
c.publish('t', 'x', {qos: 3});
setTimeout(200).wiat();
c.on('message', function(topic, message) { topic.push(message); });
