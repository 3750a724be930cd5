package fleet_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/devicejs/devicejs"
	"github.com/devicejs/devicejs/fleet"
	"github.com/devicejs/devicejs/internal/testbroker"
	"github.com/devicejs/devicejs/runtime"
)

// waitProgress polls f's Progress until ok holds, failing after a generous bound.
func waitProgress(t *testing.T, f *fleet.Fleet, what string, ok func(fleet.Progress) bool) {
	t.Helper()
	var p fleet.Progress
	if !testbroker.Eventually(30*time.Second, func() bool { p = f.Progress(); return ok(p) }) {
		t.Fatalf("%s: progress %+v after 30 s", what, p)
	}
}

// TestReconnectingColumn: an instance whose connection was lost counts as reconnecting from the
// loss, through its reconnect wait (reconnectPeriod) and its refused attempts, until it is
// connected again or its run ends: never in neither column (issue 21 finding 9).
func TestReconnectingColumn(t *testing.T) {
	const n = 5
	for _, tc := range []struct {
		name    string
		opts    string // mqtt.connect options
		scale   float64
		restart bool // the broker comes back: all reconnect; else the run is ended while waiting
		off     bool // no automatic reconnection: the instances leave the column within the wait's bound
		clock   bool // the devices' time is a Clock of scale `scale` (as the CLI's --time-scale), not Device.TimeScale
	}{
		{"in a long reconnect wait", "reconnectPeriod: 10000, reconnectCount: 1855", 1, false, false, false},
		{"refused attempts, then back", "reconnectPeriod: 100, reconnectCount: 1855", 1, true, false, false},
		{"short wait, then back", "reconnectPeriod: 300, reconnectCount: 1855", 1, true, false, false},
		{"reconnection off (the default)", "reconnectPeriod: 100", 20, false, true, false},
		{"reconnection off, on a device clock", "reconnectPeriod: 100", 20, false, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := testbroker.Mochi(t)
			src := fmt.Sprintf(`var c = mqtt.connect('mqtt://%s', {clientId: 'r', %s});`, tb.Addr(), tc.opts)
			dev := devicejs.Config{For: time.Hour, TimeScale: tc.scale}
			if tc.clock {
				dev.TimeScale, dev.Clock = 0, runtime.NewScaledClock(tc.scale)
			}
			f, err := fleet.New(fleet.Config{N: n, Script: devicejs.Script{Name: "r.js", Source: src}, Device: dev})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
			defer cancel()
			done := make(chan fleet.Summary, 1)
			go func() { s, _ := f.Run(ctx); done <- s }()
			waitProgress(t, f, "all connected", func(p fleet.Progress) bool { return p.Connected == n })
			tb.Stop()
			waitProgress(t, f, "all reconnecting", func(p fleet.Progress) bool { return p.Reconnecting == n && p.Connected == 0 })
			switch {
			case tc.off:
				// 10 s of device time at 20x, plus 1 s: not reconnecting after 1.5 s.
				waitProgress(t, f, "none reconnecting", func(p fleet.Progress) bool { return p.Reconnecting == 0 && p.Connected == 0 })
			case tc.restart:
				tb.Restart()
				waitProgress(t, f, "all back", func(p fleet.Progress) bool { return p.Connected == n && p.Reconnecting == 0 })
			default:
				time.Sleep(200 * time.Millisecond) // still waiting: still counted
				if p := f.Progress(); p.Reconnecting != n || p.Connected != 0 {
					t.Errorf("in the wait: %+v", p)
				}
			}
			cancel()
			s := <-done
			if p := f.Progress(); p.Reconnecting != 0 || p.Connected != 0 || p.Done != n {
				t.Errorf("after the run: %+v", p)
			}
			if s.ConnectionsLost != n {
				t.Errorf("connections_lost %d, want %d", s.ConnectionsLost, n)
			}
		})
	}
}
