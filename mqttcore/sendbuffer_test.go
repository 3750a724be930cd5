package mqttcore_test

import (
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/devicejs/devicejs/internal/testbroker"
	"github.com/devicejs/devicejs/mqttcore"
)

// TestSendBufferKeepsOrder: chained QoS 0 publishes (each issued from the previous one's
// completion) go through the connection's send buffer; a SUBSCRIBE issued after them (through
// paho) and a QoS 1 publish after that reach the broker after every one of them, in order, and
// the payloads arrive intact.
func TestSendBufferKeepsOrder(t *testing.T) {
	const n = 200
	seen := make(chan string, n+10)
	b := testbroker.Fake(t, testbroker.Accept(0, func(c net.Conn) {
		for {
			h, body, err := testbroker.ReadPacket(c)
			if err != nil {
				return
			}
			switch h >> 4 {
			case 3:
				tl := int(body[0])<<8 | int(body[1])
				rest := body[2+tl:]
				if h&0x06 != 0 {
					id := rest[:2]
					rest = rest[2:]
					if _, err := c.Write([]byte{0x40, 2, id[0], id[1]}); err != nil {
						return
					}
				}
				seen <- "publish " + string(rest)
			case 8:
				seen <- "subscribe"
				if _, err := c.Write([]byte{0x90, 3, body[0], body[1], 0}); err != nil {
					return
				}
			}
		}
	}))
	r := newRecorder()
	s := connected(t, newHost(mqttcore.Limits{}), b.URL(), fastOptions(), r)
	defer endAndWait(t, s)
	done := make(chan error, 1)
	var next func(i int)
	next = func(i int) {
		if i == n {
			if err := s.Subscribe("x", mqttcore.SubscribeOptions{}, nil); err != nil {
				done <- err
				return
			}
			done <- s.Publish("t", []byte("last"), mqttcore.PublishOptions{QoS: 1}, nil)
			return
		}
		err := s.Publish("t", []byte(strconv.Itoa(i)), mqttcore.PublishOptions{}, func(c mqttcore.Code) {
			if c != mqttcore.OK {
				done <- fmt.Errorf("publish %d: %v", i, c)
				return
			}
			next(i + 1)
		})
		if err != nil {
			done <- fmt.Errorf("publish %d refused: %v", i, err)
		}
	}
	next(0)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := make([]string, 0, n+2)
	for i := range n {
		want = append(want, "publish "+strconv.Itoa(i))
	}
	want = append(want, "subscribe", "publish last")
	for i, w := range want {
		select {
		case got := <-seen:
			if got != w {
				t.Fatalf("packet %d at the broker: %q, want %q", i, got, w)
			}
		case <-time.After(waitFor):
			t.Fatalf("packet %d (%q) never reached the broker", i, w)
		}
	}
}
