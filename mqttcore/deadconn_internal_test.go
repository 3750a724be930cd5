package mqttcore

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/devicejs/devicejs/internal/testbroker"
)

// TestDirectWriteFailureIsALossAtOnce: the write of a direct publish that does not fit the send
// buffer is done on the caller's goroutine (publishDirectLocked); when it fails, the publish
// completes with 11, and by the time its callback runs the session is no longer connected,
// close follows, then the reconnection (issue 18 finding 9). Before, the callback saw
// IsConnected and CanPublish true, and close came only when paho noticed the closed socket.
func TestDirectWriteFailureIsALossAtOnce(t *testing.T) {
	for _, qos := range []byte{0, 1} {
		t.Run(fmt.Sprintf("qos%d", qos), func(t *testing.T) {
			addr := holdingBroker(t)
			events := make(chan string, 16)
			o := DefaultOptions()
			o.ReconnectCount = ReconnectForever
			o.ReconnectPeriod = 10 * time.Millisecond
			var s *Session
			ready := make(chan struct{})
			h := NewHost(HostConfig{})
			s, err := h.Connect("mqtt://"+addr, o, TLSSettings{}, Events{
				Connect:   func(Connack) { <-ready; events <- "connect" },
				Close:     func() { events <- "close" },
				Reconnect: func() { events <- "reconnect" },
			})
			if err != nil {
				t.Fatal(err)
			}
			close(ready)
			defer endSession(s)
			next := func() string {
				t.Helper()
				select {
				case e := <-events:
					return e
				case <-time.After(10 * time.Second):
					t.Fatal("no event within 10s")
					return ""
				}
			}
			if e := next(); e != "connect" {
				t.Fatalf("event %q, want connect", e)
			}
			s.mu.Lock()
			g := s.conn.att.guardConn()
			s.mu.Unlock()
			tc, ok := g.Conn.(*net.TCPConn)
			if !ok || g.raw == nil {
				t.Fatalf("guard over %T, raw %v: want a TCP connection with raw writes", g.Conn, g.raw != nil)
			}
			if err := tc.CloseWrite(); err != nil { // the next write fails with EPIPE
				t.Fatal(err)
			}
			// A full send buffer whose flush has not run yet: the publish is written at once.
			g.omu.Lock()
			g.obuf = make([]byte, o.SendBuffSize-8)
			g.flushing = true
			g.omu.Unlock()
			seen := make(chan string, 1)
			err = s.Publish("t", []byte("0123456789"), PublishOptions{QoS: qos}, func(c Code) {
				seen <- fmt.Sprintf("%d conn=%v can=%v", c, s.IsConnected(), s.CanPublish())
				events <- "done"
			})
			if err != nil {
				t.Fatal(err)
			}
			if e := next(); e != "done" {
				t.Fatalf("event %q, want the publish's completion first", e)
			}
			if got := <-seen; got != "11 conn=false can=false" {
				t.Fatalf("callback saw %q, want 11 conn=false can=false", got)
			}
			for _, want := range []string{"close", "reconnect", "connect"} {
				if e := next(); e != want {
					t.Fatalf("event %q, want %q", e, want)
				}
			}
		})
	}
}

// holdingBroker is minimalBroker that keeps each connection open after the device stops
// sending (EOF), until the test ends: the device's failed writes are then all it sees.
func holdingBroker(t *testing.T) string {
	t.Helper()
	hold := make(chan struct{})
	f := testbroker.Fake(t, testbroker.Accept(0, func(c net.Conn) {
		testbroker.Discard(c)
		<-hold
	}))
	t.Cleanup(func() { close(hold) }) // runs before the fake's cleanup waits for its goroutines
	return f.Addr()
}
