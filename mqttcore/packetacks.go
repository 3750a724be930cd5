package mqttcore

import (
	"errors"
	"fmt"
	"sync"
)

// Acknowledgement types of sent PUBLISH packets. paho completes a publish on whichever of
// PUBACK or PUBCOMP carries its packet identifier, so a broker that downgrades QoS 2 to 1 and
// answers PUBACK (RabbitMQ does) would be reported as a completed QoS 2 publish. The guard
// remembers the QoS of each PUBLISH it writes and checks every PUBACK, PUBREC and PUBCOMP
// against it: the wrong acknowledgement is a protocol violation (MQTT 3.1.1 section 4.8: the
// client closes the network connection; Paho's interoperability client fails the same way).
// The publish completes with PublishFailed (12) and the connection is closed
// (docs/device-semantics.md "Protocol violations by the broker").

// errProtocol is a protocol violation by the broker; the guard closes the connection.
var errProtocol = errors.New("mqttcore: protocol violation by the broker")

// maxPendingAcks bounds the remembered publishes. devicejs has one publish in flight per
// session; the bound only protects against a broker that never acknowledges.
const maxPendingAcks = 16

// pendingAck is a sent QoS 1 or 2 PUBLISH awaiting its acknowledgement.
type pendingAck struct {
	id  uint16
	qos byte
	rec bool // QoS 2: PUBREC received, PUBCOMP next
}

// ackWatch holds the sent publishes awaiting acknowledgement. Safe from any goroutine.
type ackWatch struct {
	mu      sync.Mutex
	pending []pendingAck
}

// sent records a QoS 1 or 2 PUBLISH with packet identifier id, replacing an older one with
// the same identifier.
func (w *ackWatch) sent(id uint16, qos byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := range w.pending {
		if w.pending[i].id == id {
			w.pending[i] = pendingAck{id: id, qos: qos}
			return
		}
	}
	if len(w.pending) == maxPendingAcks {
		w.pending = append(w.pending[:0], w.pending[1:]...)
	}
	w.pending = append(w.pending, pendingAck{id: id, qos: qos})
}

// received checks an acknowledgement (packet type 4 PUBACK, 5 PUBREC or 7 PUBCOMP) for id. It
// returns "" when it is the one expected (or acknowledges nothing devicejs remembers: a stray
// acknowledgement is left to paho, which ignores it) and otherwise what is wrong.
func (w *ackWatch) received(typ byte, id uint16) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	i := -1
	for k := range w.pending {
		if w.pending[k].id == id {
			i = k
			break
		}
	}
	if i < 0 {
		return ""
	}
	p := &w.pending[i]
	var bad string
	switch {
	case p.qos == 1 && typ == 4, p.qos == 2 && p.rec && typ == 7:
		w.pending = append(w.pending[:i], w.pending[i+1:]...)
		return ""
	case p.qos == 2 && typ == 5:
		p.rec = true // a repeated PUBREC is allowed: paho answers it with PUBREL again
		return ""
	case p.qos == 2 && typ == 7:
		bad = "PUBCOMP before PUBREC"
	default:
		bad = packetNames[typ]
	}
	w.pending = append(w.pending[:i], w.pending[i+1:]...)
	return fmt.Sprintf("%s for QoS %d PUBLISH %d", bad, p.qos, id)
}

// publishID returns the QoS and packet identifier of the PUBLISH packet p (one whole packet
// as written), or ok false when p is not a QoS 1 or 2 PUBLISH or is too short.
func publishID(p []byte) (qos byte, id uint16, ok bool) {
	if len(p) == 0 || p[0]>>4 != 3 {
		return 0, 0, false
	}
	qos = p[0] >> 1 & 3
	if qos != 1 && qos != 2 {
		return 0, 0, false
	}
	_, hdr, ok := remainingLength(p)
	if !ok || hdr+2 > len(p) {
		return 0, 0, false
	}
	at := hdr + 2 + (int(p[hdr])<<8 | int(p[hdr+1]))
	if at+2 > len(p) {
		return 0, 0, false
	}
	return qos, uint16(p[at])<<8 | uint16(p[at+1]), true
}

// protocolViolation is called by the guard, on the reader goroutine, when the broker
// acknowledged a PUBLISH with the wrong packet: it traces it and marks the publish in flight
// to complete with PublishFailed when the connection, which the guard closes, is dropped.
func (c *connection) protocolViolation(packet string, id uint16, msg string) {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != c {
		return
	}
	s.trace(TraceEvent{Kind: TraceProtocolError, Packet: packet, PacketID: id, HasID: true, Err: msg})
	if o := s.pub; o != nil && !o.fin && o.qos > 0 {
		c.violated = o
	}
}
