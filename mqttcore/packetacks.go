package mqttcore

import (
	"errors"
	"fmt"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/devicejs/devicejs/internal/mqttwire"
)

// Acknowledgements checked against what was asked. paho completes whichever token carries an
// acknowledgement's packet identifier: a PUBACK completes a subscribe, a SUBACK a publish, and a
// SUBACK with more return codes than its SUBSCRIBE had filters panics paho's reader goroutine
// (index out of range: the host process dies, no recover can catch it). paho also completes a
// publish on whichever of PUBACK or PUBCOMP carries its identifier, so a broker that downgrades
// QoS 2 to 1 and answers PUBACK (RabbitMQ does) would be reported as a completed QoS 2 publish.
//
// The guard therefore remembers each request it writes that the broker must acknowledge (QoS 1
// and 2 PUBLISH, SUBSCRIBE with its filter count, UNSUBSCRIBE) and checks every acknowledgement
// against it before paho sees it (inboundcheck.go checks each packet's shape first): the wrong
// acknowledgement is a protocol violation (MQTT 3.1.1 section 4.8: the client closes the network
// connection; Paho's interoperability client fails the same way). The operation it answered
// completes with its failure code (12, 13 or 14) and the connection is closed
// (docs/device-semantics.md "Protocol violations by the broker"). An acknowledgement of an
// identifier that has nothing outstanding is dropped: it would complete nothing in paho, or a
// token paho has created but not written yet.

// errProtocol is a protocol violation by the broker; the guard closes the connection.
var errProtocol = errors.New("mqttcore: protocol violation by the broker")

// The request kinds remembered (the packet type written).
const (
	reqPublish     = 3
	reqSubscribe   = 8
	reqUnsubscribe = 10
)

// pendingAck is a written request awaiting its acknowledgement. Packet identifiers are unique
// among outstanding requests (paho never reuses one in use; direct publishes use one paho
// does not have in flight), so there are at most 65,535 of them.
type pendingAck struct {
	id      uint16
	typ     byte   // reqPublish, reqSubscribe or reqUnsubscribe
	qos     byte   // PUBLISH: 1 or 2
	rec     bool   // QoS 2: PUBREC received, PUBCOMP next
	filters int    // SUBSCRIBE: number of topic filters (one return code each in the SUBACK)
	filter  string // SUBSCRIBE, UNSUBSCRIBE: the first topic filter (identifies the operation)
}

// String names the request, e.g. "QoS 2 PUBLISH 1", "SUBSCRIBE 3".
func (p pendingAck) String() string {
	if p.typ == reqPublish {
		return fmt.Sprintf("QoS %d PUBLISH %d", p.qos, p.id)
	}
	return fmt.Sprintf("%s %d", mqttwire.TypeName(p.typ), p.id)
}

// ackWatch holds the written requests awaiting acknowledgement. Safe from any goroutine. An
// idle connection holds no memory in it.
type ackWatch struct {
	mu      sync.Mutex
	pending []pendingAck

	// handed is the request of the latest acknowledgement handed to paho that completes an
	// operation (PUBACK, PUBCOMP, SUBACK, UNSUBACK); the reading goroutine only.
	handed pendingAck
}

// sent records a QoS 1 or 2 PUBLISH with packet identifier id.
func (w *ackWatch) sent(id uint16, qos byte) {
	w.add(pendingAck{id: id, typ: reqPublish, qos: qos})
}

// add records p, replacing an older request with the same identifier.
func (w *ackWatch) add(p pendingAck) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := range w.pending {
		if w.pending[i].id == p.id {
			w.pending[i] = p
			return
		}
	}
	w.pending = append(w.pending, p)
}

// wrote records the request in the whole packet p that is about to be written, if p is one
// that the broker acknowledges.
func (w *ackWatch) wrote(p []byte) {
	if qos, id, ok := publishID(p); ok {
		w.sent(id, qos)
		return
	}
	if req, ok := requestOf(p); ok {
		w.add(req)
	}
}

// ackVerdict is the outcome of checking an acknowledgement.
type ackVerdict struct {
	bad   string     // what is wrong; "" when the acknowledgement is acceptable
	known bool       // it acknowledges a remembered request (else it is dropped)
	asked pendingAck // the request it acknowledges, when known
}

// received checks an acknowledgement (packet type 4 PUBACK, 5 PUBREC, 7 PUBCOMP, 9 SUBACK with
// return codes codes, or 11 UNSUBACK) for id against the request it answers.
func (w *ackWatch) received(typ byte, id uint16, codes []byte) ackVerdict {
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
		return ackVerdict{}
	}
	p := &w.pending[i]
	v := ackVerdict{known: true, asked: *p}
	switch {
	case p.typ == reqPublish && p.qos == 1 && typ == 4,
		p.typ == reqPublish && p.qos == 2 && p.rec && typ == 7,
		p.typ == reqUnsubscribe && typ == 11:
	case p.typ == reqPublish && p.qos == 2 && typ == 5:
		p.rec = true // a repeated PUBREC is allowed: paho answers it with PUBREL again
		return v
	case p.typ == reqSubscribe && typ == 9:
		if len(codes) != p.filters {
			v.bad = fmt.Sprintf("SUBACK with %d return codes for %s of %d filter(s)", len(codes), p, p.filters)
		}
	case p.typ == reqPublish && p.qos == 2 && typ == 7:
		v.bad = "PUBCOMP before PUBREC for " + p.String()
	default:
		v.bad = mqttwire.TypeName(typ) + " for " + p.String()
	}
	w.pending = append(w.pending[:i], w.pending[i+1:]...)
	if len(w.pending) == 0 {
		w.pending = nil
	}
	return v
}

// take removes and returns the request with identifier id, if one is outstanding.
func (w *ackWatch) take(id uint16) (pendingAck, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, p := range w.pending {
		if p.id == id {
			w.pending = append(w.pending[:i], w.pending[i+1:]...)
			if len(w.pending) == 0 {
				w.pending = nil
			}
			return p, true
		}
	}
	return pendingAck{}, false
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

// requestOf returns the request in the SUBSCRIBE or UNSUBSCRIBE packet p (one whole packet as
// written): its identifier, its first filter and, for SUBSCRIBE, its number of filters. ok is
// false for any other packet or a truncated one.
func requestOf(p []byte) (req pendingAck, ok bool) {
	if len(p) == 0 || (p[0] != 0x82 && p[0] != 0xA2) {
		return req, false
	}
	n, hdr, ok := remainingLength(p)
	if !ok || hdr+n > len(p) || n < 2 {
		return req, false
	}
	body := p[hdr : hdr+n]
	req = pendingAck{id: uint16(body[0])<<8 | uint16(body[1]), typ: p[0] >> 4}
	step := 2 // string length prefix
	if req.typ == reqSubscribe {
		step = 3 // and the requested QoS
	}
	for rest := body[2:]; len(rest) >= 2; {
		l := int(rest[0])<<8 | int(rest[1])
		if l+step > len(rest) {
			return req, false
		}
		if req.filters == 0 {
			req.filter = string(rest[2 : 2+l])
		}
		req.filters++
		rest = rest[l+step:]
	}
	return req, req.filters > 0
}

// maxHandedWait bounds how long a protocol violation waits for paho to complete the operation
// acknowledged just before it (awaitHanded). paho does it at once on its comms goroutine; the
// bound only matters if that goroutine is stuck (a write blocked up to writeTimeout).
const maxHandedWait = 2 * time.Second

// awaitHanded waits, on the reading goroutine before a protocol violation closes the connection,
// until paho has completed the operation whose acknowledgement (asked) it was handed last. The
// guard declares the loss as soon as a read fails, and paho completes a token on another
// goroutine after its reader has moved on: without the wait a SUBACK read just before the
// violating packet would be reported as 11 instead of the broker's answer. paho handles
// packets in order, so the latest one completed means all earlier ones are.
func (c *connection) awaitHanded(asked pendingAck) {
	if asked.typ == 0 {
		return
	}
	deadline := time.Now().Add(maxHandedWait)
	for {
		tok, found := c.handedToken(asked)
		switch {
		case !found: // completed already
			return
		case tok != nil:
			t := time.NewTimer(time.Until(deadline))
			defer t.Stop()
			select {
			case <-tok.Done():
			case <-t.C:
			}
			return
		case time.Now().After(deadline):
			return
		}
		// The acknowledgement came back before paho's call returned the token to the
		// goroutine that issued the operation (issueLocked): it is stored in a moment.
		time.Sleep(time.Millisecond)
	}
}

// handedToken finds the operation in flight that asked is the request of and returns its paho
// token (nil while not yet stored); found is false when no such operation is in flight.
func (c *connection) handedToken(asked pendingAck) (tok paho.Token, found bool) {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.ops {
		if o.fin || o.direct {
			continue
		}
		if (asked.typ == reqPublish && o.kind == opPublish) ||
			(asked.typ == reqSubscribe && o.kind == opSubscribe && o.topic == asked.filter) ||
			(asked.typ == reqUnsubscribe && o.kind == opUnsubscribe && o.topic == asked.filter) {
			return o.tok, true
		}
	}
	return nil, false
}

// protocolViolation is called by the guard, on the reader goroutine, when the broker broke
// the protocol: it traces it (packet, identifier when hasID, what is wrong) and, when the
// packet answered an outstanding request (asked.typ != 0), marks the operation it answered to
// complete with its failure code when the connection, which the guard closes, is dropped. A
// violation before CONNACK is traced for the attempt; the attempt then fails.
func (c *connection) protocolViolation(packet string, id uint16, hasID bool, msg string, asked pendingAck) {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != c && (s.att == nil || s.att != c.att) {
		return
	}
	s.trace(TraceEvent{Kind: TraceProtocolError, Packet: packet, PacketID: id, HasID: hasID, Err: msg})
	if s.conn != c || c.violated != nil {
		return
	}
	switch asked.typ {
	case reqPublish:
		if o := s.pub; o != nil && !o.fin && o.qos > 0 {
			c.violated = o
		}
	case reqSubscribe, reqUnsubscribe:
		kind := opSubscribe
		if asked.typ == reqUnsubscribe {
			kind = opUnsubscribe
		}
		for _, o := range s.ops {
			if o.kind == kind && o.topic == asked.filter && !o.fin {
				c.violated = o
				break
			}
		}
	}
}
