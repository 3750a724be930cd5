package bindings_test

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/devicejs/devicejs/internal/testbroker"
)

// resettingBroker is an MQTT 3.1.1 peer on a loopback port that acknowledges publishes as their
// QoS asks and resets (RST) the first connection on its resetAt-th PUBLISH: a broker that dies
// mid-publish. Later connections are served normally. It stops with the test.
func resettingBroker(t *testing.T, resetAt int) string {
	t.Helper()
	var n atomic.Int32 // connections accepted
	return testbroker.Fake(t, func(c net.Conn) {
		defer c.Close()
		serveResetting(c, n.Add(1) == 1, resetAt)
	}).Addr()
}

// serveResetting serves one connection of resettingBroker.
func serveResetting(c net.Conn, reset bool, resetAt int) {
	r := bufio.NewReader(c)
	pubs := 0
	for {
		h, body, err := testbroker.ReadPacket(r)
		if err != nil {
			return
		}
		var reply []byte
		switch h >> 4 {
		case 1: // CONNECT
			reply = []byte{0x20, 2, 0, 0}
		case 3: // PUBLISH
			pubs++
			if reset && pubs == resetAt {
				if tc, ok := c.(*net.TCPConn); ok {
					_ = tc.SetLinger(0)
				}
				return // the deferred Close sends RST
			}
			if qos := h >> 1 & 3; qos > 0 {
				tl := int(body[0])<<8 | int(body[1])
				kind := byte(0x40) // PUBACK
				if qos == 2 {
					kind = 0x50 // PUBREC
				}
				reply = []byte{kind, 2, body[2+tl], body[3+tl]}
			}
		case 6: // PUBREL
			reply = []byte{0x70, 2, body[0], body[1]}
		case 12: // PINGREQ
			reply = []byte{0xD0, 0}
		case 14: // DISCONNECT
			return
		}
		if reply != nil {
			if _, err := c.Write(reply); err != nil {
				return
			}
		}
	}
}

// TestResendWhenCanPublishDoesNotSpin (issue 18 finding 9): the script of the finding re-sends a
// failed reading whenever canPublish() says it can. When the broker dies mid-publish, the
// callback with 11 must already see isConnected() and canPublish() false, so the script waits
// for the reconnection instead of failing thousands of times; close comes once, then reconnect
// and connect.
func TestResendWhenCanPublishDoesNotSpin(t *testing.T) {
	for _, tc := range []struct {
		qos     int
		resetAt int
	}{
		{0, 1}, {0, 200}, {1, 1}, {1, 50}, {2, 1}, {2, 50},
	} {
		t.Run(fmt.Sprintf("qos%d reset at publish %d", tc.qos, tc.resetAt), func(t *testing.T) {
			src := fmt.Sprintf(`
var client = mqtt.connect('BROKER', {reconnectCount: 1855, reconnectPeriod: 100});
var ok = 0, failed = 0, resent = 0, refused = 0, sawLive = 0, closes = 0, connects = 0;
var events = [];
function send() {
	var r = client.publish('dead/conn', 'reading', {qos: %d}, done);
	if (r !== undefined) { refused++; }
}
function done(err) {
	if (err.code === 0) {
		ok++;
		if (client.canPublish()) { send(); }
		return;
	}
	failed++;
	events.push('pub ' + err.code + ' connected=' + client.isConnected() + ' canPublish=' + client.canPublish());
	if (client.isConnected() || client.canPublish()) { sawLive++; }
	if (client.canPublish()) { resent++; send(); } // the finding's script
}
client.on('close', function() { closes++; events.push('close'); });
client.on('reconnect', function() { if (events[events.length - 1] !== 'reconnect') { events.push('reconnect'); } });
client.on('connect', function() {
	connects++;
	events.push('connect');
	if (connects === 1) { send(); return; }
	print(events.join('\n'));
	print('failed=' + failed + ' resent=' + resent + ' refused=' + refused + ' sawLive=' + sawLive + ' closes=' + closes);
	client.end();
});
`, tc.qos)
			out := env{Broker: resettingBroker(t, tc.resetAt), Scale: 10}.mustRun(t, src)
			t.Logf("output:\n%s", out)
			var summary string
			var sawClose bool
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				switch {
				case strings.HasPrefix(line, "failed="):
					summary = line
				case line == "close":
					sawClose = true
				case strings.HasPrefix(line, "pub "):
					if sawClose {
						t.Errorf("%q after close", line)
					}
					if line != "pub 11 connected=false canPublish=false" {
						t.Errorf("callback saw %q, want pub 11 connected=false canPublish=false", line)
					}
				}
			}
			var failed, resent, refused, sawLive, closes int
			if _, err := fmt.Sscanf(summary, "failed=%d resent=%d refused=%d sawLive=%d closes=%d",
				&failed, &resent, &refused, &sawLive, &closes); err != nil {
				t.Fatalf("no summary (%v) in output:\n%s", err, out)
			}
			// A publish issued after canPublish() said true may still be refused with 11 when the
			// connection dies between the two calls (another goroutine finds it dead): once.
			if failed > 1 || resent != 0 || refused > 1 || sawLive != 0 || closes != 1 {
				t.Errorf("one broker death: %s; want failed <= 1 (one publish in flight), refused <= 1, nothing resent, close once\n%s",
					summary, out)
			}
			if !strings.Contains(out, "close\nreconnect\nconnect\n") {
				t.Errorf("want close, reconnect, connect in order:\n%s", out)
			}
		})
	}
}
