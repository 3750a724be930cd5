package mqttcore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/devicejs/devicejs/internal/leakcheck"
	"github.com/devicejs/devicejs/internal/testbroker"
	"github.com/devicejs/devicejs/mqttcore"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// waitFor bounds every wait in these tests.
const waitFor = 10 * time.Second

// fastClock is device time running scale times faster than wall time.
type fastClock struct{ scale float64 }

func (c fastClock) Now() time.Time { return time.Now() }
func (c fastClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(time.Duration(float64(d)/c.scale), f).Stop
}

// startMochi starts the embedded broker (testbroker.Mochi) on a loopback port, with users
// when non-nil.
func startMochi(t *testing.T, users map[string]string) *testbroker.Broker {
	t.Helper()
	var opts []testbroker.Option
	for u, p := range users {
		opts = append(opts, testbroker.WithUser(u, p))
	}
	return testbroker.Mochi(t, opts...)
}

// publish injects a message from the broker side.
func publish(t *testing.T, b *testbroker.Broker, topic string, payload []byte, retain bool, qos byte) {
	t.Helper()
	if err := b.MochiBroker().Publish(topic, payload, qos, retain); err != nil {
		t.Fatal(err)
	}
}

// recorder turns session callbacks into a stream of strings.
type recorder struct {
	ch chan string
}

func newRecorder() *recorder { return &recorder{ch: make(chan string, 1000)} }

func (r *recorder) events() mqttcore.Events {
	return mqttcore.Events{
		Connect:   func(c mqttcore.Connack) { r.ch <- "connect" },
		Reconnect: func() { r.ch <- "reconnect" },
		Close:     func() { r.ch <- "close" },
		Error:     func(c mqttcore.Code) { r.ch <- fmt.Sprintf("error %d", c) },
		End:       func() { r.ch <- "end" },
		Message: func(topic string, p []byte, bin bool) {
			r.ch <- fmt.Sprintf("message %s %s %v", topic, p, bin)
		},
	}
}

// done returns a completion callback recording "NAME CODE".
func (r *recorder) done(name string) func(mqttcore.Code) {
	return func(c mqttcore.Code) { r.ch <- fmt.Sprintf("%s %d", name, int(c)) }
}

// expect waits for exactly the next events want, in order.
func (r *recorder) expect(t *testing.T, want ...string) {
	t.Helper()
	for i, w := range want {
		select {
		case got := <-r.ch:
			if got != w {
				t.Fatalf("event %d: got %q, want %q (all wanted: %q)", i, got, w, want)
			}
		case <-time.After(waitFor):
			t.Fatalf("event %d: timed out waiting for %q (all wanted: %q)", i, w, want)
		}
	}
}

// next returns the next event.
func (r *recorder) next(t *testing.T) string {
	t.Helper()
	select {
	case got := <-r.ch:
		return got
	case <-time.After(waitFor):
		t.Fatal("timed out waiting for an event")
		return ""
	}
}

// quiet checks that no event arrives within d.
func (r *recorder) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case got := <-r.ch:
		t.Fatalf("unexpected event %q", got)
	case <-time.After(d):
	}
}

// newHost returns a host with a fast clock (device time x100).
func newHost(lim mqttcore.Limits) *mqttcore.Host {
	return mqttcore.NewHost(mqttcore.HostConfig{Limits: lim, Clock: fastClock{scale: 100}})
}

// fastOptions are DefaultOptions with a short keepalive.
func fastOptions() mqttcore.Options {
	o := mqttcore.DefaultOptions()
	o.KeepAlive = 30 * time.Second
	return o
}

// endAndWait ends s and waits for the resource release.
func endAndWait(t *testing.T, s *mqttcore.Session) {
	t.Helper()
	rel := make(chan struct{})
	s.End(func() { close(rel) })
	select {
	case <-rel:
	case <-time.After(waitFor):
		t.Fatal("session resource not released")
	}
}

// connected starts a session and waits for its connect event.
func connected(t *testing.T, h *mqttcore.Host, url string, o mqttcore.Options, r *recorder) *mqttcore.Session {
	t.Helper()
	s, err := h.Connect(url, o, mqttcore.TLSSettings{}, r.events())
	if err != nil {
		t.Fatal(err)
	}
	r.expect(t, "connect")
	return s
}

func strp(s string) *string { return &s }
