package fleet

import (
	"testing"
	"time"
	"unsafe"

	"github.com/devicejs/devicejs"
)

// BenchmarkPublishDone is the fleet's cost per publish completed: counters, the latency
// histogram and the accounting (no allocation).
func BenchmarkPublishDone(b *testing.B) {
	f := &Fleet{errByCode: map[string]uint64{}}
	in := &instance{f: f, start: time.Now(), fleetStart: time.Now()}
	in.event(devicejs.Event{Kind: devicejs.EventConnect})
	e := devicejs.Event{Kind: devicejs.EventPublishDone, Topic: "t/x", QoS: 1, Latency: 1500 * time.Microsecond}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			in.event(e)
		}
	})
	b.ReportMetric(float64(unsafe.Sizeof(instance{})), "instance-bytes")
}

// TestPublishDoneAllocs: the publish path allocates nothing.
func TestPublishDoneAllocs(t *testing.T) {
	f := &Fleet{errByCode: map[string]uint64{}}
	in := &instance{f: f, start: time.Now(), fleetStart: time.Now()}
	in.event(devicejs.Event{Kind: devicejs.EventConnect})
	e := devicejs.Event{Kind: devicejs.EventPublishDone, Topic: "t/x", QoS: 1, Latency: time.Millisecond}
	if n := testing.AllocsPerRun(1000, func() { in.event(e) }); n != 0 {
		t.Errorf("%v allocations per publish", n)
	}
	if h := f.load.lat[1].snapshot(); h.Count != 1001 || h.MaxMicros != 1000 {
		t.Errorf("histogram %+v", h)
	}
}
