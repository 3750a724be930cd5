package mqttcore_test

import (
	"net"
	"testing"

	"github.com/devicejs/devicejs/internal/testbroker"
	"github.com/devicejs/devicejs/mqttcore"
)

// echoAckBroker answers CONNECT, SUBSCRIBE (SUBACK), UNSUBSCRIBE (UNSUBACK) and PUBLISH QoS 1
// and 2. The acknowledgement that completes a publish (PUBACK, or PUBCOMP after the device's
// PUBREL) and a QoS 0 copy of the message on "echo" go out in one write, the message first
// when messageFirst: so the wire order of completion and message is known.
func echoAckBroker(t *testing.T, messageFirst bool) *testbroker.FakeBroker {
	return testbroker.Fake(t, testbroker.Accept(0, func(c net.Conn) {
		var pendingEcho []byte // QoS 2: the message waits for the PUBREL
		send := func(ack, msg []byte) bool {
			out := append(append([]byte(nil), ack...), msg...)
			if messageFirst {
				out = append(append([]byte(nil), msg...), ack...)
			}
			_, err := c.Write(out)
			return err == nil
		}
		for {
			h, body, err := testbroker.ReadPacket(c)
			if err != nil {
				return
			}
			switch h >> 4 {
			case 8: // SUBSCRIBE: granted QoS 0
				if _, err := c.Write([]byte{0x90, 3, body[0], body[1], 0}); err != nil {
					return
				}
			case 10: // UNSUBSCRIBE
				if _, err := c.Write([]byte{0xB0, 2, body[0], body[1]}); err != nil {
					return
				}
			case 3:
				tl := int(body[0])<<8 | int(body[1])
				id := body[2+tl : 4+tl]
				payload := body[4+tl:]
				echo := append([]byte{0x30, byte(2 + 4 + len(payload)), 0, 4}, "echo"...)
				echo = append(echo, payload...)
				switch h & 0x06 {
				case 0x02:
					if !send([]byte{0x40, 2, id[0], id[1]}, echo) {
						return
					}
				case 0x04:
					pendingEcho = echo
					if _, err := c.Write([]byte{0x50, 2, id[0], id[1]}); err != nil {
						return
					}
				}
			case 6: // PUBREL
				if !send([]byte{0x70, 2, body[0], body[1]}, pendingEcho) {
					return
				}
			}
		}
	}))
}

// TestCompletionAndMessageKeepWireOrder: a completion and a message that arrive back to back
// are reported in the order they came off the wire, also when the completion comes through paho
// (QoS 2; a QoS 1 publish issued behind an unsubscribe).
func TestCompletionAndMessageKeepWireOrder(t *testing.T) {
	const rounds = 40
	for _, messageFirst := range []bool{false, true} {
		for _, qos := range []byte{1, 2} {
			name := map[bool]string{false: "ack first", true: "message first"}[messageFirst] + map[byte]string{1: "/qos1 behind unsubscribe", 2: "/qos2"}[qos]
			t.Run(name, func(t *testing.T) {
				b := echoAckBroker(t, messageFirst)
				r := newRecorder()
				s := connected(t, newHost(mqttcore.Limits{}), b.URL(), fastOptions(), r)
				defer endAndWait(t, s)
				for i := range rounds {
					var want []string
					if qos == 1 {
						if err := s.Unsubscribe("x", r.done("unsub")); err != nil {
							t.Fatal(err)
						}
						want = append(want, "unsub 0")
					}
					if err := s.Publish("t", []byte("m"), mqttcore.PublishOptions{QoS: qos}, r.done("pub")); err != nil {
						t.Fatal(err)
					}
					if messageFirst {
						want = append(want, "message echo m false", "pub 0")
					} else {
						want = append(want, "pub 0", "message echo m false")
					}
					for j, w := range want {
						if got := r.next(t); got != w {
							t.Fatalf("round %d, event %d: got %q, want %q (all: %q)", i, j, got, w, want)
						}
					}
				}
			})
		}
	}
}
