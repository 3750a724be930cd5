package bindings_test

import (
	"bufio"
	"encoding/binary"
	"net"
	"testing"

	"github.com/devicejs/devicejs/internal/testbroker"
)

// fakeBroker is a minimal MQTT 3.1.1 peer for the benchmarks: it accepts connections on a
// loopback port, answers CONNECT, SUBSCRIBE, UNSUBSCRIBE, PINGREQ and QoS 1 PUBLISH, and
// either echoes each PUBLISH back as QoS 0 (echo) or, after the first SUBACK, sends flood
// QoS 0 messages of 64 bytes to the subscribed filter. It keeps broker work out of the
// profiles of the binding's hot paths.
type fakeBroker struct {
	echo  bool
	flood int
}

func startFakeBroker(tb testing.TB, echo bool, flood int) string {
	tb.Helper()
	f := &fakeBroker{echo: echo, flood: flood}
	return testbroker.Fake(tb, f.serve).Addr()
}

func (f *fakeBroker) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	for {
		h, body, err := testbroker.ReadPacket(r)
		if err != nil {
			return
		}
		switch h >> 4 {
		case 1: // CONNECT
			w.Write([]byte{0x20, 2, 0, 0})
		case 3: // PUBLISH
			qos := (h >> 1) & 3
			tl := int(binary.BigEndian.Uint16(body))
			topic := body[2 : 2+tl]
			rest := body[2+tl:]
			if qos > 0 {
				w.Write([]byte{0x40, 2, rest[0], rest[1]})
				rest = rest[2:]
			}
			if f.echo {
				writePublish(w, topic, rest)
			}
		case 8: // SUBSCRIBE
			filters := 0
			for i := 2; i+2 <= len(body); {
				i += 2 + int(binary.BigEndian.Uint16(body[i:])) + 1
				filters++
			}
			w.Write([]byte{0x90, byte(2 + filters), body[0], body[1]})
			for range filters {
				w.WriteByte(0)
			}
			if f.flood > 0 {
				fl := int(binary.BigEndian.Uint16(body[2:]))
				topic := body[4 : 4+fl]
				payload := make([]byte, 64)
				for range f.flood {
					writePublish(w, topic, payload)
				}
				f.flood = 0
			}
		case 10: // UNSUBSCRIBE
			w.Write([]byte{0xB0, 2, body[0], body[1]})
		case 12: // PINGREQ
			w.Write([]byte{0xD0, 0})
		case 14: // DISCONNECT
			w.Flush()
			return
		}
		if r.Buffered() == 0 {
			if err := w.Flush(); err != nil {
				return
			}
		}
	}
}

// writePublish writes a QoS 0 PUBLISH (remaining length < 16 KiB).
func writePublish(w *bufio.Writer, topic, payload []byte) {
	n := 2 + len(topic) + len(payload)
	w.WriteByte(0x30)
	if n < 128 {
		w.WriteByte(byte(n))
	} else {
		w.Write([]byte{byte(n&0x7f) | 0x80, byte(n >> 7)})
	}
	w.Write([]byte{byte(len(topic) >> 8), byte(len(topic))})
	w.Write(topic)
	w.Write(payload)
}
