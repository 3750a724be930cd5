package devicejs_test

import (
	"context"
	"errors"
	"os"
	goruntime "runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devicejs/devicejs"
	"github.com/devicejs/devicejs/broker"
	"github.com/devicejs/devicejs/internal/testbroker"
	"github.com/devicejs/devicejs/runtime"
)

// healthyDevice does a small garbage-making job (BATCH objects) every 10 ms until Go publishes fleet/stop
// (after the leaker has ended), then ends its session and finishes.
const healthyDevice = `
var client = mqtt.connect('mqtt://gateway.local:1883');
var rounds = 0;
var t = setInterval(function() {
  var batch = [];
  for (var i = 0; i < BATCH; i++) batch.push({i: i, v: 'r' + i});
  if (JSON.stringify(batch).length > 0) rounds++;
}, 10);
client.on('connect', function() {
  client.subscribe('fleet/stop', {qos: 1}, function() { client.publish('fleet/ready', 'r', {qos: 1}); });
});
client.on('message', function() { clearInterval(t); client.end(); });
`

// leakShapes are scripts that grow their heap without bound, each in another way.
var leakShapes = []struct{ name, src string }{
	{"push loop", `var a = []; while (true) a.push({t: Date.now(), v: 'reading'});`},
	{"string doubling", `var s = 'x'; while (true) s += s;`},
	{"object properties in a timer", `var o = {}, i = 0;
setInterval(function() { for (var k = 0; k < 2000; k++) { o['k' + i] = {n: i}; i++; } }, 1);`},
	{"Map in a closure's timer", `(function() { var m = new Map(), i = 0;
  setInterval(function() { for (var k = 0; k < 2000; k++) { m.set(i, [i, i + 1]); i++; } }, 1); })();`},
	{"closures array", `var f = []; for (;;) { let j = {n: f.length}; f.push(function() { return j; }); }`},
	{"typed arrays in a timer", `var t = []; setInterval(function() { t.push(new Float64Array(16384)); }, 1);`},
	{"JSON.parse of a growing string", `var keep = [], items = [];
for (var i = 1; ; i++) {
  items.push('"item ' + i + ' ' + 'x'.repeat(200) + '"');
  if (i % 50 === 0) keep.push(JSON.parse('[' + items.join(',') + ']'));
}`},
	{"cache in a message handler's closure", `(function() { // fed through the broker by itself
  var cache = [], c = mqtt.connect('mqtt://gateway.local:1883');
  c.on('connect', function() {
    c.subscribe('self/feed', {qos: 0}, function() { setInterval(function() { c.publish('self/feed', 'x'); }, 2); });
  });
  c.on('message', function(topic, m) { for (var k = 0; k < 2000; k++) cache.push({m: String(m), k: k}); });
})();`},
	{"let in a callback", `setTimeout(function() { let rows = []; for (;;) rows.push('row ' + rows.length + ' of the log'); }, 5);`},
}

// TestDeviceMemoryOneLeakerAmongTwenty runs, for each leak shape, 19 healthy devices and one
// leaking device in one process, each with its own DeviceMemory budget: the leaker alone
// ends with the budget error, the 19 others finish, and the process's resident set stays
// bounded.
func TestDeviceMemoryOneLeakerAmongTwenty(t *testing.T) {
	// Under the race detector: the same growth checked at a quarter of the size (the walks are
	// 4 times shorter), the healthy devices' work a tenth (it starved the leaker), and the
	// resident set, which then holds the detector's shadow memory, bounded more loosely.
	budget, batch, rssBound := int64(32<<20), 200, int64(24*32<<20)
	if raceOn {
		budget, batch, rssBound = 8<<20, 20, 1<<30
	}
	for _, shape := range leakShapes {
		t.Run(shape.name, func(t *testing.T) {
			goruntime.GC()
			rss0 := residentBytes()
			var peak atomic.Uint64
			stop := make(chan struct{})
			sampled := make(chan struct{})
			go func() {
				defer close(sampled)
				for {
					if r := residentBytes(); r > peak.Load() {
						peak.Store(r)
					}
					select {
					case <-stop:
						return
					case <-time.After(2 * time.Millisecond):
					}
				}
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			b := testbroker.MochiConfig(t, broker.Config{})
			ready := make(chan struct{}, 20)
			unsubscribe, err := b.Subscribe("fleet/ready", func(broker.Message) { ready <- struct{}{} })
			if err != nil {
				t.Fatal(err)
			}
			defer unsubscribe()
			leakerDone := make(chan struct{})
			results := make([]devicejs.Result, 20)
			var stoppedAfter time.Duration
			var wg sync.WaitGroup
			start := time.Now()
			for i := range results {
				src := healthyDevice
				if i == 7 {
					src = shape.src
				}
				d, err := devicejs.New(devicejs.Config{DeviceMemory: budget, Embedded: b,
					Globals: runtime.Globals{"BATCH": batch}})
				if err != nil {
					t.Fatal(err)
				}
				wg.Add(1)
				err = d.Start(ctx, devicejs.Script{Name: "d" + strconv.Itoa(i) + ".js", Source: src}, func(r devicejs.Result) {
					results[i] = r
					if i == 7 {
						stoppedAfter = time.Since(start)
						close(leakerDone)
					}
					wg.Done()
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			// The 19 are running (subscribed) while the leaker is stopped; then Go stops them.
			for range 19 {
				select {
				case <-ready:
				case <-ctx.Done():
					t.Fatal("the healthy devices did not all subscribe")
				}
			}
			select {
			case <-leakerDone:
			case <-ctx.Done():
				t.Fatal("the leaker was not stopped")
			}
			if err := b.Publish("fleet/stop", []byte("stop"), 1, false); err != nil {
				t.Fatal(err)
			}
			wg.Wait()
			close(stop)
			<-sampled
			for i, r := range results {
				if i == 7 {
					se := r.ScriptError()
					if r.Ending != devicejs.ScriptFailed || se == nil || !errors.Is(r.Err, runtime.ErrMemoryBudget) {
						t.Fatalf("leaker: %v %v, want the budget error", r.Ending, r.Err)
					}
					if !strings.Contains(se.Message, "DeviceMemory") && !strings.Contains(se.Message, "would allocate") {
						t.Errorf("leaker's message: %q", se.Message)
					}
					continue
				}
				if r.Ending != devicejs.Finished {
					t.Errorf("healthy device %d: %v %v", i, r.Ending, r.Err)
				}
			}
			grown := int64(peak.Load()) - int64(rss0)
			t.Logf("leaker stopped after %v; peak RSS %.0f MiB (%.0f MiB over the start); message: %s",
				stoppedAfter.Round(time.Millisecond), float64(peak.Load())/(1<<20), float64(grown)/(1<<20), results[7].ScriptError().Message)
			// Generous: the estimate, the moment of the check (a sweep per quarter budget of
			// growth), garbage not yet collected and the Go runtime's own pages.
			if grown > rssBound {
				t.Errorf("the resident set grew by %.0f MiB for a %d MiB budget", float64(grown)/(1<<20), budget>>20)
			}
		})
	}
}

// residentBytes is the process's resident set from /proc/self/statm (0 if unknown).
func residentBytes() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.ParseUint(f[1], 10, 64)
	return n * uint64(os.Getpagesize())
}

// TestDeviceMemoryStringDoublingOvershoot: string doubling under a 256 MiB DeviceMemory
// budget ends with the budget error before the heap objects, and (without the race detector,
// whose shadow memory the resident set then holds) the resident set, grow by 768 MiB
// (MaxMemory's watchdog once let the process reach 897 MiB).
func TestDeviceMemoryStringDoublingOvershoot(t *testing.T) {
	const budget = 256 << 20
	goruntime.GC()
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	heapObjects := func() uint64 { metrics.Read(samples); return samples[0].Value.Uint64() }
	rss0, heap0 := residentBytes(), heapObjects()
	var peakRSS, peakHeap atomic.Uint64
	stop, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if r := residentBytes(); r > peakRSS.Load() {
				peakRSS.Store(r)
			}
			if h := heapObjects(); h > peakHeap.Load() {
				peakHeap.Store(h)
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	start := time.Now()
	res, _ := run(t, `var s = 'x'; while (true) s += s;`, devicejs.Config{DeviceMemory: budget})
	took := time.Since(start)
	close(stop)
	<-sampled
	if res.Ending != devicejs.ScriptFailed || !errors.Is(res.Err, runtime.ErrMemoryBudget) {
		t.Fatalf("%v %v, want the budget error", res.Ending, res.Err)
	}
	grownRSS, grownHeap := int64(peakRSS.Load())-int64(rss0), int64(peakHeap.Load())-int64(heap0)
	t.Logf("stopped after %v; peak heap objects %.0f MiB over the start, peak RSS %.0f MiB (%.0f MiB over the start): %v",
		took.Round(time.Millisecond), float64(grownHeap)/(1<<20), float64(peakRSS.Load())/(1<<20), float64(grownRSS)/(1<<20), res.Err)
	if grownHeap > 3*budget {
		t.Errorf("the heap objects grew by %.0f MiB for a %d MiB budget", float64(grownHeap)/(1<<20), budget>>20)
	}
	if !raceOn && grownRSS > 3*budget {
		t.Errorf("the resident set grew by %.0f MiB for a %d MiB budget", float64(grownRSS)/(1<<20), budget>>20)
	}
}
