package devicejs_test

import (
	"bytes"
	"context"
	"fmt"
	goruntime "runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devicejs/devicejs"
	"github.com/devicejs/devicejs/internal/syncbuf"
	"github.com/devicejs/devicejs/internal/testbroker"
	"github.com/devicejs/devicejs/mqttcore"
)

// floodSrc subscribes to "flood" at QOS and busy-waits BUSY ms in every message callback.
const floodSrc = `var c = mqtt.connect('mqtt://broker.example:1883', {recvBuffSize: 65536});
c.on('connect', function () { c.subscribe('flood', {qos: QOS}, function () { print('ready'); }); });
c.on('message', function () { var end = Date.now() + BUSY; while (Date.now() < end) {} });
`

// TestInboundFloodBounded: messages published at a device faster than its busy 'message'
// callback takes them are dropped and counted (Stats.DroppedForQueue) once the queue of
// messages waiting for the loop is full (mqttcore.MaxInboundMessages, MaxInboundBytes); the
// heap stays bounded; a burst under the bound loses nothing. Real broker (mochi over TCP).
func TestInboundFloodBounded(t *testing.T) {
	tt := []struct {
		name     string
		n, size  int
		qos      byte
		busyMS   int
		wantDrop bool
	}{
		{"qos0 2 KiB messages, bytes bound", 3000, 2048, 0, 5, true},
		{"qos0 1-byte messages, count bound", 10000, 1, 0, 5, true},
		{"qos1 4 KiB messages", 1000, 4096, 1, 5, true},
		{"burst under the bound", 500, 256, 0, 1, false},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			tb := testbroker.Mochi(t)
			src := strings.NewReplacer("QOS", fmt.Sprint(tc.qos), "BUSY", fmt.Sprint(tc.busyMS)).Replace(floodSrc)
			var out syncbuf.Buffer
			d, err := devicejs.New(devicejs.Config{Broker: tb.Addr(), Stdout: &out})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			ended := make(chan devicejs.Result, 1)
			if err := d.Start(ctx, devicejs.Script{Name: "flood.js", Source: src}, func(r devicejs.Result) { ended <- r }); err != nil {
				t.Fatal(err)
			}
			testbroker.WaitFor(t, 45*time.Second, "the script's ready", func() bool { return strings.Contains(out.String(), "ready") })

			goruntime.GC()
			base := heapObjects()
			var peak atomic.Uint64
			stop := make(chan struct{})
			sampled := make(chan struct{})
			go func() {
				defer close(sampled)
				for {
					select {
					case <-stop:
						return
					case <-time.After(2 * time.Millisecond):
						if h := heapObjects(); h > peak.Load() {
							peak.Store(h)
						}
					}
				}
			}()
			pub := testbroker.Connect(t, tb.Addr())
			payload := bytes.Repeat([]byte("f"), tc.size)
			for range tc.n {
				tok := pub.Publish("flood", tc.qos, false, payload)
				if tc.qos > 0 {
					tok.Wait()
				}
			}
			pub.Disconnect(100)
			// Every message has either been queued for the script or dropped.
			testbroker.WaitFor(t, 45*time.Second, "every message received or dropped", func() bool { s := d.Stats(); return s.Received+s.DroppedForQueue >= uint64(tc.n) })
			close(stop)
			<-sampled
			s := d.Stats()
			cancel()
			res := <-ended
			t.Logf("%d published: %d queued for the script, %d dropped; heap +%.1f MiB at peak",
				tc.n, s.Received, s.DroppedForQueue, float64(peak.Load()-min(base, peak.Load()))/(1<<20))
			if s.Received+s.DroppedForQueue != uint64(tc.n) {
				t.Errorf("received %d + dropped %d != published %d", s.Received, s.DroppedForQueue, tc.n)
			}
			if tc.wantDrop != (s.DroppedForQueue > 0) {
				t.Errorf("dropped %d, want drops: %v", s.DroppedForQueue, tc.wantDrop)
			}
			if tc.wantDrop && s.Received > mqttcore.MaxInboundMessages+uint64(tc.n)/2 {
				t.Errorf("received %d: the queue did not hold the flood back", s.Received)
			}
			if res.Stats.DroppedForQueue != s.DroppedForQueue || res.Stats.Reconnects != 0 {
				t.Errorf("result stats %+v, want the same drops and no reconnect", res.Stats)
			}
			if grew := peak.Load() - min(base, peak.Load()); grew > 64<<20 {
				t.Errorf("heap grew by %d MiB during the flood", grew>>20)
			}
		})
	}
}

// heapObjects returns the bytes of heap objects now.
func heapObjects() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
