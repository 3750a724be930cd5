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

// TestFleetLinkMalformed: a malformed Device.Link ends Run with an error before any instance
// starts, as devicejs.New refuses it for one device.
func TestFleetLinkMalformed(t *testing.T) {
	for _, spec := range []string{"latency=", "nonsense", "loss=200%", "latency=-1s"} {
		f, err := fleet.New(fleet.Config{N: 1, Script: devicejs.Script{Source: "print(1)"},
			Device: devicejs.Config{Link: spec}})
		if err != nil {
			continue // refused by New: as good
		}
		if _, err := f.Run(context.Background()); err == nil {
			t.Errorf("Link %q: Run gave no error", spec)
		}
	}
}
