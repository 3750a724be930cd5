package mqttcore_test

import (
	"net"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/devicejs/devicejs/internal/testbroker"
	"github.com/devicejs/devicejs/mqttcore"
	"github.com/devicejs/devicejs/runtime"
)

// manualClock is device time that moves only when the test advances it; due timers fire on the
// test's goroutine, each at its own deadline, in deadline order (as devtest's virtual clock).
type manualClock struct {
	mu     sync.Mutex
	now    time.Time
	seq    int
	timers map[int]manualTimer
}

type manualTimer struct {
	at  time.Time
	seq int
	f   func()
}

func newManualClock() *manualClock {
	return &manualClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), timers: map[int]manualTimer{}}
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) AfterFunc(d time.Duration, f func()) func() bool {
	if d <= 0 {
		go f()
		return func() bool { return false }
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	id := c.seq
	c.timers[id] = manualTimer{at: c.now.Add(d), seq: id, f: f}
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		_, ok := c.timers[id]
		delete(c.timers, id)
		return ok
	}
}

// advance moves device time forward by d, firing every timer due on the way at its deadline
// (timers set by a firing timer included).
func (c *manualClock) advance(d time.Duration) {
	c.mu.Lock()
	target := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		var due []manualTimer
		for _, t := range c.timers {
			if !t.at.After(target) {
				due = append(due, t)
			}
		}
		if len(due) == 0 {
			c.now = target
			c.mu.Unlock()
			return
		}
		sort.Slice(due, func(i, j int) bool {
			if !due[i].at.Equal(due[j].at) {
				return due[i].at.Before(due[j].at)
			}
			return due[i].seq < due[j].seq
		})
		t := due[0]
		delete(c.timers, t.seq)
		if t.at.After(c.now) {
			c.now = t.at
		}
		c.mu.Unlock()
		t.f()
	}
}

// pingBroker is a scripted broker: it accepts one CONNECT (reporting its keep alive field),
// reports every packet type it reads afterwards, answers PINGREQ with PINGRESP while answer is
// set, and writes what the test hands it.
type pingBroker struct {
	keepalive chan uint16
	packets   chan byte
	out       chan []byte
	mu        sync.Mutex
	answer    bool
}

func startPingBroker(t *testing.T, answer bool) (*pingBroker, *testbroker.FakeBroker) {
	b := &pingBroker{keepalive: make(chan uint16, 4), packets: make(chan byte, 64), out: make(chan []byte, 4), answer: answer}
	f := testbroker.Fake(t, func(c net.Conn) {
		_, body, err := testbroker.ReadPacket(c)
		if err != nil || len(body) < 10 {
			return
		}
		b.keepalive <- uint16(body[8])<<8 | uint16(body[9]) // after "\x00\x04MQTT", level, flags
		if _, err := c.Write([]byte{0x20, 0x02, 0x00, 0x00}); err != nil {
			return
		}
		done := make(chan struct{})
		defer close(done)
		go func() {
			for {
				select {
				case p := <-b.out:
					_, _ = c.Write(p)
				case <-done:
					return
				}
			}
		}()
		for {
			h, _, err := testbroker.ReadPacket(c)
			if err != nil {
				return
			}
			b.packets <- h
			b.mu.Lock()
			answer := b.answer
			b.mu.Unlock()
			if h == 0xC0 && answer {
				if _, err := c.Write([]byte{0xD0, 0x00}); err != nil {
					return
				}
			}
		}
	})
	return b, f
}

// expectPacket waits (wall time, bounded) for the broker to read a packet with header h.
func (b *pingBroker) expectPacket(t *testing.T, h byte) {
	t.Helper()
	select {
	case got := <-b.packets:
		if got != h {
			t.Fatalf("broker read packet %#x, want %#x", got, h)
		}
	case <-time.After(waitFor):
		t.Fatalf("broker read no packet, want %#x", h)
	}
}

// noPacket checks that the broker reads nothing for a moment.
func (b *pingBroker) noPacket(t *testing.T) {
	t.Helper()
	select {
	case got := <-b.packets:
		t.Fatalf("broker read packet %#x, want none", got)
	case <-time.After(50 * time.Millisecond):
	}
}

type step struct {
	advance time.Duration
	ping    bool   // the broker reads a PINGREQ after this step (and answers it if told to)
	traffic bool   // before this step, a message each way
	event   string // the session event after this step ("" = none)
}

func repeatStep(st step, n int) []step {
	out := make([]step, n)
	for i := range out {
		out[i] = st
	}
	return out
}

// TestKeepaliveOnDeviceClock: the keepalive runs on the session's device clock (issue 18 A). The
// CONNECT carries the script's keepalive; a PINGREQ goes out when k of device time has passed
// since the latest packet sent or received, not before; a missing PINGRESP makes the connection
// dead exactly pingWait = min(k, 10 s) of device time after the PINGREQ (close, then the
// reconnection after reconnectPeriod); an answered one keeps it open; keepalive 0 sends nothing
// and never closes. No wall time passes beyond the I/O: an hour of device time takes
// milliseconds.
func TestKeepaliveOnDeviceClock(t *testing.T) {
	for _, tc := range []struct {
		name   string
		k      time.Duration
		answer bool
		steps  []step
	}{
		{name: "answered: a PINGREQ every k, never closed", k: 30 * time.Second, answer: true, steps: append([]step{
			{advance: 29 * time.Second},
			{advance: time.Second, ping: true},
			{advance: 29 * time.Second},
			{advance: time.Second, ping: true},
		}, repeatStep(step{advance: 30 * time.Second, ping: true}, 20)...)},
		{name: "unanswered: dead 10 s after the PINGREQ", k: 30 * time.Second, steps: []step{
			{advance: 30 * time.Second, ping: true},
			{advance: 9 * time.Second},
			{advance: time.Second, event: "close"},
			{advance: 999 * time.Millisecond},
			{advance: time.Millisecond, event: "reconnect"},
		}},
		{name: "unanswered, k 4 s: dead k after the PINGREQ", k: 4 * time.Second, steps: []step{
			{advance: 4 * time.Second, ping: true},
			{advance: 3 * time.Second},
			{advance: time.Second, event: "close"},
		}},
		{name: "traffic both ways defers the PINGREQ", k: 30 * time.Second, steps: []step{
			{advance: 20 * time.Second},
			{traffic: true, advance: 29 * time.Second},
			{advance: time.Second, ping: true},
			{advance: 10 * time.Second, event: "close"},
		}},
		{name: "keepalive 0: no PINGREQ, no close", k: 0, steps: []step{
			{advance: time.Hour},
			{advance: 24 * time.Hour},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, f := startPingBroker(t, tc.answer)
			clock := newManualClock()
			pongs := make(chan struct{}, 64)
			h := mqttcore.NewHost(mqttcore.HostConfig{Clock: clock, PacketTrace: func(e mqttcore.TraceEvent) {
				if e.Dir == mqttcore.DirRecv && e.Packet == "PINGRESP" {
					pongs <- struct{}{}
				}
			}})
			o := mqttcore.DefaultOptions()
			o.KeepAlive = tc.k
			o.ReconnectCount = 1
			o.ReconnectPeriod = time.Second
			r := newRecorder()
			s := connected(t, h, f.URL(), o, r)
			s.IsConnected() // the connect event may run before the session's lock is released
			select {
			case k := <-b.keepalive:
				if time.Duration(k)*time.Second != tc.k {
					t.Fatalf("CONNECT keep alive %d s, want %v", k, tc.k)
				}
			case <-time.After(waitFor):
				t.Fatal("no CONNECT")
			}
			start := time.Now()
			for _, st := range tc.steps {
				if st.traffic {
					b.out <- []byte{0x30, 0x05, 0x00, 0x01, 'x', 'h', 'i'}
					r.expect(t, "message x hi false")
					if err := s.Publish("y", []byte("hi"), mqttcore.PublishOptions{}, r.done("pub")); err != nil {
						t.Fatal(err)
					}
					r.expect(t, "pub 0")
					b.expectPacket(t, 0x30)
				}
				clock.advance(st.advance)
				if st.ping {
					b.expectPacket(t, 0xC0)
					if tc.answer { // the device has read the PINGRESP before time moves on
						select {
						case <-pongs:
						case <-time.After(waitFor):
							t.Fatal("PINGRESP not read")
						}
					}
				} else {
					b.noPacket(t)
				}
				if st.event != "" {
					r.expect(t, st.event)
				} else {
					r.quiet(t, 20*time.Millisecond)
				}
			}
			// Device time, not wall time: generous, far below the device time spent.
			if el := time.Since(start); el > 20*time.Second {
				t.Errorf("took %v of wall time", el)
			}
			endAndWait(t, s)
		})
	}
}

// TestKeepaliveFollowsScaledClock: under `run --time-scale` (runtime.NewScaledClock) the
// keepalive runs scaled like every other device timer: keepalive 30 s and a broker that never
// answers PINGREQ give close after 40 s of device time, 0.4 s of wall time at scale 100 (it was
// 40 s of wall time when paho ran it).
func TestKeepaliveFollowsScaledClock(t *testing.T) {
	const scale = 100
	f := testbroker.Fake(t, testbroker.Accept(0, nil))
	h := mqttcore.NewHost(mqttcore.HostConfig{Clock: runtime.NewScaledClock(scale)})
	o := mqttcore.DefaultOptions()
	o.KeepAlive = 30 * time.Second
	r := newRecorder()
	s := connected(t, h, f.URL(), o, r)
	start := time.Now()
	r.expect(t, "close")
	el := time.Since(start)
	// Never early (timers do not fire early); the upper bound is generous for a loaded machine
	// and still a quarter of the wall-time keepalive's 40 s.
	if low := 40 * time.Second / scale; el < low/2 || el > 10*time.Second {
		t.Errorf("close after %v of wall time, want about %v", el, low)
	}
	endAndWait(t, s)
}
