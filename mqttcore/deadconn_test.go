package mqttcore_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devicejs/devicejs/internal/testbroker"
	"github.com/devicejs/devicejs/mqttcore"
)

// Issue 18 finding 9: a connection the device finds dead (a failed write, a broker that closes
// or resets it, a local close, keepalive) is dead for the script at once. When a completion 11
// for that connection runs, IsConnected and CanPublish are already false; the completions with
// 11 come first, then `close` (all emitted together under the session lock), then the
// reconnection the options ask for. docs/device-semantics.md, "When a connection is declared
// dead".

// deadConnDevice runs a chain of publishes like a device script: each completion issues the
// next publish when CanPublish is true, and a failed one is re-sent when CanPublish is true
// (the script of the finding). Every callback records what the session said at that moment.
type deadConnDevice struct {
	qos byte
	s   atomic.Pointer[mqttcore.Session]

	mu  sync.Mutex
	log []string // "pub CODE conn=B can=B", "refused CODE", "close", "reconnect", "connect"

	okCh   chan struct{} // a completion 0 (buffered, dropped when full)
	events chan string   // close, reconnect, connect
}

func newDeadConnDevice(qos byte) *deadConnDevice {
	return &deadConnDevice{qos: qos, okCh: make(chan struct{}, 1), events: make(chan string, 1024)}
}

func (d *deadConnDevice) record(e string) {
	d.mu.Lock()
	d.log = append(d.log, e)
	d.mu.Unlock()
}

func (d *deadConnDevice) eventsFor() mqttcore.Events {
	ev := func(name string) func() {
		return func() {
			d.record(name)
			d.events <- name
		}
	}
	return mqttcore.Events{
		Connect:   func(mqttcore.Connack) { d.record("connect"); d.events <- "connect" },
		Reconnect: ev("reconnect"),
		Close:     ev("close"),
		Error:     func(c mqttcore.Code) { d.record(fmt.Sprintf("error %d", c)); d.events <- "error" },
	}
}

// publish issues one publish (from a callback or the test); a refusal is recorded.
func (d *deadConnDevice) publish() {
	s := d.s.Load()
	if err := s.Publish("dead/conn", []byte("reading"), mqttcore.PublishOptions{QoS: d.qos}, d.done); err != nil {
		d.record(fmt.Sprintf("refused %d", err.(mqttcore.Code)))
	}
}

// done is the completion callback: it records the state queries, then re-sends or goes on.
func (d *deadConnDevice) done(c mqttcore.Code) {
	s := d.s.Load()
	conn, can := s.IsConnected(), s.CanPublish()
	d.record(fmt.Sprintf("pub %d conn=%v can=%v", c, conn, can))
	if c == mqttcore.OK {
		select {
		case d.okCh <- struct{}{}:
		default:
		}
	}
	if can { // the finding's script: re-send a failed reading, or send the next one
		d.publish()
	}
}

// waitEvent waits for event want, skipping none.
func (d *deadConnDevice) waitEvent(t *testing.T, want string) {
	t.Helper()
	select {
	case e := <-d.events:
		if e != want {
			t.Fatalf("event %q, want %q; log tail %q", e, want, d.tail(20))
		}
	case <-time.After(waitFor):
		t.Fatalf("no %q within %v; log tail %q", want, waitFor, d.tail(20))
	}
}

// waitReconnected waits for reconnect events, then connect.
func (d *deadConnDevice) waitReconnected(t *testing.T) {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		select {
		case e := <-d.events:
			switch e {
			case "connect":
				return
			case "reconnect":
			default:
				t.Fatalf("event %q while reconnecting; log tail %q", e, d.tail(20))
			}
		case <-deadline:
			t.Fatalf("not reconnected within %v; log tail %q", waitFor, d.tail(20))
		}
	}
}

// waitOK waits for n completions 0.
func (d *deadConnDevice) waitOK(t *testing.T, n int) {
	t.Helper()
	for range n {
		select {
		case <-d.okCh:
		case <-time.After(waitFor):
			t.Fatalf("publishes do not complete; log tail %q", d.tail(20))
		}
	}
}

func (d *deadConnDevice) tail(n int) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.log[max(0, len(d.log)-n):]...)
}

// checkLoss checks the log from the first failure after the last completion 0 up to the next
// connect: every completion 11 saw IsConnected and CanPublish false, came before `close`, and
// no more than a handful of publishes were attempted meanwhile.
func (d *deadConnDevice) checkLoss(t *testing.T) {
	t.Helper()
	d.mu.Lock()
	log := append([]string(nil), d.log...)
	d.mu.Unlock()
	// The window: after the last "pub 0" before the first "close".
	closeAt := -1
	for i, e := range log {
		if e == "close" {
			closeAt = i
			break
		}
	}
	if closeAt < 0 {
		t.Fatalf("no close in %q", log)
	}
	start := 0
	for i := closeAt; i >= 0; i-- {
		if strings.HasPrefix(log[i], "pub 0 ") || log[i] == "connect" {
			start = i + 1
			break
		}
	}
	attempts := 0
	for i := start; i < len(log) && log[i] != "connect"; i++ {
		e := log[i]
		switch {
		case strings.HasPrefix(e, "pub 0 "):
			t.Errorf("log[%d] %q: completion 0 after the loss was seen", i, e)
		case strings.HasPrefix(e, "pub "):
			attempts++
			if i > closeAt {
				t.Errorf("log[%d] %q: a completion after close", i, e)
			}
			if !strings.HasSuffix(e, "conn=false can=false") {
				t.Errorf("log[%d] %q: the failed publish's callback saw the dead connection as usable", i, e)
			}
		case strings.HasPrefix(e, "refused "):
			attempts++
		}
	}
	if attempts > 3 {
		t.Errorf("%d publishes attempted during one disconnection, want at most 3; log %q", attempts, log[start:])
	}
}

func deadConnOptions() mqttcore.Options {
	o := fastOptions()
	o.ReconnectCount = mqttcore.ReconnectForever
	o.ReconnectPeriod = time.Second // 10 ms wall with the host's x100 clock
	return o
}

// ackBroker accepts every connection and acknowledges publishes as their QoS asks. With
// resetAt > 0 it resets the connection (RST: SO_LINGER 0) on the resetAt-th PUBLISH of each
// connection. When the device stops sending (EOF) it keeps the connection open until the test
// ends, so that a device whose writes fail sees nothing else.
func ackBroker(t *testing.T, resetAt int) *testbroker.FakeBroker {
	hold := make(chan struct{})
	f := testbroker.Fake(t, testbroker.Accept(0, func(c net.Conn) {
		n := 0
		for {
			h, body, err := testbroker.ReadPacket(c)
			if err != nil {
				<-hold
				return
			}
			switch h >> 4 {
			case 3: // PUBLISH
				n++
				if n == resetAt {
					if tc, ok := c.(*net.TCPConn); ok {
						_ = tc.SetLinger(0)
					}
					_ = c.Close()
					return
				}
				qos := h >> 1 & 3
				if qos == 0 {
					continue
				}
				tl := int(body[0])<<8 | int(body[1])
				id := body[2+tl : 4+tl]
				kind := byte(0x40) // PUBACK
				if qos == 2 {
					kind = 0x50 // PUBREC
				}
				if _, err := c.Write([]byte{kind, 2, id[0], id[1]}); err != nil {
					return
				}
			case 6: // PUBREL
				if _, err := c.Write([]byte{0x70, 2, body[0], body[1]}); err != nil {
					return
				}
			case 12: // PINGREQ
				if _, err := c.Write([]byte{0xD0, 0}); err != nil {
					return
				}
			}
		}
	}))
	t.Cleanup(func() { close(hold) }) // runs before the broker's own cleanup
	return f
}

// dialRecorder is a HostConfig.Dial that hands every connection it opens to conns.
func dialRecorder(conns chan<- net.Conn) func(ctx context.Context, network, addr string) (net.Conn, error) {
	var dialer net.Dialer
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, addr)
		if err == nil {
			select {
			case conns <- c:
			default:
			}
		}
		return c, err
	}
}

// TestDeadConnectionIsDeadAtOnce: brokers that die while QoS 0, 1 (direct path) and 2 (paho's
// path) publishes are in flight.
func TestDeadConnectionIsDeadAtOnce(t *testing.T) {
	type world struct {
		url       string
		keepalive time.Duration
		kill      func(device net.Conn) // makes the connection die (nil: it dies by itself)
		restart   func()                // lets the next attempt succeed (nil: nothing to do)
	}
	tt := []struct {
		name  string
		setup func(t *testing.T) world
	}{
		{"mochi stopped", func(t *testing.T) world {
			b := startMochi(t, nil)
			return world{url: b.URL(), kill: func(net.Conn) { b.Stop() }, restart: b.Restart}
		}},
		{"mosquitto SIGTERM", func(t *testing.T) world {
			b := testbroker.Mosquitto(t)
			return world{url: b.URL(), kill: func(net.Conn) { b.Stop() }, restart: b.Restart}
		}},
		{"mosquitto SIGKILL", func(t *testing.T) world {
			b := testbroker.Mosquitto(t)
			return world{url: b.URL(), kill: func(net.Conn) { b.Kill() }, restart: b.Restart}
		}},
		{"raw listener resets on the 40th PUBLISH", func(t *testing.T) world {
			return world{url: ackBroker(t, 40).URL()}
		}},
		{"raw listener resets on the first PUBLISH", func(t *testing.T) world {
			return world{url: ackBroker(t, 1).URL()}
		}},
		{"device's writes fail (EPIPE), the broker holds the connection", func(t *testing.T) world {
			return world{url: ackBroker(t, 0).URL(), kill: func(c net.Conn) { _ = c.(*net.TCPConn).CloseWrite() }}
		}},
		{"broker stops answering: keepalive 1 s", func(t *testing.T) world {
			return world{url: testbroker.Fake(t, testbroker.Accept(0, nil)).URL(), keepalive: time.Second}
		}},
	}
	for _, tc := range tt {
		for _, qos := range []byte{0, 1, 2} {
			t.Run(fmt.Sprintf("%s/qos%d", tc.name, qos), func(t *testing.T) {
				t.Parallel() // its own broker or fake, host and device
				w := tc.setup(t)
				d := newDeadConnDevice(qos)
				conns := make(chan net.Conn, 64)
				h := mqttcore.NewHost(mqttcore.HostConfig{Clock: fastClock{scale: 100}, Dial: dialRecorder(conns)})
				o := deadConnOptions()
				if w.keepalive != 0 {
					o.KeepAlive = w.keepalive
				}
				s, err := h.Connect(w.url, o, mqttcore.TLSSettings{}, d.eventsFor())
				if err != nil {
					t.Fatal(err)
				}
				d.s.Store(s)
				defer endAndWait(t, s)
				d.waitEvent(t, "connect")
				d.publish()
				if w.kill != nil {
					d.waitOK(t, 20)
					var c net.Conn
					for len(conns) > 0 { // the latest: the connection in use
						c = <-conns
					}
					w.kill(c)
				}
				d.waitEvent(t, "close")
				if w.restart != nil {
					w.restart()
				}
				d.waitReconnected(t)
				d.checkLoss(t)
			})
		}
	}
}

// TestLocalCloseIsALoss: the connection closed under the device (not by the broker: a Go
// host's Dial whose connection is closed, an in-memory route torn down) gives `close` and a
// reconnection, whether it is idle or publishing. paho takes "use of closed network
// connection" for its own Disconnect; before, the session stayed connected with every publish
// completing 11.
func TestLocalCloseIsALoss(t *testing.T) {
	for _, tc := range []struct {
		name       string
		publishing bool
		qos        byte
		keepalive  time.Duration
	}{
		{"idle", false, 0, 30 * time.Second},
		{"idle keepalive 0", false, 0, 0},
		{"publishing qos0", true, 0, 30 * time.Second},
		{"publishing qos1", true, 1, 30 * time.Second},
		{"publishing qos2", true, 2, 30 * time.Second},
		{"publishing qos1 keepalive 0", true, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := startMochi(t, nil)
			conns := make(chan net.Conn, 16)
			h := mqttcore.NewHost(mqttcore.HostConfig{Clock: fastClock{scale: 100}, Dial: dialRecorder(conns)})
			d := newDeadConnDevice(tc.qos)
			o := deadConnOptions()
			o.KeepAlive = tc.keepalive
			s, err := h.Connect(b.URL(), o, mqttcore.TLSSettings{}, d.eventsFor())
			if err != nil {
				t.Fatal(err)
			}
			d.s.Store(s)
			defer endAndWait(t, s)
			d.waitEvent(t, "connect")
			c := <-conns
			if tc.publishing {
				d.publish()
				d.waitOK(t, 20)
			}
			_ = c.Close() // under the device
			d.waitEvent(t, "close")
			d.waitEvent(t, "reconnect")
			d.waitEvent(t, "connect")
			if tc.publishing {
				d.checkLoss(t)
			}
			if s.IsConnected() != true {
				t.Fatal("not connected after the reconnection")
			}
			// The new connection works.
			done := make(chan mqttcore.Code, 1)
			if err := s.Publish("dead/after", []byte("x"), mqttcore.PublishOptions{QoS: 1}, func(c mqttcore.Code) { done <- c }); err != nil {
				t.Fatalf("publish on the new connection refused: %v", err)
			}
			select {
			case c := <-done:
				if c != mqttcore.OK {
					t.Fatalf("publish on the new connection: %d", c)
				}
			case <-time.After(waitFor):
				t.Fatal("publish on the new connection does not complete")
			}
		})
	}
}
