package bindings_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/devicejs/devicejs/bindings"
	"github.com/devicejs/devicejs/internal/syncbuf"
	"github.com/devicejs/devicejs/internal/testbroker"
)

// TestLogsNeverHoldSecrets: with a debug Logger (which gets every refusal reason), a password
// in the URL, in the options or in an unusable ssl.key never reaches the log. The URL of a
// refused connect used to be logged whole, user:password@ included.
func TestLogsNeverHoldSecrets(t *testing.T) {
	const marker = "S3cr3t-MARKER"
	var logs syncbuf.Buffer
	e := env{Broker: testbroker.DeadAddr(t), Config: bindings.Config{
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}}
	out, err := e.run(t, `
var opts = {username: 'u', password: '`+marker+`', reconnectCount: 1, reconnectPeriod: 10, connectTimeout: 500};
print(mqtt.connect('mqtt://u:`+marker+`@127.0.0.1:1883', opts));
print(mqtt.connect('mqtt://u:pa/ss`+marker+`@127.0.0.1:1883', opts));
print(mqtt.connect('BROKER', {password: 5, username: '`+marker+`'}));
mqtt.set('ssl.key', '-----BEGIN EC PRIVATE KEY-----\n`+marker+`\n-----END EC PRIVATE KEY-----\n');
var c = mqtt.connect('BROKER', opts);
c.on('error', function(e) { print('error', e.code); c.end(); });
c.publish('t', 'x', {qos: 7}, function(e) { print('publish', e.code); });
`)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	if !strings.Contains(logs.String(), "refused") {
		t.Fatalf("the logger got no refusal:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), marker) || strings.Contains(out, marker) {
		t.Errorf("a secret reached the output or the log:\nout: %s\nlog: %s", out, logs.String())
	}
}
