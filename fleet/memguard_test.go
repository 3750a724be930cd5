package fleet_test

import (
	"context"
	"fmt"
	goruntime "runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devicejs/devicejs"
	"github.com/devicejs/devicejs/broker"
	"github.com/devicejs/devicejs/fleet"
	"github.com/devicejs/devicejs/internal/syncbuf"
	"github.com/devicejs/devicejs/internal/testbroker"
)

// bombScript ticks every 100 ms once connected; the one instance the broker lets read
// "bomb/go" (a retained message) calls one allocating built-in far larger than the budget.
const bombScript = `var c = mqtt.connect('mqtt://127.0.0.1:1883', {clientId: 'dev'});
var ticks = 0;
c.on('connect', function() {
  c.subscribe('bomb/go');
  setInterval(function() { ticks++; print('tick ' + ticks); }, 100);
});
c.on('message', function(topic) {
  print('bomb ' + topic);
  try { new Array(%s).fill(1); } catch (e) { print('caught ' + e); }
  print('survived');
});`

// TestFleetMemoryGuardEndsOneInstance: in a fleet with MaxMemory 128 MiB and five instances on a
// real broker (mochi over loopback TCP), the one instance that calls new Array(1.5e8).fill(1)
// (2.4 GB of slots) is ended alone by its memory guard before it allocates: it is listed in
// Summary.Ended with ReasonMemory, the fleet's watchdog never fires (StopCause nil), the other
// four tick on to the end of For, and the process heap (runtime.ReadMemStats, sampled every
// 2 ms) stays far below 1 GB. Several shapes of the one big call are tried.
func TestFleetMemoryGuardEndsOneInstance(t *testing.T) {
	const budget = 128 << 20
	shapes := []struct{ name, length string }{
		{"fill of 1.5e8", "1.5e8"},
		{"fill of 1e9", "1e9"},
		{"fill of 2**32-1", "2**32-1"},
	}
	for _, sh := range shapes {
		t.Run(sh.name, func(t *testing.T) {
			mb := testbroker.MochiConfig(t, broker.Config{TCPAddr: "127.0.0.1:0",
				ACL: func(_, clientID, topic string, write bool) bool {
					return write || !strings.HasPrefix(topic, "bomb/") || clientID == "dev2"
				}})
			if err := mb.Server().Publish("bomb/go", []byte("x"), true, 0); err != nil {
				t.Fatal(err)
			}
			src := strings.Replace(bombScript, "%s", sh.length, 1)
			var out syncbuf.Buffer
			fl, err := fleet.New(fleet.Config{
				N: 5, Script: devicejs.Script{Name: "bomb.js", Source: src},
				Device: devicejs.Config{Broker: mb.Addr(), For: 3 * time.Second},
				Stdout: &out, MaxMemory: budget,
			})
			if err != nil {
				t.Fatal(err)
			}
			goruntime.GC()
			var peak atomic.Uint64
			stop, sampled := make(chan struct{}), make(chan struct{})
			go func() {
				defer close(sampled)
				var ms goruntime.MemStats
				for {
					select {
					case <-stop:
						return
					case <-time.After(2 * time.Millisecond):
					}
					goruntime.ReadMemStats(&ms)
					if ms.HeapAlloc > peak.Load() {
						peak.Store(ms.HeapAlloc)
					}
				}
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			sum, err := fl.Run(ctx)
			close(stop)
			<-sampled
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("peak heap %.0f MiB (budget %d MiB)", float64(peak.Load())/(1<<20), budget>>20)
			if ctx.Err() != nil {
				t.Fatal("the test's timeout ended the fleet")
			}
			if c := fl.StopCause(); c != nil {
				t.Errorf("the fleet was stopped (%v); only the one instance should have ended", c)
			}
			if len(sum.Ended) != 1 || sum.Ended[0].Index != 2 || sum.Ended[0].Reason != fleet.ReasonMemory ||
				!strings.Contains(sum.Ended[0].Detail, "Array.prototype.fill would allocate") {
				t.Fatalf("ended %+v, want only [2] with reason %q from the fill guard", sum.Ended, fleet.ReasonMemory)
			}
			o := out.String()
			if !strings.Contains(o, "[2] bomb bomb/go") {
				t.Errorf("instance 2 never got the message: %q", o)
			}
			if strings.Contains(o, "survived") || strings.Contains(o, "caught") || strings.Count(o, "bomb bomb/go") != 1 {
				t.Errorf("the call was not stopped alone: %q", o)
			}
			// 3 s of 100 ms ticks: 10 is generous slack for a loaded machine.
			for _, i := range []int{0, 1, 3, 4} {
				if want := fmt.Sprintf("[%d] tick 10\n", i); !strings.Contains(o, want) {
					t.Errorf("instance %d did not run on (no %q): %q", i, want, o)
				}
			}
			if p := peak.Load(); p > 512<<20 {
				t.Errorf("peak heap %.0f MiB: the call allocated", float64(p)/(1<<20))
			}
		})
	}
}
