package devicejs_test

import (
	"sync"
	"testing"
	"time"

	"github.com/devicejs/devicejs"
	"github.com/devicejs/devicejs/broker"
	"github.com/devicejs/devicejs/internal/testbroker"
	"github.com/devicejs/devicejs/mqttcore"
)

// TestEventPublishLatency: publish_done events carry the publish's QoS and its latency (from
// the issue to the completion), with or without a Trace hook, and a publish in flight when
// the session ends completes with 11 after the end event.
func TestEventPublishLatency(t *testing.T) {
	b := testbroker.MochiConfig(t, broker.Config{})
	src := `
var c = mqtt.connect('mqtt://broker:1883');
c.on('connect', function() {
  c.publish('t/0', 'a', {qos: 0}, function() {
    c.publish('t/1', 'b', {qos: 1}, function() {
      c.publish('t/2', 'c', {qos: 2}, function() { c.end(); });
    });
  });
});
`
	for _, trace := range []bool{false, true} {
		var mu sync.Mutex
		var done []devicejs.Event
		cfg := devicejs.Config{For: 20 * time.Second, Dial: b.MemoryDialer(), OnEvent: func(e devicejs.Event) {
			if e.Kind == devicejs.EventPublishDone {
				mu.Lock()
				done = append(done, e)
				mu.Unlock()
			}
		}}
		if trace {
			cfg.Trace = func(e mqttcore.TraceEvent) {}
		}
		res, out := run(t, src, cfg)
		if res.Ending != devicejs.Finished {
			t.Fatalf("%v %v %q", res.Ending, res.Err, out)
		}
		mu.Lock()
		if len(done) != 3 {
			t.Fatalf("trace %v: publish_done events %+v", trace, done)
		}
		for i, e := range done {
			if e.Code != 0 || e.QoS != byte(i) || e.Latency <= 0 || e.Latency > 10*time.Second {
				t.Errorf("trace %v: publish %d: code %d qos %d latency %v", trace, i, e.Code, e.QoS, e.Latency)
			}
		}
		mu.Unlock()
	}
}
