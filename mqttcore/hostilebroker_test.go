package mqttcore_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devicejs/devicejs/internal/testbroker"
	"github.com/devicejs/devicejs/mqttcore"
)

// Issue 17 item 1: a broker must not be able to crash the device. Every packet from the broker
// is checked before paho reads it (inboundcheck.go, packetacks.go); these tests send every
// acknowledgement and every field an inbound packet carries, wrong, to a real Session over
// loopback.

// reqIDs are the packet identifiers of the requests the device wrote, in order.
type reqIDs []uint16

// id returns the identifier of the i-th request as two bytes.
func (r reqIDs) id(i int) (byte, byte) { return byte(r[i] >> 8), byte(r[i]) }

// ackOf returns a two-byte-identifier packet (PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK) of
// header h for the i-th request.
func (r reqIDs) ackOf(h byte, i int) []byte {
	a, b := r.id(i)
	return []byte{h, 2, a, b}
}

// subackOf returns a SUBACK for the i-th request with return codes codes.
func (r reqIDs) subackOf(i int, codes ...byte) []byte {
	a, b := r.id(i)
	return withLength(0x90, append([]byte{a, b}, codes...))
}

// hostileBroker accepts connections: it reads CONNECT, writes hello (a CONNACK accepting it
// when nil), reads requests packets that carry an identifier (PUBLISH of QoS 1 or 2,
// SUBSCRIBE, UNSUBSCRIBE), writes what send returns for their identifiers, then reads
// (answering PUBREL with PUBCOMP) until the connection ends.
func hostileBroker(t *testing.T, hello []byte, requests int, send func(reqIDs) []byte) *testbroker.FakeBroker {
	if hello == nil {
		hello = []byte{0x20, 2, 0, 0}
	}
	return testbroker.Fake(t, func(c net.Conn) {
		if _, _, err := testbroker.ReadPacket(c); err != nil {
			return
		}
		if _, err := c.Write(hello); err != nil {
			return
		}
		var ids reqIDs
		for len(ids) < requests {
			h, body, err := testbroker.ReadPacket(c)
			if err != nil {
				return
			}
			if id, ok := requestID(h, body); ok {
				ids = append(ids, id)
			}
		}
		if send != nil {
			if _, err := c.Write(send(ids)); err != nil {
				return
			}
		}
		for {
			h, body, err := testbroker.ReadPacket(c)
			if err != nil {
				return
			}
			if h == 0x62 && len(body) == 2 {
				_, _ = c.Write([]byte{0x70, 2, body[0], body[1]})
			}
		}
	})
}

// requestID returns the packet identifier of a request the device wrote.
func requestID(h byte, body []byte) (uint16, bool) {
	switch {
	case h == 0x82 || h == 0xA2:
		return uint16(body[0])<<8 | uint16(body[1]), true
	case h>>4 == 3 && h&0x06 != 0:
		at := 2 + (int(body[0])<<8 | int(body[1]))
		return uint16(body[at])<<8 | uint16(body[at+1]), true
	}
	return 0, false
}

// rawPublish encodes a PUBLISH with any header byte and body.
func rawPublish(h byte, body []byte) []byte { return withLength(h, body) }

// withLength encodes a packet: header byte h, remaining length, body.
func withLength(h byte, body []byte) []byte {
	pkt := []byte{h}
	for n := len(body); ; {
		d := byte(n % 128)
		n /= 128
		if n == 0 {
			pkt = append(pkt, d)
			break
		}
		pkt = append(pkt, d|0x80)
	}
	return append(pkt, body...)
}

// topicBody is a PUBLISH body with topic, optional packet identifier and payload "m".
func topicBody(topic string, id ...byte) []byte {
	b := append([]byte{byte(len(topic) >> 8), byte(len(topic))}, topic...)
	return append(append(b, id...), 'm')
}

// hostileCase is one broker behaviour and what the device must report.
type hostileCase struct {
	name string
	// ops the device issues once connected, in order: "sub" (QoS 1 filter "s/#"), "unsub"
	// ("u"), "pub1" / "pub2" (QoS 1 / 2 to "p"). Each completion is recorded as "NAME CODE".
	ops   []string
	hello []byte              // instead of an accepting CONNACK
	send  func(reqIDs) []byte // written once every op's request was read
	// want are the events after connect (or after the attempt, when hello fails it).
	want []string
	// violation is a part of the protocol_error traced; "" when none may be traced.
	violation string
	stays     bool // the connection survives (no violation)
}

func hostileCases() []hostileCase {
	connack := func(b ...byte) []byte { return append([]byte{0x20, byte(len(b))}, b...) }
	withBody := func(h byte, n int) func(reqIDs) []byte {
		return func(reqIDs) []byte { return append([]byte{h, byte(n)}, make([]byte, n)...) }
	}
	bytesOf := func(b ...byte) func(reqIDs) []byte { return func(reqIDs) []byte { return b } }
	pub := func(h byte, body []byte) func(reqIDs) []byte {
		return func(reqIDs) []byte { return rawPublish(h, body) }
	}
	// delivered: the SUBACK of the first request, then the PUBLISH (a message that arrives
	// before the session has seen its CONNACK is not for it).
	delivered := func(h byte, body []byte) func(reqIDs) []byte {
		return func(r reqIDs) []byte { return append(r.subackOf(0, 1), rawPublish(h, body)...) }
	}
	var many []byte
	for range 200 {
		many = append(many, 1)
	}
	cases := []hostileCase{
		// SUBACK against the SUBSCRIBE it answers (issue 17 item 1: more codes than filters
		// panicked paho's reader, exit 2).
		{name: "SUBACK with 2 return codes for 1 filter", ops: []string{"sub"},
			send: func(r reqIDs) []byte { return r.subackOf(0, 0, 0) }, want: []string{"sub 13", "close"},
			violation: "SUBACK with 2 return codes for SUBSCRIBE"},
		{name: "SUBACK with 200 return codes", ops: []string{"sub"},
			send: func(r reqIDs) []byte { return r.subackOf(0, many...) }, want: []string{"sub 13", "close"},
			violation: "SUBACK with 200 return codes"},
		{name: "SUBACK with no return code", ops: []string{"sub"},
			send: func(r reqIDs) []byte { return r.subackOf(0) }, want: []string{"sub 13", "close"},
			violation: "SUBACK with remaining length 2"},
		{name: "SUBACK return code 0x03", ops: []string{"sub"},
			send: func(r reqIDs) []byte { return r.subackOf(0, 3) }, want: []string{"sub 13", "close"},
			violation: "SUBACK return code 0x03"},
		{name: "SUBACK return code 0x7F", ops: []string{"sub"},
			send: func(r reqIDs) []byte { return r.subackOf(0, 0x7F) }, want: []string{"sub 13", "close"},
			violation: "SUBACK return code 0x7F"},
		{name: "SUBACK return code 0x81", ops: []string{"sub"},
			send: func(r reqIDs) []byte { return r.subackOf(0, 0x81) }, want: []string{"sub 13", "close"},
			violation: "SUBACK return code 0x81"},
		{name: "SUBACK return code 0xFF", ops: []string{"sub"},
			send: func(r reqIDs) []byte { return r.subackOf(0, 0xFF) }, want: []string{"sub 13", "close"},
			violation: "SUBACK return code 0xFF"},
		{name: "SUBACK with fixed header flags", ops: []string{"sub"},
			send: func(r reqIDs) []byte { b := r.subackOf(0, 1); b[0] |= 2; return b }, want: []string{"sub 13", "close"},
			violation: "SUBACK with fixed header flags 0x2"},
		{name: "SUBACK for an UNSUBSCRIBE", ops: []string{"unsub"},
			send: func(r reqIDs) []byte { return r.subackOf(0, 0) }, want: []string{"unsub 14", "close"},
			violation: "SUBACK for UNSUBSCRIBE"},
		{name: "SUBACK for a QoS 1 PUBLISH (behind a subscribe)", ops: []string{"sub", "pub1"},
			send: func(r reqIDs) []byte { return r.subackOf(1, 0) }, want: []string{"sub 11", "pub 12", "close"},
			violation: "SUBACK for QoS 1 PUBLISH"},
		{name: "SUBACK for a QoS 2 PUBLISH", ops: []string{"pub2"},
			send: func(r reqIDs) []byte { return r.subackOf(0, 0) }, want: []string{"pub 12", "close"},
			violation: "SUBACK for QoS 2 PUBLISH"},
		{name: "SUBACK 0x80 (refused) is not a violation", ops: []string{"sub"},
			send: func(r reqIDs) []byte { return r.subackOf(0, 0x80) }, want: []string{"sub 13"}, stays: true},
		{name: "SUBACK granting more than asked is tolerated", ops: []string{"sub"},
			send: func(r reqIDs) []byte { return r.subackOf(0, 2) }, want: []string{"sub 0"}, stays: true},
		{name: "SUBACK repeated (the second is stray)", ops: []string{"sub"},
			send: func(r reqIDs) []byte { return append(r.subackOf(0, 1), r.subackOf(0, 1, 1)...) }, want: []string{"sub 0"}, stays: true},
		{name: "SUBACK for nothing outstanding", ops: nil,
			send: bytesOf(0x90, 3, 0x12, 0x34, 0), stays: true},
		{name: "SUBACK for nothing outstanding with 2 codes", ops: nil,
			send: bytesOf(0x90, 4, 0, 1, 0, 0), stays: true},

		// A violation right behind a valid acknowledgement: the acknowledged operation keeps
		// the broker's answer (wire order), the others in flight get 11.
		{name: "SUBACK then a PUBLISH with a wildcard topic", ops: []string{"sub"},
			send: func(r reqIDs) []byte { return append(r.subackOf(0, 1), rawPublish(0x30, topicBody("s/#"))...) },
			want: []string{"sub 0", "close"}, violation: "contains a wildcard"},
		{name: "SUBACK refused then a reserved packet", ops: []string{"sub"},
			send: func(r reqIDs) []byte { return append(r.subackOf(0, 0x80), 0xF0, 0) },
			want: []string{"sub 13", "close"}, violation: "reserved packet type 15"},
		{name: "UNSUBACK then a bad SUBACK, a subscribe in flight", ops: []string{"unsub", "sub"},
			send: func(r reqIDs) []byte { return append(r.ackOf(0xB0, 0), r.subackOf(1, 1, 1)...) },
			want: []string{"unsub 0", "sub 13", "close"}, violation: "SUBACK with 2 return codes"},
		{name: "SUBACK, PUBREC then a PINGREQ", ops: []string{"sub", "pub2"},
			send: func(r reqIDs) []byte {
				return append(append(r.subackOf(0, 1), r.ackOf(0x50, 1)...), 0xC0, 0)
			},
			want: []string{"sub 0", "pub 11", "close"}, violation: "PINGREQ from the broker"},

		// UNSUBACK.
		{name: "UNSUBACK for a SUBSCRIBE", ops: []string{"sub"},
			send: func(r reqIDs) []byte { return r.ackOf(0xB0, 0) }, want: []string{"sub 13", "close"},
			violation: "UNSUBACK for SUBSCRIBE"},
		{name: "UNSUBACK with remaining length 3", ops: []string{"unsub"},
			send: func(r reqIDs) []byte { b := r.ackOf(0xB0, 0); b[1] = 3; return append(b, 0) },
			want: []string{"unsub 14", "close"}, violation: "UNSUBACK with remaining length 3"},
		{name: "UNSUBACK with remaining length 1", ops: []string{"unsub"},
			send: bytesOf(0xB0, 1, 0), want: []string{"unsub 11", "close"}, violation: "UNSUBACK with remaining length 1"},
		{name: "UNSUBACK with remaining length 0", ops: []string{"unsub"},
			send: bytesOf(0xB0, 0), want: []string{"unsub 11", "close"}, violation: "UNSUBACK with remaining length 0"},
		{name: "UNSUBACK with fixed header flags", ops: []string{"unsub"},
			send: func(r reqIDs) []byte { return r.ackOf(0xB1, 0) }, want: []string{"unsub 14", "close"},
			violation: "UNSUBACK with fixed header flags 0x1"},
		{name: "UNSUBACK for nothing outstanding", send: bytesOf(0xB0, 2, 0, 9), stays: true},

		// PUBACK, PUBREC, PUBCOMP for the wrong request or malformed.
		{name: "PUBACK for a SUBSCRIBE", ops: []string{"sub"},
			send: func(r reqIDs) []byte { return r.ackOf(0x40, 0) }, want: []string{"sub 13", "close"},
			violation: "PUBACK for SUBSCRIBE"},
		{name: "PUBREC for a SUBSCRIBE", ops: []string{"sub"},
			send: func(r reqIDs) []byte { return r.ackOf(0x50, 0) }, want: []string{"sub 13", "close"},
			violation: "PUBREC for SUBSCRIBE"},
		{name: "PUBCOMP for an UNSUBSCRIBE", ops: []string{"unsub"},
			send: func(r reqIDs) []byte { return r.ackOf(0x70, 0) }, want: []string{"unsub 14", "close"},
			violation: "PUBCOMP for UNSUBSCRIBE"},
		{name: "PUBACK with remaining length 3 (direct QoS 1)", ops: []string{"pub1"},
			send: func(r reqIDs) []byte { b := r.ackOf(0x40, 0); b[1] = 3; return append(b, 0) },
			want: []string{"pub 12", "close"}, violation: "PUBACK with remaining length 3"},
		{name: "PUBACK with remaining length 1", ops: []string{"pub1"},
			send: bytesOf(0x40, 1, 0xFF), want: []string{"pub 11", "close"}, violation: "PUBACK with remaining length 1"},
		{name: "PUBACK with QoS flags (via paho)", ops: []string{"sub", "pub1"},
			send: func(r reqIDs) []byte { return r.ackOf(0x42, 1) },
			want: []string{"sub 11", "pub 12", "close"}, violation: "PUBACK with fixed header flags 0x2"},
		{name: "PUBREC with remaining length 4", ops: []string{"pub2"},
			send: func(r reqIDs) []byte { b := r.ackOf(0x50, 0); b[1] = 4; return append(b, 0, 0) },
			want: []string{"pub 12", "close"}, violation: "PUBREC with remaining length 4"},
		{name: "PUBCOMP with fixed header flags", ops: []string{"pub2"},
			send: func(r reqIDs) []byte { return append(r.ackOf(0x50, 0), r.ackOf(0x71, 0)...) },
			want: []string{"pub 12", "close"}, violation: "PUBCOMP with fixed header flags 0x1"},
		{name: "PUBACK for identifier 0", send: bytesOf(0x40, 2, 0, 0), stays: true},
		{name: "PUBREC for nothing outstanding", send: bytesOf(0x50, 2, 0, 7), stays: true},

		// PUBREL from the broker (the second half of a received QoS 2 message).
		{name: "PUBREL without its fixed header flags", send: bytesOf(0x60, 2, 0, 1), want: []string{"close"},
			violation: "PUBREL with fixed header flags 0x0"},
		{name: "PUBREL with remaining length 3", send: bytesOf(0x62, 3, 0, 1, 0), want: []string{"close"},
			violation: "PUBREL with remaining length 3"},
		{name: "PUBREL for nothing received is answered", send: bytesOf(0x62, 2, 0, 5), stays: true},

		// CONNACK.
		{name: "CONNACK return code 6", hello: connack(0, 6), want: []string{"error 1"}, violation: "CONNACK return code 6"},
		{name: "CONNACK return code 0x80", hello: connack(0, 0x80), want: []string{"error 1"}, violation: "CONNACK return code 128"},
		{name: "CONNACK return code 255", hello: connack(0, 0xFF), want: []string{"error 1"}, violation: "CONNACK return code 255"},
		{name: "CONNACK reserved acknowledge flags", hello: connack(0x02, 0), want: []string{"error 1"}, violation: "CONNACK acknowledge flags 0x02"},
		{name: "CONNACK with remaining length 3", hello: connack(0, 0, 0), want: []string{"error 1"}, violation: "CONNACK with remaining length 3"},
		{name: "CONNACK with remaining length 1", hello: connack(0), want: []string{"error 1"}, violation: "CONNACK with remaining length 1"},
		{name: "CONNACK with remaining length 0", hello: connack(), want: []string{"error 1"}, violation: "CONNACK with remaining length 0"},
		{name: "CONNACK with fixed header flags", hello: []byte{0x21, 2, 0, 0}, want: []string{"error 1"}, violation: "CONNACK with fixed header flags 0x1"},
		{name: "PUBLISH before CONNACK", hello: append(rawPublish(0x30, topicBody("t")), 0x20, 2, 0, 0), want: []string{"error 1"}, violation: "PUBLISH before CONNACK"},
		{name: "SUBACK before CONNACK", hello: []byte{0x90, 3, 0, 1, 0, 0x20, 2, 0, 0}, want: []string{"error 1"}, violation: "SUBACK before CONNACK"},
		{name: "PINGRESP before CONNACK", hello: []byte{0xD0, 0, 0x20, 2, 0, 0}, want: []string{"error 1"}, violation: "PINGRESP before CONNACK"},
		{name: "reserved type 0 before CONNACK", hello: []byte{0x00, 0}, want: []string{"error 1"}, violation: "RESERVED before CONNACK"},
		{name: "a second CONNACK", send: bytesOf(0x20, 2, 0, 0), want: []string{"close"}, violation: "a second CONNACK"},
		{name: "a second CONNACK refusing", ops: []string{"sub"}, send: bytesOf(0x20, 2, 0, 5), want: []string{"sub 11", "close"}, violation: "a second CONNACK"},

		// Packets only a client sends, reserved types, PINGRESP and DISCONNECT.
		{name: "reserved type 0", send: bytesOf(0x00, 0), want: []string{"close"}, violation: "reserved packet type 0"},
		{name: "reserved type 15", send: bytesOf(0xF0, 0), want: []string{"close"}, violation: "reserved packet type 15"},
		{name: "reserved type 15 with a body", send: withBody(0xF0, 20), want: []string{"close"}, violation: "reserved packet type 15"},
		{name: "CONNECT from the broker", send: bytesOf(0x10, 12, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 0), want: []string{"close"}, violation: "CONNECT from the broker"},
		{name: "SUBSCRIBE from the broker", send: bytesOf(0x82, 6, 0, 1, 0, 1, 'a', 0), want: []string{"close"}, violation: "SUBSCRIBE from the broker"},
		{name: "UNSUBSCRIBE from the broker", send: bytesOf(0xA2, 5, 0, 1, 0, 1, 'a'), want: []string{"close"}, violation: "UNSUBSCRIBE from the broker"},
		{name: "PINGREQ from the broker", send: bytesOf(0xC0, 0), want: []string{"close"}, violation: "PINGREQ from the broker"},
		{name: "PINGRESP with a body", send: withBody(0xD0, 3), want: []string{"close"}, violation: "PINGRESP with remaining length 3"},
		{name: "PINGRESP with fixed header flags", send: bytesOf(0xD4, 0), want: []string{"close"}, violation: "PINGRESP with fixed header flags 0x4"},
		{name: "DISCONNECT with a body", send: bytesOf(0xE0, 2, 0x8B, 0), want: []string{"close"}, violation: "DISCONNECT with remaining length 2"},
		{name: "PINGRESP unsolicited is ignored", send: bytesOf(0xD0, 0), stays: true},
		{name: "DISCONNECT (mochi's shutdown notice) is passed on", send: bytesOf(0xE0, 0), stays: true},
		{name: "remaining length of 5 bytes", send: bytesOf(0x30, 0x80, 0x80, 0x80, 0x80, 0x01), want: []string{"close"}, violation: "remaining length longer than 4 bytes"},

		// PUBLISH fields (issue 17 item 11: malformed topics reached the script).
		{name: "PUBLISH QoS 3", send: pub(0x36, topicBody("t", 0, 1)), want: []string{"close"}, violation: "PUBLISH with QoS 3"},
		{name: "PUBLISH topic length past the body", send: pub(0x30, []byte{0, 9, 't'}), want: []string{"close"}, violation: "PUBLISH topic length 9 past the end"},
		{name: "PUBLISH of 1 byte", send: pub(0x30, []byte{0}), want: []string{"close"}, violation: "PUBLISH of 1 bytes"},
		{name: "PUBLISH of 0 bytes", send: pub(0x30, nil), want: []string{"close"}, violation: "PUBLISH of 0 bytes"},
		{name: "PUBLISH QoS 1 without identifier", send: pub(0x32, []byte{0, 1, 't', 0}), want: []string{"close"}, violation: "PUBLISH without its packet identifier"},
		{name: "PUBLISH QoS 1 identifier 0", send: pub(0x32, topicBody("t", 0, 0)), want: []string{"close"}, violation: "PUBLISH with packet identifier 0"},
		{name: "PUBLISH QoS 2 identifier 0", send: pub(0x34, topicBody("t", 0, 0)), want: []string{"close"}, violation: "PUBLISH with packet identifier 0"},
		{name: "PUBLISH empty topic", send: pub(0x30, topicBody("")), want: []string{"close"}, violation: "PUBLISH with an empty topic name"},
		{name: "PUBLISH topic with NUL", send: pub(0x30, topicBody("a\x00b")), want: []string{"close"}, violation: "contains U+0000"},
		{name: "PUBLISH topic with invalid UTF-8", send: pub(0x30, topicBody("a\xffb")), want: []string{"close"}, violation: "not well-formed UTF-8"},
		{name: "PUBLISH topic with a surrogate", send: pub(0x32, topicBody("\xed\xa0\x80", 0, 1)), want: []string{"close"}, violation: "not well-formed UTF-8"},
		{name: "PUBLISH topic truncated UTF-8", send: pub(0x30, topicBody("a\xc3")), want: []string{"close"}, violation: "not well-formed UTF-8"},
		{name: "PUBLISH topic with +", send: pub(0x30, topicBody("a/+/b")), want: []string{"close"}, violation: "contains a wildcard"},
		{name: "PUBLISH topic #", send: pub(0x34, topicBody("#", 0, 1)), want: []string{"close"}, violation: "contains a wildcard"},
		{name: "PUBLISH topic with a control character is delivered", ops: []string{"sub"}, send: delivered(0x30, topicBody("a\x01b")),
			want: []string{"sub 0", "message a\x01b m false"}, stays: true},
		{name: "PUBLISH topic $SYS is delivered", ops: []string{"sub"}, send: delivered(0x30, topicBody("$SYS/x")),
			want: []string{"sub 0", "message $SYS/x m false"}, stays: true},
		{name: "PUBLISH QoS 0 with DUP is delivered", ops: []string{"sub"}, send: delivered(0x38, topicBody("d")),
			want: []string{"sub 0", "message d m false"}, stays: true},
		{name: "PUBLISH with U+FFFD is delivered", ops: []string{"sub"}, send: delivered(0x32, topicBody("a\uFFFD", 0, 3)),
			want: []string{"sub 0", "message a\uFFFD m false"}, stays: true},
		{name: "PUBLISH topic of 300 bytes is delivered", ops: []string{"sub"}, send: delivered(0x34, topicBody(strings.Repeat("t", 300), 1, 0)),
			want: []string{"sub 0", "message " + strings.Repeat("t", 300) + " m false"}, stays: true},
	}
	return cases
}

// TestHostileBrokerPackets (issue 17 items 1 and 11) sends each hostile packet to a Session: no
// panic, the protocol_error traced names the fault, the connection is closed and the
// operation the packet answered fails with its own code (others in flight with 11); packets
// MQTT allows change nothing.
func TestHostileBrokerPackets(t *testing.T) {
	for _, tc := range hostileCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			runHostileCase(t, tc)
		})
	}
}

func runHostileCase(t *testing.T, tc hostileCase) {
	f := hostileBroker(t, tc.hello, len(tc.ops), tc.send)
	h, log := tracedHost()
	o := fastOptions()
	o.ReconnectCount = 0
	o.ConnectTimeout = 0
	r := newRecorder()
	s, err := h.Connect(f.URL(), o, mqttcore.TLSSettings{}, r.events())
	if err != nil {
		t.Fatal(err)
	}
	if tc.hello == nil {
		r.expect(t, "connect")
	}
	for _, op := range tc.ops {
		var err error
		switch op {
		case "sub":
			err = s.Subscribe("s/#", mqttcore.SubscribeOptions{QoS: 1}, r.done("sub"))
		case "unsub":
			err = s.Unsubscribe("u", r.done("unsub"))
		case "pub1", "pub2":
			err = s.Publish("p", []byte("x"), mqttcore.PublishOptions{QoS: op[3] - '0'}, r.done("pub"))
		}
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
	}
	r.expect(t, tc.want...)
	isViolation := func(e mqttcore.TraceEvent) bool { return e.Kind == mqttcore.TraceProtocolError }
	if tc.violation == "" {
		r.quiet(t, 100*time.Millisecond)
		if e, found := log.find(isViolation); found {
			t.Fatalf("protocol_error traced: %+v", e)
		}
	} else {
		e := log.waitFor(t, "protocol_error", isViolation)
		if !strings.Contains(e.Err, tc.violation) {
			t.Errorf("protocol_error %q, want it to contain %q", e.Err, tc.violation)
		}
		if tc.hello != nil && s.ErrnoConnect() != mqttcore.ErrnoConnectionFailed {
			t.Errorf("errnoConnect %d, want 6", s.ErrnoConnect())
		}
	}
	if s.IsConnected() != tc.stays {
		t.Errorf("connected %v, want %v", s.IsConnected(), tc.stays)
	}
	if tc.stays { // the session still works: a subscribe is written (and never answered)
		if err := s.Subscribe("after", mqttcore.SubscribeOptions{}, nil); err != nil {
			t.Errorf("subscribe after: %v", err)
		}
	}
	endAndWait(t, s)
}

// TestHostileBrokerConnackRefusal checks that CONNACK return codes 1 to 5 still reach paho:
// errnoConnect is the code, and no protocol_error is traced.
func TestHostileBrokerConnackRefusal(t *testing.T) {
	for rc := byte(1); rc <= 5; rc++ {
		t.Run(fmt.Sprint(rc), func(t *testing.T) {
			f := hostileBroker(t, []byte{0x20, 2, 0, rc}, 0, nil)
			h, log := tracedHost()
			o := fastOptions()
			o.ReconnectCount = 0
			o.ConnectTimeout = 0
			r := newRecorder()
			s, err := h.Connect(f.URL(), o, mqttcore.TLSSettings{}, r.events())
			if err != nil {
				t.Fatal(err)
			}
			r.expect(t, "error 1")
			if got := s.ErrnoConnect(); got != mqttcore.Errno(rc) {
				t.Errorf("errnoConnect %d, want %d", got, rc)
			}
			if e, found := log.find(func(e mqttcore.TraceEvent) bool { return e.Kind == mqttcore.TraceProtocolError }); found {
				t.Errorf("protocol_error traced: %+v", e)
			}
			endAndWait(t, s)
		})
	}
}

// FuzzHostileBroker sends arbitrary bytes after CONNACK while a SUBSCRIBE, an UNSUBSCRIBE and
// a QoS 2 PUBLISH are outstanding (identifiers 1, 2, 3), then closes the connection: the
// process must not panic, every operation completes exactly once and the session reports the
// loss. The seeds (run by the default suite) are the shapes of TestHostileBrokerPackets.
func FuzzHostileBroker(f *testing.F) {
	ids := reqIDs{1, 2, 3}
	for _, tc := range hostileCases() {
		if tc.hello == nil && tc.send != nil {
			f.Add(tc.send(ids))
		}
	}
	f.Add(ids.subackOf(0, 0, 1, 2))
	f.Add(append(ids.subackOf(0, 1), append(ids.ackOf(0xB0, 1), ids.ackOf(0x50, 2)...)...))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		// The broker is the other end of an in-memory pipe (no loopback port per input: the
		// fuzzer runs thousands a second).
		var wg sync.WaitGroup
		defer wg.Wait()
		dial := func(context.Context, string, string) (net.Conn, error) {
			client, server := net.Pipe()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer server.Close()
				if _, _, err := testbroker.ReadPacket(server); err != nil {
					return
				}
				if _, err := server.Write([]byte{0x20, 2, 0, 0}); err != nil {
					return
				}
				for n := 0; n < 3; {
					h, body, err := testbroker.ReadPacket(server)
					if err != nil {
						return
					}
					if _, ok := requestID(h, body); ok {
						n++
					}
				}
				_, _ = server.Write(data) // returns once the device has read it all
			}()
			return client, nil
		}
		h := mqttcore.NewHost(mqttcore.HostConfig{Clock: fastClock{scale: 100}, Dial: dial})
		o := fastOptions()
		o.ReconnectCount = 0
		o.ConnectTimeout = 0 // device time runs 100 times faster: no timeout on a loaded machine
		r := newRecorder()
		s := connected(t, h, "mqtt://broker.local:1883", o, r)
		done := map[string]int{}
		_ = s.Subscribe("a/#", mqttcore.SubscribeOptions{QoS: 1}, r.done("sub"))
		_ = s.Unsubscribe("b", r.done("unsub"))
		_ = s.Publish("c", []byte("x"), mqttcore.PublishOptions{QoS: 2}, r.done("pub"))
		for closed := false; !closed || len(done) < 3; {
			e := r.next(t)
			switch {
			case e == "close":
				closed = true
			case strings.HasPrefix(e, "message "):
			default:
				name, _, _ := strings.Cut(e, " ")
				done[name]++
				if done[name] > 1 {
					t.Fatalf("%s completed twice", name)
				}
			}
		}
		endAndWait(t, s)
	})
}
