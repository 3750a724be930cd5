package devtest_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/devicejs/devicejs/devtest"
	"github.com/devicejs/devicejs/internal/testbroker"
)

// slowForward is a broker hook that holds every PUBLISH for delay before the broker routes
// it: a broker in another process on a loaded machine, as seen from the world.
type slowForward struct {
	mqtt.HookBase
	delay time.Duration
}

func (h *slowForward) ID() string { return "slow-forward" }

func (h *slowForward) Provides(b byte) bool { return b == mqtt.OnPublish }

func (h *slowForward) OnPublish(_ *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	time.Sleep(h.delay)
	return pk, nil
}

// TestExternalBrokerDeliveryHoldsTime is the regression test of the broker-restart flake on
// mosquitto (docs/testing.md): on an external broker, a device's publish must reach the '#'
// peer before device time moves on, however long the broker takes (here 50 ms per message,
// far above the 4 ms quiet window). Before the barrier (World.syncExternal), device time
// jumped from one publish to the next and the until below spent its budget with none seen.
func TestExternalBrokerDeliveryHoldsTime(t *testing.T) {
	b := testbroker.Mochi(t, testbroker.WithHook(&slowForward{delay: 50 * time.Millisecond}))
	dir := t.TempDir()
	files := map[string]string{
		"dev.js": `var c = mqtt.connect('mqtt://broker.example');
c.on('connect', function() { print('CONNECTED'); });
var n = 0;
setInterval(function() { n++; if (c.isConnected()) c.publish('t/' + n, 'x' + n, {qos: QOS}); }, 10000);
`,
		"slow.test.js": `[0, 1].forEach(function(qos) {
  test('qos ' + qos + ' publishes reach the peer in device time', function() {
    var d = device.start('dev' + qos + '.js');
    world.until(function() { return d.lines().indexOf('CONNECTED') >= 0; }, 5000);
    world.until(function() { return d.published().length > 0; }, 15000);
    expect(world.now()).toBeLessThan(15000);
    world.after(20000);
    expect(d.published().length).toBe(3);
  });
});
`,
	}
	for q := 0; q <= 1; q++ {
		src := strings.Replace(files["dev.js"], "QOS", string(rune('0'+q)), 1)
		if err := os.WriteFile(filepath.Join(dir, "dev"+string(rune('0'+q))+".js"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "slow.test.js"), []byte(files["slow.test.js"]), 0o644); err != nil {
		t.Fatal(err)
	}
	collected, err := devtest.Collect([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	results := devtest.RunFiles(context.Background(), collected, devtest.Options{Broker: b.Addr()}, nil)
	n := 0
	for _, f := range results {
		var sb strings.Builder
		devtest.WriteFile(&sb, f, true)
		if f.Failed() {
			t.Errorf("%s", sb.String())
		}
		n += len(f.Tests)
	}
	if n != 2 {
		t.Errorf("%d tests ran, want 2", n)
	}
}
