package fleet_test

import (
	"context"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/devicejs/devicejs"
	"github.com/devicejs/devicejs/fleet"
	"github.com/devicejs/devicejs/internal/syncbuf"
	"github.com/devicejs/devicejs/internal/testbroker"
)

// TestFleetLinkRoutes runs a fleet whose Device carries a Link over each kind of route (the
// embedded broker, Config.Broker, the script's own address through Config.Dial's absence is
// not reachable in a test): every instance's CONNECT/CONNACK round trip must take at least
// the link's latency both ways, measured by the script on device time (wall time here).
func TestFleetLinkRoutes(t *testing.T) {
	tb := testbroker.Mochi(t)
	src := `var t0 = Date.now();
var c = mqtt.connect('mqtt://broker.example:1883', {clientId: 'dev'});
c.on('connect', function() { print('rtt ' + (Date.now() - t0)); c.end(); });`
	routes := map[string]devicejs.Config{
		"embedded": {Embedded: tb.MochiBroker()},
		"broker":   {Broker: tb.Addr()},
	}
	for name, dev := range routes {
		t.Run(name, func(t *testing.T) {
			dev.Link = "latency=150ms"
			dev.For = time.Minute
			var out syncbuf.Buffer
			f, err := fleet.New(fleet.Config{N: 3, Script: devicejs.Script{Name: "l.js", Source: src}, Device: dev, Stdout: &out})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := f.Run(ctx); err != nil {
				t.Fatal(err)
			}
			m := regexp.MustCompile(`rtt (\d+)`).FindAllStringSubmatch(out.String(), -1)
			if len(m) != 3 {
				t.Fatalf("want 3 rtt lines, got:\n%s", out.String())
			}
			for _, g := range m {
				if ms, _ := strconv.Atoi(g[1]); ms < 290 {
					t.Errorf("CONNECT round trip %d ms through a 150 ms link, want >= 300 (less 10 ms of clock rounding)", ms)
				}
			}
		})
	}
}

// TestFleetLinkMalformed: fleet.New refuses a malformed Device.Link (or a Link beside a bad
// TimeScale), as devicejs.New refuses it for one device, so Run never meets one.
func TestFleetLinkMalformed(t *testing.T) {
	for _, dev := range []devicejs.Config{
		{Link: "latency="}, {Link: "nonsense"}, {Link: "loss=200%"}, {Link: "latency=-1s"},
		{Link: "3g", TimeScale: -2}, {Link: "3g", TimeScale: 1e9},
	} {
		if _, err := fleet.New(fleet.Config{N: 1, Script: devicejs.Script{Source: "print(1)"}, Device: dev}); err == nil {
			t.Errorf("Device %+v: New gave no error", dev)
		}
	}
}
