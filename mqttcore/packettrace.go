package mqttcore

import (
	"fmt"

	"github.com/devicejs/devicejs/internal/mqttwire"
)

// Packet-level trace (docs/trace.md). The connection wrapper (guardConn) sees every byte both
// ways; when HostConfig.PacketTrace is set it parses the MQTT 3.1.1 framing of what it writes
// and reads into TracePacket events. The parsers below work on whole packets held in memory,
// never read from the network themselves, and every loop consumes at least one byte per step,
// so a hostile or broken byte stream costs at most a pass over its own bytes.

// Directions of a TracePacket event.
const (
	DirSend = "send" // written to the broker
	DirRecv = "recv" // read from the broker
)

// PacketName returns the name of the MQTT control packet whose fixed header's first byte is h,
// e.g. "PUBLISH"; types 0 and 15 are "RESERVED".
func PacketName(h byte) string { return mqttwire.PacketName(h) }

// packetTracer emits the packet events of one connection. Its methods are safe from any
// goroutine (the reader and every writer call them).
type packetTracer struct {
	s      *Session
	broker string
	emit   func(TraceEvent)
}

// newPacketTracer returns the tracer of a connection of s, or nil when packets are not traced.
func newPacketTracer(s *Session) *packetTracer {
	if s == nil || s.h.packetTrace == nil {
		return nil
	}
	return &packetTracer{s: s, broker: s.ep.String(), emit: s.h.packetTrace}
}

// packet emits the event of one whole packet: header byte h, remaining length n, hdr bytes of
// fixed header and body (nil when the body was not read, e.g. too large to buffer).
func (t *packetTracer) packet(dir string, h byte, hdr int, body []byte, n int) {
	e := parsePacket(h, body)
	if body == nil && n > 0 {
		e.Err = fmt.Sprintf("body of %d bytes not parsed", n)
	}
	e.Size = hdr + n
	t.send(dir, e)
}

// send fills in what every packet event carries and emits e.
func (t *packetTracer) send(dir string, e TraceEvent) {
	e.Kind = TracePacket
	e.Dir = dir
	e.Time = t.s.h.clock.Now()
	e.ClientID = t.s.clientID
	e.Broker = t.broker
	t.emit(e)
}

// stream emits one event per packet in b, bytes written in one go: whole packets, the last
// one possibly cut short (then reported with Err).
func (t *packetTracer) stream(dir string, b []byte) {
	for len(b) > 0 {
		n, hdr, ok := remainingLength(b)
		if !ok || hdr+n > len(b) {
			e := TraceEvent{Packet: PacketName(b[0]), Size: len(b), Err: "truncated packet"}
			if !ok && len(b) >= 5 {
				e.Err = "remaining length longer than 4 bytes"
			}
			t.send(dir, e)
			return
		}
		t.packet(dir, b[0], hdr, b[hdr:hdr+n], n)
		b = b[hdr+n:]
	}
}

// remainingLength decodes the remaining length of the packet starting at b[0]
// (mqttwire.DecodeLength): it returns the length, the size of the fixed header, and false when
// b ends first or the encoding is longer than the 4 bytes MQTT allows.
func remainingLength(b []byte) (n, hdr int, ok bool) {
	n, hdr, err := mqttwire.DecodeLength(b)
	return n, hdr, err == nil && hdr > 0
}

// parsePacket describes one packet (first byte h, body) as a TracePacket event without time
// or identity. A body that does not hold what the packet type requires sets Err; the fields
// parsed before the fault are kept.
func parsePacket(h byte, body []byte) TraceEvent {
	e := TraceEvent{Packet: PacketName(h)}
	if body == nil {
		return e
	}
	r := &bodyReader{b: body}
	switch h >> 4 {
	case 1:
		parseConnect(r, &e)
	case 2:
		if len(body) >= 2 {
			e.SessionPresent = body[0]&1 == 1
			e.ReturnCode = body[1]
		} else {
			r.err = "short CONNACK"
		}
	case 3:
		parsePublish(h, r, &e)
	case 4, 5, 6, 7, 11:
		e.PacketID, e.HasID = r.uint16()
	case 8:
		e.PacketID, e.HasID = r.uint16()
		for !r.done() && r.err == "" {
			topic := r.string()
			qos, _ := r.byte()
			if e.Filters == 0 {
				e.Topic, e.QoS = topic, qos
			}
			e.Filters++
		}
	case 9:
		e.PacketID, e.HasID = r.uint16()
		if e.HasID {
			e.Granted = append([]byte(nil), r.b...)
		}
	case 10:
		e.PacketID, e.HasID = r.uint16()
		for !r.done() && r.err == "" {
			topic := r.string()
			if e.Filters == 0 {
				e.Topic = topic
			}
			e.Filters++
		}
	}
	e.Err = r.err
	return e
}

// parseConnect reads a CONNECT's variable header and the flags of its payload; user name and
// password are noted as present, never read.
func parseConnect(r *bodyReader, e *TraceEvent) {
	_ = r.string() // protocol name
	e.ProtocolLevel, _ = r.byte()
	flags, _ := r.byte()
	e.KeepAlive, _ = r.uint16()
	e.CleanSession = flags&0x02 != 0
	e.Will = flags&0x04 != 0
	e.Username = flags&0x80 != 0
	e.Password = flags&0x40 != 0
}

// parsePublish reads a PUBLISH: flags from h, topic, packet identifier (QoS 1 and 2), payload
// size.
func parsePublish(h byte, r *bodyReader, e *TraceEvent) {
	e.QoS = h >> 1 & 3
	e.Dup = h&0x08 != 0
	e.Retain = h&0x01 != 0
	e.Topic = r.string()
	if e.QoS == 1 || e.QoS == 2 {
		e.PacketID, e.HasID = r.uint16()
	}
	if e.QoS == 3 && r.err == "" {
		r.err = "PUBLISH with QoS 3"
	}
	e.Bytes = len(r.b)
}

// bodyReader reads the fields of a packet body; the first fault is kept in err and every read
// after it returns zero values.
type bodyReader struct {
	b   []byte
	err string
}

func (r *bodyReader) done() bool { return len(r.b) == 0 }

func (r *bodyReader) byte() (byte, bool) {
	if r.err != "" || len(r.b) < 1 {
		r.fault("packet ends early")
		return 0, false
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c, true
}

func (r *bodyReader) uint16() (uint16, bool) {
	if r.err != "" || len(r.b) < 2 {
		r.fault("packet ends early")
		return 0, false
	}
	v := uint16(r.b[0])<<8 | uint16(r.b[1])
	r.b = r.b[2:]
	return v, true
}

// string reads a length-prefixed UTF-8 string (MQTT 3.1.1 section 1.5.3).
func (r *bodyReader) string() string {
	n, ok := r.uint16()
	if !ok {
		return ""
	}
	if int(n) > len(r.b) {
		r.fault("string longer than the packet")
		r.b = nil
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *bodyReader) fault(msg string) {
	if r.err == "" {
		r.err = msg
	}
}
