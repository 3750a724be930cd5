package mqttcore

import (
	"time"
)

// Direct publishes (docs/performance.md). paho hands every PUBLISH through two goroutines (a
// forwarder and its writer), reports it on a token that a third goroutine of ours waits for,
// and passes a PUBACK through two more: four or more goroutine hand-offs for one socket write
// and one read. When nothing else of the session is in flight, a QoS 0 or QoS 1 PUBLISH is
// instead encoded here into the connection's send buffer (sendBuffSize bytes, as on the
// device), which a goroutine writes as soon as it runs; a full buffer is written at once with
// one non-blocking write on the caller's goroutine. Completion 0 means: QoS 0, the packet is in
// the send buffer (and will be written unless the connection fails first, like the bytes in
// the kernel's buffer); QoS 1, its PUBACK arrived (read by the guard, guardread.go). A write
// that would block is finished on a goroutine (Publish never blocks on the network), and any
// other case (QoS 2, TLS, an operation in flight) takes paho's path.

// directPacketID is the packet identifier of direct QoS 1 publishes. It never clashes with
// paho's: a direct publish is only written when no operation is in flight, and operations
// issued after it are handed to paho only once it has completed (the issue chain).
const directPacketID = 0xFFFF

// publishDirectLocked tries to take publish o directly. It reports false, having done nothing,
// when o must go through paho: QoS 2, another operation in flight (its packet may still be
// queued in paho, and the wire must keep the issue order), a connection that does not offer
// non-blocking writes (TLS, in-memory), or a full send buffer while a write is in progress.
//
// The packet goes into the connection's send buffer (the device's sendBuffSize), which a
// goroutine of the session writes as soon as it runs, together with whatever else was buffered
// meanwhile: chained publishes then share system calls, as the device's own send buffer and
// MQTT.js (one write per event-loop tick) do. A QoS 0 publish completes with 0 once it is in
// the buffer. When the buffer cannot take the packet, the buffer and the packet are written at
// once with one non-blocking write; what the socket does not take is finished on a goroutine,
// and a QoS 0 publish then completes when it is written.
func (s *Session) publishDirectLocked(o *op) bool {
	if o.qos > 1 || len(s.ops) != 0 {
		return false
	}
	c := s.conn
	g := c.att.guardConn()
	if g == nil || g.raw == nil || g.dead.Load() {
		return false
	}
	if o.qos == 1 {
		g.acks.sent(directPacketID, 1)
	}
	g.omu.Lock()
	if len(g.obuf)+publishLen(o) <= s.opts.SendBuffSize { // validated: at least MinBuffSize
		g.obuf = appendPublish(g.obuf, o)
		start := !g.flushing
		g.flushing = true
		g.omu.Unlock()
		s.trace(o.traceIssue())
		o.direct = true
		s.trackDirectLocked(c, o)
		if start {
			s.wg.Add(1)
			go s.flushSendBuffer(g)
		}
		if o.qos == 0 {
			s.stats.Published++
			s.completeLocked(o, OK)
		}
		return true
	}
	if !g.wmu.TryLock() { // a write is in progress: paho's path queues behind it
		g.omu.Unlock()
		return false
	}
	// g.wmu is held: nothing else can write until the packets are complete on the wire.
	g.wbuf = appendPublish(append(g.wbuf[:0], g.obuf...), o)
	g.obuf = nil
	g.omu.Unlock()
	s.trace(o.traceIssue())
	o.direct = true
	if g.tr != nil {
		g.tr.stream(DirSend, g.wbuf)
	}
	g.ka.sent()
	n, err := g.tryWrite(g.wbuf)
	if err == nil {
		s.trackDirectLocked(c, o)
	}
	switch {
	case err == nil && n == len(g.wbuf):
		g.wmu.Unlock()
		if o.qos == 0 {
			s.stats.Published++
			s.completeLocked(o, OK)
		}
	case err != nil:
		g.wmu.Unlock()
		g.fail()
		// The socket failed: the connection is lost now, in this critical section, so the
		// callback of o (11) already sees it, and close follows it (connFailed).
		s.completeLocked(o, Disconnected)
		s.lostLocked(c)
	default: // the socket buffer is full: finish the write off the caller's goroutine
		s.finishWrite(c, g, o, append([]byte(nil), g.wbuf[n:]...))
	}
	return true
}

// trackDirectLocked makes a direct QoS 1 publish o the operation in flight until its PUBACK
// (handlePuback) or the loss of the connection; operations issued meanwhile wait for it before
// reaching paho (packet identifiers, order).
func (s *Session) trackDirectLocked(c *connection, o *op) {
	if o.qos != 1 {
		return
	}
	s.ops = append(s.ops, o)
	issued, ended := make(chan struct{}), make(chan struct{})
	c.issued, c.ended = issued, ended
	c.directPub, c.directDone = o, func() { close(issued); close(ended) }
}

// flushSendBuffer writes the send buffer of g until it is empty; a failed write fails the
// connection, which is declared lost at once (connFailed).
func (s *Session) flushSendBuffer(g *guardConn) {
	defer s.wg.Done()
	for {
		g.omu.Lock()
		if len(g.obuf) == 0 {
			g.flushing = false
			g.omu.Unlock()
			return
		}
		g.omu.Unlock()
		g.wmu.Lock()
		err := g.writeLocked(nil)
		g.wmu.Unlock()
		if err != nil {
			g.omu.Lock()
			g.obuf, g.flushing = nil, false
			g.omu.Unlock()
			g.fail()
			s.connFailed(g.a)
			return
		}
	}
}

// finishWrite writes the rest of direct publish o on a goroutine, holding g.wmu until it is
// written, then completes a QoS 0 publish (a QoS 1 one waits for its PUBACK).
func (s *Session) finishWrite(c *connection, g *guardConn, o *op, rest []byte) {
	var prevEnded, ended chan struct{}
	if o.qos == 0 {
		s.ops = append(s.ops, o)
		prevEnded, ended = c.ended, make(chan struct{})
		c.ended = ended
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = g.Conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		g.ka.sent()
		_, err := g.Conn.Write(rest)
		g.wmu.Unlock()
		if err != nil {
			g.fail()
			s.connFailed(c.att) // completes o, in flight, with 11; then close
		}
		if o.qos != 0 {
			return // the PUBACK completes it, or the loss of the connection
		}
		defer close(ended)
		select {
		case <-prevEnded:
		case <-c.lost:
			return // completed by dropConnLocked
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.removeOpLocked(o)
		code := OK
		if err != nil {
			code = Disconnected
		} else if !o.fin {
			s.stats.Published++
		}
		s.completeLocked(o, code)
	}()
}

// handlePuback is called by the guard for each PUBACK: it completes the direct QoS 1 publish
// it acknowledges and reports true, or reports false (the PUBACK goes to paho). Reader
// goroutine.
func (c *connection) handlePuback(id uint16) bool {
	if id != directPacketID {
		return false
	}
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	o := c.directPub
	if o == nil {
		return false
	}
	c.directPub = nil
	done := c.directDone
	c.directDone = nil
	if !o.fin {
		s.removeOpLocked(o)
		s.stats.Published++
		s.completeLocked(o, OK)
	}
	done()
	return true
}

// removeOpLocked removes o from the operations in flight.
func (s *Session) removeOpLocked(o *op) {
	for i, x := range s.ops {
		if x == o {
			s.ops = append(s.ops[:i:i], s.ops[i+1:]...)
			return
		}
	}
}

// publishLen is the length of o's PUBLISH packet as appendPublish encodes it.
func publishLen(o *op) int {
	n := 2 + len(o.topic) + len(o.payload)
	if o.qos > 0 {
		n += 2
	}
	h := 1
	for k := n; k >= 128; k /= 128 {
		h++
	}
	return 1 + h + n
}

// appendPublish appends o's PUBLISH packet (MQTT 3.1.1 section 3.3; QoS 0 or 1) to b.
func appendPublish(b []byte, o *op) []byte {
	h := byte(0x30) | o.qos<<1
	if o.retain {
		h |= 0x01
	}
	n := 2 + len(o.topic) + len(o.payload)
	if o.qos > 0 {
		n += 2
		if o.dup {
			h |= 0x08
		}
	}
	b = append(b, h)
	for {
		d := byte(n % 128)
		n /= 128
		if n == 0 {
			b = append(b, d)
			break
		}
		b = append(b, d|0x80)
	}
	b = append(b, byte(len(o.topic)>>8), byte(len(o.topic)))
	b = append(b, o.topic...)
	if o.qos > 0 {
		b = append(b, directPacketID>>8, directPacketID&0xFF)
	}
	return append(b, o.payload...)
}
