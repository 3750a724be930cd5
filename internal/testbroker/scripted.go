package testbroker

import (
	"io"
	"net"
	"testing"

	"github.com/devicejs/devicejs/internal/mqttwire"
)

// Answer maps each MQTT packet a client writes (first byte h, body) to the bytes a scripted
// broker writes back; nil writes nothing.
type Answer func(h byte, body []byte) []byte

// Scripted starts a Fake broker that serves every connection with answer.Serve and returns
// its address. It is for tests of what a client does when a broker breaks the protocol
// (docs/reliability.md, issue 17).
func Scripted(t testing.TB, answer Answer) string {
	t.Helper()
	return Fake(t, answer.Serve).Addr()
}

// Serve is a Fake serve function: it reads packets (ReadPacket) and writes what a returns for
// each, CONNECT included, until a read or write fails, then closes the connection.
func (a Answer) Serve(c net.Conn) {
	defer c.Close()
	for {
		h, body, err := ReadPacket(c)
		if err != nil {
			return
		}
		if out := a(h, body); out != nil {
			if _, err := c.Write(out); err != nil {
				return
			}
		}
	}
}

// ReadPacket reads one MQTT packet from r: its first byte and its body.
func ReadPacket(r io.Reader) (byte, []byte, error) {
	return mqttwire.ReadPacket(r, mqttwire.MaxRemainingLength)
}

// Packet encodes an MQTT packet: header byte h, remaining length, body.
func Packet(h byte, body ...byte) []byte {
	return append(mqttwire.AppendLength([]byte{h}, len(body)), body...)
}

// Publish0 encodes a QoS 0 PUBLISH of payload to topic, whose bytes are used as given
// (invalid UTF-8, NUL and wildcards included).
func Publish0(topic string, payload ...byte) []byte {
	body := append([]byte{byte(len(topic) >> 8), byte(len(topic))}, topic...)
	return Packet(0x30, append(body, payload...)...)
}

// OnSubscribe is an Answer: CONNACK connack to CONNECT, PINGRESP to PINGREQ, and what reply
// returns (given the packet identifier's two bytes) to each SUBSCRIBE.
func OnSubscribe(connack []byte, reply func(id0, id1 byte) []byte) Answer {
	return func(h byte, body []byte) []byte {
		switch {
		case h>>4 == 1:
			return connack
		case h == 0x82 && reply != nil && len(body) >= 2:
			return reply(body[0], body[1])
		case h == 0xC0:
			return []byte{0xD0, 0}
		}
		return nil
	}
}

// HostileShape is one way a broker breaks MQTT 3.1.1 (or a control that it does not), with
// what HostileScript prints against it.
type HostileShape struct {
	Name   string
	Answer Answer
	Stdout string // HostileScript's output
}

// HostileScript is a device script that connects without retries, subscribes to "s/#" at
// QoS 1 once connected and prints "connect", "sub CODE", "message TOPIC" (JSON), "close" and
// "error CODE"; it ends itself at close and at error.
const HostileScript = `var c = mqtt.connect('mqtt://broker.local:1883', {reconnectCount: 0});
c.on('connect', function() {
  print('connect');
  c.subscribe('s/#', {qos: 1}, function(err) { print('sub ' + err.code); });
});
c.on('message', function(t, m) { print('message ' + JSON.stringify(t)); });
c.on('close', function() { print('close'); c.end(); });
c.on('error', function(e) { print('error ' + e.code); c.end(); });
`

// HostileShapes are the broker behaviours the hostile-broker tests of the binary, the fleet
// and the Go API run HostileScript against (issue 17 items 1 and 11).
func HostileShapes() []HostileShape {
	accept := []byte{0x20, 2, 0, 0}
	on := func(reply func(a, b byte) []byte) Answer { return OnSubscribe(accept, reply) }
	suback := func(codes ...byte) func(a, b byte) []byte {
		return func(a, b byte) []byte { return Packet(0x90, append([]byte{a, b}, codes...)...) }
	}
	then := func(first func(a, b byte) []byte, more []byte) func(a, b byte) []byte {
		return func(a, b byte) []byte { return append(first(a, b), more...) }
	}
	fixed := func(p ...byte) func(a, b byte) []byte { return func(byte, byte) []byte { return p } }
	hundred := make([]byte, 100)
	return []HostileShape{
		{"SUBACK with 2 return codes for 1 filter", on(suback(1, 1)), "connect\nsub 13\nclose\n"},
		{"SUBACK with 100 return codes", on(suback(hundred...)), "connect\nsub 13\nclose\n"},
		{"SUBACK with no return code", on(suback()), "connect\nsub 13\nclose\n"},
		{"SUBACK return code 0x03", on(suback(3)), "connect\nsub 13\nclose\n"},
		{"PUBACK for the SUBSCRIBE", on(func(a, b byte) []byte { return []byte{0x40, 2, a, b} }), "connect\nsub 13\nclose\n"},
		{"UNSUBACK for the SUBSCRIBE", on(func(a, b byte) []byte { return []byte{0xB0, 2, a, b} }), "connect\nsub 13\nclose\n"},
		{"a second CONNACK", on(fixed(0x20, 2, 0, 0)), "connect\nsub 11\nclose\n"},
		{"SUBSCRIBE from the broker", on(fixed(Packet(0x82, 0, 1, 0, 1, 'x', 0)...)), "connect\nsub 11\nclose\n"},
		{"reserved packet type 15", on(fixed(0xF0, 0)), "connect\nsub 11\nclose\n"},
		{"PINGRESP with a body", on(fixed(0xD0, 1, 0)), "connect\nsub 11\nclose\n"},
		{"PUBLISH topic with a wildcard", on(then(suback(1), Publish0("s/+", 'm'))), "connect\nsub 0\nclose\n"},
		{"PUBLISH topic with NUL", on(then(suback(1), Publish0("s/\x00", 'm'))), "connect\nsub 0\nclose\n"},
		{"PUBLISH topic with invalid UTF-8", on(then(suback(1), Publish0("s/\xff", 'm'))), "connect\nsub 0\nclose\n"},
		{"PUBLISH empty topic", on(then(suback(1), Publish0("", 'm'))), "connect\nsub 0\nclose\n"},
		{"PUBLISH QoS 3", on(then(suback(1), Packet(0x36, 0, 1, 's', 0, 1, 'm'))), "connect\nsub 0\nclose\n"},
		{"PUBLISH QoS 1 with packet identifier 0", on(then(suback(1), Packet(0x32, 0, 1, 's', 0, 0, 'm'))), "connect\nsub 0\nclose\n"},
		{"PUBLISH topic length past the packet", on(then(suback(1), Packet(0x30, 0, 50, 's'))), "connect\nsub 0\nclose\n"},
		{"CONNACK return code 0x80", OnSubscribe([]byte{0x20, 2, 0, 0x80}, nil), "error 1\n"},
		{"CONNACK reserved flags", OnSubscribe([]byte{0x20, 2, 0xFE, 0}, nil), "error 1\n"},
		{"CONNACK of 3 bytes", OnSubscribe([]byte{0x20, 3, 0, 0, 0}, nil), "error 1\n"},
		{"PUBLISH before CONNACK", OnSubscribe(append(Publish0("s/x", 'm'), accept...), nil), "error 1\n"},
		// Controls: what MQTT allows is delivered as before.
		{"valid SUBACK and message", on(then(suback(1), Publish0("s/a", 'm'))), "connect\nsub 0\nmessage \"s/a\"\n"},
		{"refused SUBACK", on(suback(0x80)), "connect\nsub 13\n"},
	}
}
