package devicejs_test

import (
	"context"
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devicejs/devicejs"
	"github.com/devicejs/devicejs/broker"
	"github.com/devicejs/devicejs/internal/testbroker"
)

// maxGoroutinesPerConnection is the bound docs/embedding.md states for the goroutines one open
// MQTT connection of a device costs the host (device side and, for Embedded or MemoryDialer,
// the in-process broker's side).
const maxGoroutinesPerConnection = 14

// TestGoroutinesPerConnection measures the goroutines that open connections hold, over the
// in-process broker's in-memory connections, and checks the figure docs/embedding.md gives
// (issue 22, finding 8).
func TestGoroutinesPerConnection(t *testing.T) {
	const n = 10
	for _, mode := range []string{"Run", "Start"} {
		t.Run(mode, func(t *testing.T) {
			b := testbroker.MochiConfig(t, broker.Config{}) // its own: the subscription count below is this run's
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			before := goruntime.NumGoroutine()
			var connected sync.WaitGroup
			connected.Add(n)
			var ended sync.WaitGroup
			for range n {
				var once sync.Once
				cfg := devicejs.Config{Dial: b.MemoryDialer(), OnEvent: func(e devicejs.Event) {
					if e.Kind == devicejs.EventConnect {
						once.Do(connected.Done)
					}
				}}
				src := devicejs.Script{Source: "var c = mqtt.connect('mqtt://broker:1883'); c.on('connect', function() { c.subscribe('t/#') });"}
				ended.Add(1)
				if mode == "Run" {
					go func() { defer ended.Done(); _, _ = devicejs.Run(ctx, src, cfg) }()
				} else {
					d, err := devicejs.New(cfg)
					if err != nil {
						t.Fatal(err)
					}
					if err := d.Start(ctx, src, func(devicejs.Result) { ended.Done() }); err != nil {
						t.Fatal(err)
					}
				}
			}
			connected.Wait()
			testbroker.WaitFor(t, 10*time.Second, "every device's subscription on the broker", func() bool {
				return atomic.LoadInt64(&b.Server().Info.Subscriptions) >= n
			})
			// Then the goroutines of the subscribe round trips end: the count settles.
			var held int
			testbroker.Eventually(10*time.Second, func() bool {
				held = goruntime.NumGoroutine() - before
				return float64(held)/n <= maxGoroutinesPerConnection
			})
			cancel()
			ended.Wait()
			per := float64(held) / n
			t.Logf("%s: %d goroutines for %d open connections: %.1f each", mode, held, n, per)
			if per > maxGoroutinesPerConnection {
				t.Errorf("%.1f goroutines per connection, docs/embedding.md says at most %d", per, maxGoroutinesPerConnection)
			}
		})
	}
}
