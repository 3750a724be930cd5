package reliability

import (
	"fmt"
	goruntime "runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devicejs/devicejs/mqttcore"
)

// flightRecorderSize is how many of a device's latest trace events a flightRecorder keeps.
const flightRecorderSize = 300

// flightRecorder keeps a device's latest trace events (with wall times) and, when the test
// fails, logs them with the session's state and the goroutines of mqttcore and paho, so that a
// rare failure under load can be diagnosed from the CI log alone.
type flightRecorder struct {
	next func(mqttcore.TraceEvent)

	mu     sync.Mutex
	events []string
	pos    int
}

// newFlightRecorder returns a recorder that passes every event on to next (may be nil).
func newFlightRecorder(next func(mqttcore.TraceEvent)) *flightRecorder {
	return &flightRecorder{next: next}
}

// logIfFailed logs the recorded events, state() and the goroutines if t has failed. Register
// it with t.Cleanup after the device's own cleanup, so that it runs first and shows the state
// at the failure.
func (r *flightRecorder) logIfFailed(t testing.TB, state func() string) {
	if !t.Failed() {
		return
	}
	t.Logf("device state: %s", state())
	r.logNow(t, "failed")
}

// logNow logs the recorded events and the goroutines of mqttcore and paho now.
func (r *flightRecorder) logNow(t testing.TB, why string) {
	t.Logf("%s; device trace, latest %d events:\n%s", why, flightRecorderSize, r.dump())
	t.Logf("goroutines:\n%s", interestingStacks())
}

// record is the host's trace hook.
func (r *flightRecorder) record(e mqttcore.TraceEvent) {
	line := fmt.Sprintf("%s %-16s topic=%q qos=%d code=%d rc=%d errno=%d bytes=%d %s",
		time.Now().Format("15:04:05.000000"), e.Kind, e.Topic, e.QoS, int(e.Code), e.ReturnCode, int(e.Errno), e.Bytes, e.Err)
	r.mu.Lock()
	if len(r.events) < flightRecorderSize {
		r.events = append(r.events, line)
	} else {
		r.events[r.pos] = line
		r.pos = (r.pos + 1) % flightRecorderSize
	}
	r.mu.Unlock()
	if r.next != nil {
		r.next(e)
	}
}

func (r *flightRecorder) dump() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(append(append([]string(nil), r.events[r.pos:]...), r.events[:r.pos]...), "\n")
}

// interestingStacks returns the stacks of the goroutines that run mqttcore or paho code.
func interestingStacks() string {
	buf := make([]byte, 8<<20)
	buf = buf[:goruntime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "mqttcore") || strings.Contains(g, "paho") || strings.Contains(g, "faultproxy") {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}
