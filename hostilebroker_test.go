package devicejs_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devicejs/devicejs"
	"github.com/devicejs/devicejs/internal/syncbuf"
	"github.com/devicejs/devicejs/internal/testbroker"
	"github.com/devicejs/devicejs/mqttcore"
)

// TestHostileBrokerGoHost (issue 17 item 1) runs the device script of each hostile broker shape
// through devicejs.Run in this process: a broker that breaks MQTT used to panic paho's reader
// goroutine, which no recover of the host can catch (the test binary itself would die). The
// run must end normally with the script's codes and close, the trace must name the violation,
// and the heap must stay bounded.
func TestHostileBrokerGoHost(t *testing.T) {
	for _, sh := range testbroker.HostileShapes() {
		t.Run(sh.Name, func(t *testing.T) {
			addr := testbroker.Scripted(t, sh.Answer)
			// The heap bound is on what this run adds: earlier tests of the package (the
			// DeviceMemory ones) leave garbage that only a collection clears.
			var before runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			var out syncbuf.Buffer
			var mu sync.Mutex
			var violations []string
			var closedAt time.Time
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			res, err := devicejs.Run(ctx, devicejs.Script{Name: "hostile.js", Source: testbroker.HostileScript}, devicejs.Config{
				Stdout: &out,
				Broker: addr,
				For:    2 * time.Second,
				Trace: func(e mqttcore.TraceEvent) {
					mu.Lock()
					defer mu.Unlock()
					switch e.Kind {
					case mqttcore.TraceProtocolError:
						violations = append(violations, e.Packet+": "+e.Err)
					case mqttcore.TraceClose, mqttcore.TraceError:
						if closedAt.IsZero() {
							closedAt = time.Now()
						}
					}
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Ending != devicejs.Finished && res.Ending != devicejs.ForElapsed {
				t.Fatalf("ending %v, err %v", res.Ending, res.Err)
			}
			if got := out.String(); got != sh.Stdout {
				t.Errorf("printed %q, want %q", got, sh.Stdout)
			}
			mu.Lock()
			defer mu.Unlock()
			control := !strings.Contains(sh.Stdout, "close") && !strings.Contains(sh.Stdout, "error")
			if control != (len(violations) == 0) {
				t.Errorf("protocol_error traced: %q", violations)
			}
			var ms runtime.MemStats // no collection: what the run allocated, garbage included
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > before.HeapAlloc+256<<20 {
				t.Errorf("heap %d MiB after the run, %d MiB before it", ms.HeapAlloc>>20, before.HeapAlloc>>20)
			}
			took := "-"
			if !closedAt.IsZero() {
				took = fmt.Sprint(closedAt.Sub(start).Round(time.Millisecond))
			}
			t.Logf("FIGURE hostile-broker Go host: %s: %q; protocol_error %q; connect to close/error %s; heap %.1f MiB",
				sh.Name, strings.ReplaceAll(strings.TrimSpace(out.String()), "\n", ", "), violations, took, float64(ms.HeapAlloc)/(1<<20))
		})
	}
}
