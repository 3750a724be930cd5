package mqttcore

import (
	"testing"
	"time"

	"github.com/devicejs/devicejs/internal/testbroker"
)

// TestGuardFailureReportsLoss: when the guard itself closes the socket (a direct publish's
// write failed, guardConn.fail), paho's reader and writer then fail with "use of closed network
// connection", which paho takes for its own Disconnect and does not report. The session must
// still see the loss (Close, then a reconnection) at once, not at the next keepalive (here
// none: keepalive 0) — the stall seen in TestQoS1AcrossBrokerRestarts under load.
func TestGuardFailureReportsLoss(t *testing.T) {
	addr := minimalBroker(t)
	events := make(chan string, 16)
	o := DefaultOptions()
	o.KeepAlive = 0
	o.ReconnectCount = ReconnectForever
	o.ReconnectPeriod = 10 * time.Millisecond
	h := NewHost(HostConfig{})
	s, err := h.Connect("mqtt://"+addr, o, TLSSettings{}, Events{
		Connect: func(Connack) { events <- "connect" },
		Close:   func() { events <- "close" },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer endSession(s)
	expect := func(want string) {
		t.Helper()
		select {
		case e := <-events:
			if e != want {
				t.Fatalf("event %q, want %q", e, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no %q event within 10s", want)
		}
	}
	expect("connect")
	s.mu.Lock()
	g := s.conn.att.guardConn()
	s.mu.Unlock()
	g.fail() // what a failed direct write does
	expect("close")
	expect("connect")
	// Publishing works on the new connection.
	done := make(chan Code, 1)
	if err := s.Publish("t", []byte("x"), PublishOptions{QoS: 0}, func(c Code) { done <- c }); err != nil {
		t.Fatal(err)
	}
	if c := <-done; c != OK {
		t.Errorf("publish on the new connection: %v", c)
	}
}

// minimalBroker is a fake broker that accepts every CONNECT and discards everything else.
func minimalBroker(t *testing.T) string {
	t.Helper()
	return testbroker.Fake(t, testbroker.Accept(0, nil)).Addr()
}

// endSession ends s and waits for its resource to be released.
func endSession(s *Session) {
	rel := make(chan struct{})
	s.End(func() { close(rel) })
	<-rel
}
