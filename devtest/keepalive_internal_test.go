package devtest

import (
	"context"
	"io"
	"net"
	"testing"
	"time"
)

// connectPacket is a CONNECT (MQTT 3.1.1, clean session) of clientID with keepalive k seconds
// and a QoS 0 will.
func connectPacket(clientID string, k uint16, willTopic, will string) []byte {
	str := func(s string) []byte { return append([]byte{byte(len(s) >> 8), byte(len(s))}, s...) }
	body := append(str("MQTT"), 4, 0x06, byte(k>>8), byte(k))
	body = append(body, str(clientID)...)
	body = append(body, str(willTopic)...)
	body = append(body, str(will)...)
	return append([]byte{0x10, byte(len(body))}, body...)
}

// readN reads n bytes within a wall-time bound.
func readN(t *testing.T, c net.Conn, n int) []byte {
	t.Helper()
	got := make(chan []byte, 1)
	go func() {
		b := make([]byte, n)
		if _, err := io.ReadFull(c, b); err != nil {
			got <- nil
			return
		}
		got <- b
	}()
	select {
	case b := <-got:
		if b == nil {
			t.Fatal("read failed")
		}
		return b
	case <-time.After(10 * time.Second):
		t.Fatal("read timed out")
	}
	return nil
}

// TestBrokerKeepaliveOnDeviceClock: the embedded broker drops a client that has sent nothing for
// 1.5 x its keepalive of device time and publishes its will then (issue 18 A), behind a half-open
// link; mochi's own wall-time expiry is off; keepalive 0 is never expired.
func TestBrokerKeepaliveOnDeviceClock(t *testing.T) {
	for _, tc := range []struct {
		name     string
		k        uint16
		pingAt   time.Duration // a PINGREQ at this device time (0: none)
		wallIdle time.Duration // wall time spent idle first, past mochi's own deadline
		willAt   int64         // device ms of the will; -1: none within 3 minutes
	}{
		{name: "keepalive 30: dropped 45 s after the CONNECT", k: 30, willAt: 45000},
		{name: "keepalive 30, PINGREQ at 20 s: dropped at 65 s", k: 30, pingAt: 20 * time.Second, willAt: 65000},
		{name: "keepalive 1: dropped at 1.5 s, not by mochi's wall clock", k: 1, wallIdle: 2500 * time.Millisecond, willAt: 1500},
		{name: "keepalive 0: never dropped", k: 0, willAt: -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			w, err := newWorld(ctx, Options{}, 1)
			if err != nil {
				t.Fatal(err)
			}
			defer w.close()
			sub, err := w.subscribe("will/#")
			if err != nil {
				t.Fatal(err)
			}
			c, err := w.link.Dialer(w.dial)(ctx, "tcp", "broker.example:1883")
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write(connectPacket("c1", tc.k, "will/c1", "gone")); err != nil {
				t.Fatal(err)
			}
			if b := readN(t, c, 4); b[0] != 0x20 || b[3] != 0 {
				t.Fatalf("CONNACK % x", b)
			}
			if tc.wallIdle > 0 {
				time.Sleep(tc.wallIdle)
				if m := sub.messages(); len(m) != 0 {
					t.Fatalf("will after %v of wall time and no device time: %+v", tc.wallIdle, m)
				}
			}
			if tc.pingAt > 0 {
				if err := w.advance(tc.pingAt, nil); err != nil {
					t.Fatal(err)
				}
				if _, err := c.Write([]byte{0xC0, 0}); err != nil {
					t.Fatal(err)
				}
				if b := readN(t, c, 2); b[0] != 0xD0 {
					t.Fatalf("PINGRESP % x", b)
				}
			}
			w.link.Blackhole(true)
			w.blackholed.Store(true)
			start := time.Now()
			if err := w.advance(3*time.Minute-tc.pingAt, nil); err != nil {
				t.Fatal(err)
			}
			m := sub.messages()
			switch {
			case tc.willAt < 0 && len(m) != 0:
				t.Fatalf("will sent: %+v", m)
			case tc.willAt >= 0 && len(m) != 1:
				t.Fatalf("%d wills, want 1: %+v", len(m), m)
			case tc.willAt >= 0 && (m[0].Topic != "will/c1" || string(m[0].Payload) != "gone" || m[0].AtMs != tc.willAt):
				t.Fatalf("will %q %q at %d ms, want at %d ms", m[0].Topic, m[0].Payload, m[0].AtMs, tc.willAt)
			}
			if el := time.Since(start); el > 30*time.Second { // 3 minutes of device time
				t.Errorf("took %v of wall time", el)
			}
		})
	}
}
