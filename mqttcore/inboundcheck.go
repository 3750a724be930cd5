package mqttcore

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/devicejs/devicejs/internal/mqttwire"
)

// Every packet from the broker is checked here, on the guard's reading goroutine, before paho
// or the session sees it (issue 17): its type, fixed header flags and remaining length against
// MQTT 3.1.1, each field it carries, and every acknowledgement against the request it answers
// (packetacks.go). A packet that fails is a protocol violation: it is traced (protocol_error),
// the connection is closed (MQTT 3.1.1 section 4.8) and paho never reads it. paho trusts what
// it reads (a SUBACK with more return codes than the SUBSCRIBE had filters panics its reader
// goroutine, which kills the host process), so nothing unchecked reaches it.
// docs/device-semantics.md "Protocol violations by the broker" lists the rules.

// maxSubackLen bounds a SUBACK's remaining length: devicejs subscribes to one filter per
// SUBACK, and every packet handed to paho fits the read buffer.
const maxSubackLen = readBufSize - 8

// shapeOf checks the fixed header byte h and remaining length n of a packet other than a PUBLISH
// read after the CONNACK; connack tells whether the CONNACK was read. It returns what is wrong,
// or "".
func shapeOf(h byte, n int, connack bool) string {
	typ, flags := h>>4, h&0x0F
	name := mqttwire.TypeName(typ)
	switch {
	case !connack && typ != 2:
		return fmt.Sprintf("%s before CONNACK (the first packet from the broker must be CONNACK)", name)
	case typ == 2 && connack:
		return "a second CONNACK"
	case typ == 0 || typ == 15:
		return fmt.Sprintf("reserved packet type %d", typ)
	case typ == 1 || typ == 8 || typ == 10 || typ == 12:
		return name + " from the broker (only a client sends it)"
	case typ == 3:
		return "" // a PUBLISH read without a session (g.in nil): its fields are checked by splitPublish
	case typ == 6 && flags != 2, typ != 6 && flags != 0:
		return fmt.Sprintf("%s with fixed header flags 0x%X", name, flags)
	case (typ == 13 || typ == 14) && n != 0:
		// A DISCONNECT is an MQTT 5 packet from a server, but mochi sends one (without a
		// reason code) to 3.1.1 clients when it shuts down: it passes (paho ignores it) and
		// the broker's close follows.
		return fmt.Sprintf("%s with remaining length %d, want 0", name, n)
	case typ == 9 && (n < 3 || n > maxSubackLen):
		return fmt.Sprintf("SUBACK with remaining length %d", n)
	case typ != 9 && typ != 13 && typ != 14 && n != 2:
		return fmt.Sprintf("%s with remaining length %d, want 2", name, n)
	}
	return ""
}

// connackFault checks the body of a CONNACK of the right length: the reserved acknowledge flags
// must be 0 [MQTT-3.2.2-1] and the return code one of 0 to 5 (6 to 255 are reserved).
func connackFault(body []byte) string {
	switch {
	case body[0]&0xFE != 0:
		return fmt.Sprintf("CONNACK acknowledge flags 0x%02X (reserved bits set)", body[0])
	case body[1] > 5:
		return fmt.Sprintf("CONNACK return code %d (reserved)", body[1])
	}
	return ""
}

// subackCodeFault checks SUBACK return codes: 0x00, 0x01, 0x02 or 0x80; the others are
// reserved and MUST NOT be used (MQTT 3.1.1 section 3.9.3).
func subackCodeFault(codes []byte) string {
	for _, c := range codes {
		if c > 2 && c != 0x80 {
			return fmt.Sprintf("SUBACK return code 0x%02X (reserved)", c)
		}
	}
	return ""
}

// splitPublish splits the body of a PUBLISH with fixed header byte h into topic, packet
// identifier (QoS 1 and 2) and payload, and checks every field: QoS 3 [MQTT-3.3.1-4], a topic
// length within the packet, a packet identifier present and not 0 [MQTT-2.3.1-1], and a
// valid topic name (receivedTopicFault). bad is what is wrong, or "".
func splitPublish(h byte, body []byte) (topic string, id [2]byte, hasID bool, payload []byte, bad string) {
	qos := h >> 1 & 3
	if qos == 3 {
		return "", id, false, nil, "PUBLISH with QoS 3"
	}
	if len(body) < 2 {
		return "", id, false, nil, fmt.Sprintf("PUBLISH of %d bytes (no topic length)", len(body))
	}
	tl := int(body[0])<<8 | int(body[1])
	rest := body[2:]
	if tl > len(rest) {
		return "", id, false, nil, fmt.Sprintf("PUBLISH topic length %d past the end of the packet (%d bytes left)", tl, len(rest))
	}
	topic, rest = string(rest[:tl]), rest[tl:]
	if qos > 0 {
		if len(rest) < 2 {
			return topic, id, false, nil, "PUBLISH without its packet identifier"
		}
		id, rest, hasID = [2]byte{rest[0], rest[1]}, rest[2:], true
		if id == [2]byte{} {
			return topic, id, true, nil, "PUBLISH with packet identifier 0"
		}
	}
	if f := receivedTopicFault(topic); f != "" {
		return topic, id, hasID, nil, "PUBLISH " + f
	}
	return topic, id, hasID, rest, ""
}

// receivedTopicFault checks the topic name of a PUBLISH from the broker against what MQTT 3.1.1
// requires of every topic name: at least one character [MQTT-4.7.3-1], well-formed UTF-8
// without surrogates [MQTT-1.5.3-1], no U+0000 [MQTT-1.5.3-2, MQTT-4.7.3-2] and no wildcard
// [MQTT-3.3.2-2]. Control characters (SHOULD NOT) and names longer than the device's 127 bytes
// are delivered: MQTT allows them and the receive buffer check applies to the length.
func receivedTopicFault(t string) string {
	switch {
	case t == "":
		return "with an empty topic name"
	case !utf8.ValidString(t):
		return "topic name is not well-formed UTF-8"
	case strings.IndexByte(t, 0) >= 0:
		return "topic name contains U+0000"
	case strings.ContainsAny(t, "+#"):
		return fmt.Sprintf("topic name %q contains a wildcard", t)
	}
	return ""
}

// violation reports a protocol violation by the broker in the packet with fixed header byte h
// (see protocolViolation) and returns the error that closes the connection.
func (g *guardConn) violation(h byte, id uint16, hasID bool, msg string, asked pendingAck) error {
	if g.in != nil {
		g.in.protocolViolation(PacketName(h), id, hasID, msg, asked)
		g.in.awaitHanded(g.acks.handed)
	}
	return fmt.Errorf("%w: %s", errProtocol, msg)
}

// control checks a packet other than a PUBLISH handled by the session (fixed header byte h, hdr
// bytes of fixed header, remaining length n; the fixed header is buffered) and hands it to
// paho, drops it (an acknowledgement of nothing outstanding, a PUBACK of a direct publish, which
// completes here) or fails the connection.
func (g *guardConn) control(h byte, hdr, n int) error {
	typ := h >> 4
	if msg := shapeOf(h, n, g.connack); msg != "" {
		if !g.connack || n < 2 || (typ != 4 && typ != 5 && typ != 7 && typ != 9 && typ != 11) {
			return g.violation(h, 0, false, msg, pendingAck{})
		}
		// A malformed acknowledgement: the operation it names fails with its own code.
		if err := g.fill(hdr + 2); err != nil {
			return err
		}
		b := g.buffered()
		id := uint16(b[hdr])<<8 | uint16(b[hdr+1])
		asked, _ := g.acks.take(id)
		return g.violation(h, id, true, msg, asked)
	}
	if typ == 13 && g.ka != nil { // PINGRESP: the session's keepalive sent the PINGREQ, not paho
		g.ka.pongs.Add(1)
		g.consume(hdr + n)
		return nil
	}
	if typ == 3 && hdr+n > readBufSize { // no session to take it (g.in nil): paho reads it
		g.pass = hdr + n
		return nil
	}
	if err := g.fill(hdr + n); err != nil {
		return err
	}
	body := g.buffered()[hdr : hdr+n]
	var v ackVerdict
	switch typ {
	case 2:
		if msg := connackFault(body); msg != "" {
			return g.violation(h, 0, false, msg, pendingAck{})
		}
		g.connack = true
	case 3:
		if _, id, hasID, _, msg := splitPublish(h, body); msg != "" {
			return g.violation(h, uint16(id[0])<<8|uint16(id[1]), hasID, msg, pendingAck{})
		}
	case 4, 5, 7, 9, 11:
		id := uint16(body[0])<<8 | uint16(body[1])
		var codes []byte
		if typ == 9 {
			codes = body[2:]
		}
		v = g.acks.received(typ, id, codes)
		if v.bad == "" {
			v.bad = subackCodeFault(codes)
		}
		if v.bad != "" {
			return g.violation(h, id, true, v.bad, v.asked)
		}
		if !v.known { // nothing outstanding: it would complete nothing, or a token not yet written
			g.consume(hdr + n)
			return nil
		}
		if typ == 4 && g.in != nil && g.in.handlePuback(id) { // the guard's own PUBACK
			g.consume(hdr + n)
			return nil
		}
	}
	if g.in != nil && completesOperation(h) {
		g.in.noteAckToPaho()
		g.acks.handed = v.asked
	}
	g.pass = hdr + n
	return nil
}
