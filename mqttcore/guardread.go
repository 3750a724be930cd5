package mqttcore

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/devicejs/devicejs/internal/mqttwire"
)

// The incoming side of guardConn. paho reads a packet's fixed header one byte at a time and
// passes each PUBLISH through three goroutines before its handler runs. The guard instead reads
// the stream through a buffer (one read system call per burst), packet by packet: it checks
// every packet's announced length against the cap, handles PUBLISH packets itself on the
// reading goroutine (the session's message handling, then the PUBACK or PUBREC, as paho does
// with OrderMatters), keeping wire order with the completions that come through paho
// (receiveLocked), and hands every other
// packet to paho unchanged. paho answers the PUBREL of
// a QoS 2 message with PUBCOMP whether or not it saw the PUBLISH.

// readBufSize is the size of the read buffers; packets up to it are read with the buffer.
const readBufSize = 4096

// firstReadSize is the size of the array in the guard that a drained connection reads into
// first: an idle connection blocks in that read, so it holds no pooled buffer (4 KiB per
// device in a fleet). Only a read that fills it takes a pooled buffer and goes on: one extra
// read per burst larger than this, none for a small packet.
const firstReadSize = 128

// readBufs recycles read buffers: a connection holds one only while it has unread bytes, so an
// idle connection holds none.
var readBufs = sync.Pool{New: func() any { b := make([]byte, readBufSize); return &b }}

// Read gives paho the incoming stream minus the packets the guard handles itself.
func (g *guardConn) Read(p []byte) (int, error) {
	n, err := g.read(p)
	return n, g.pahoErr(err)
}

func (g *guardConn) read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for g.pass == 0 {
		if g.readErr != nil {
			return 0, g.readErr
		}
		if err := g.nextPacket(); err != nil {
			g.readErr = err
			g.dead.Store(true)
			if errors.Is(err, errPacketTooLarge) || errors.Is(err, errProtocol) {
				_ = g.Conn.Close()
			} else {
				g.a.noteIOError()
			}
			return 0, err
		}
	}
	n, err := g.readBuffered(p[:min(len(p), g.pass)])
	g.pass -= n
	if err != nil {
		g.readErr = err
		g.dead.Store(true)
		g.a.noteIOError()
	}
	return n, err
}

// nextPacket reads the next packet's fixed header: a PUBLISH (once the connection is known) is
// read and handled here; any other packet is left for paho (g.pass).
func (g *guardConn) nextPacket() error {
	if err := g.fill(2); err != nil {
		return err
	}
	g.ka.received()
	b := g.buffered()
	var n, i int
	for {
		var err error
		if n, i, err = mqttwire.DecodeLength(b); err != nil {
			return g.violation(b[0], 0, false, err.Error(), pendingAck{})
		}
		if i > 0 {
			break
		}
		if err := g.fill(len(b) + 1); err != nil {
			return err
		}
		b = g.buffered()
	}
	if n > g.max {
		return fmt.Errorf("%w (%d > %d bytes)", errPacketTooLarge, n, g.max)
	}
	h := b[0]
	if h>>4 == 3 && g.in != nil && g.connack {
		body, err := g.take(i, n)
		if err != nil {
			return err
		}
		if g.tr != nil {
			g.tr.packet(DirRecv, h, i, body, n)
		}
		return g.in.handlePublish(g, h, body)
	}
	if g.tr != nil {
		if err := g.traceReceived(h, i, n); err != nil {
			return err
		}
	}
	return g.control(h, i, n) // inboundcheck.go
}

// traceReceived traces a packet other than PUBLISH (header byte h, fixed header of hdr bytes,
// remaining length n) before it is handed on: its body is buffered first when it fits the
// read buffer (it is left in the buffer for paho), else only its header is traced.
func (g *guardConn) traceReceived(h byte, hdr, n int) error {
	if hdr+n > readBufSize {
		g.tr.packet(DirRecv, h, hdr, nil, n)
		return nil
	}
	if err := g.fill(hdr + n); err != nil {
		return err
	}
	g.tr.packet(DirRecv, h, hdr, g.buffered()[hdr:hdr+n], n)
	return nil
}

// completesOperation reports whether a packet with fixed header byte h is an acknowledgement
// that completes an operation: PUBACK, PUBCOMP, SUBACK, UNSUBACK.
func completesOperation(h byte) bool {
	return h == 0x40 || h == 0x70 || h == 0x90 || h == 0xB0
}

// buffered returns the unread buffered bytes.
func (g *guardConn) buffered() []byte {
	if g.rbuf == nil {
		return nil
	}
	return (*g.rbuf)[g.rpos:g.rend]
}

// consume drops k buffered bytes, giving the buffer back once drained.
func (g *guardConn) consume(k int) {
	g.rpos += k
	if g.rpos == g.rend && g.rbuf != nil {
		readBufs.Put(g.rbuf)
		g.rbuf, g.rpos, g.rend = nil, 0, 0
	}
}

// fill reads until at least k (at most readBufSize) bytes are buffered.
func (g *guardConn) fill(k int) error {
	for g.rend-g.rpos < k {
		if err := g.rerr; err != nil {
			g.rerr = nil
			return err
		}
		if g.rbuf == nil {
			n, err := g.Conn.Read(g.first[:])
			if n > 0 {
				g.rbuf = readBufs.Get().(*[]byte)
				g.rpos, g.rend = 0, copy(*g.rbuf, g.first[:n])
			}
			if err != nil {
				if g.rend-g.rpos >= k {
					g.rerr = err // after the buffered bytes
					return nil
				}
				return err
			}
			continue
		} else if g.rpos > 0 {
			g.rend = copy(*g.rbuf, (*g.rbuf)[g.rpos:g.rend])
			g.rpos = 0
		}
		n, err := g.Conn.Read((*g.rbuf)[g.rend:])
		g.rend += n
		if err != nil {
			if g.rend-g.rpos >= k {
				g.rerr = err // after the buffered bytes
				return nil
			}
			return err
		}
	}
	return nil
}

// take consumes a packet whose fixed header (hdr bytes) is buffered and returns its body of n
// bytes in a new slice.
func (g *guardConn) take(hdr, n int) ([]byte, error) {
	body := make([]byte, n)
	if hdr+n <= readBufSize {
		if err := g.fill(hdr + n); err != nil {
			return nil, err
		}
		copy(body, g.buffered()[hdr:])
		g.consume(hdr + n)
		return body, nil
	}
	g.consume(hdr)
	k := copy(body, g.buffered())
	g.consume(k)
	if k < n {
		if err := g.rerr; err != nil {
			return nil, err
		}
		if _, err := io.ReadFull(g.Conn, body[k:]); err != nil {
			return nil, err
		}
	}
	return body, nil
}

// readBuffered reads into p, buffered bytes first.
func (g *guardConn) readBuffered(p []byte) (int, error) {
	if g.rbuf == nil {
		if err := g.rerr; err != nil {
			g.rerr = nil
			return 0, err
		}
		if len(p) >= readBufSize {
			return g.Conn.Read(p)
		}
		if err := g.fill(1); err != nil {
			return 0, err
		}
	}
	n := copy(p, g.buffered())
	g.consume(n)
	return n, nil
}

// writeAck writes a two-byte-identifier acknowledgement (PUBACK, PUBREC) for a received
// PUBLISH. A failed write fails the connection.
func (g *guardConn) writeAck(kind byte, id [2]byte) {
	pkt := [4]byte{kind, 2, id[0], id[1]}
	g.wmu.Lock()
	err := g.writeLocked(pkt[:])
	g.wmu.Unlock()
	if err != nil {
		g.fail()
	}
}

// noteAckToPaho counts an acknowledgement handed to paho; messages read after it wait for its
// completion (receiveLocked). Reader goroutine.
func (c *connection) noteAckToPaho() {
	c.s.mu.Lock()
	c.acksToPaho++
	c.s.mu.Unlock()
}

// receiveLocked handles a message read by the guard on connection c. A completion and a message
// that arrive back to back are reported in wire order: while an acknowledgement read before the
// message is still on its way through paho to its operation's completion, the message is held
// (c.held) and delivered once that completion is reported (flushHeldLocked).
func (s *Session) receiveLocked(c *connection, topic string, payload []byte) {
	if len(c.held) > 0 || (c.acksToPaho > c.pahoDone && s.opsViaPahoLocked()) {
		c.held = append(c.held, heldMessage{topic: topic, payload: payload, after: c.acksToPaho})
		return
	}
	s.onPublishLocked(c, topic, payload)
}

// flushHeldLocked delivers the held messages whose preceding acknowledgements have all been
// reported, in arrival order. With no operation left in paho nothing can still be ahead of them
// (an acknowledgement for no operation, e.g. a stray PUBACK, completes nothing).
func (s *Session) flushHeldLocked(c *connection) {
	via := s.opsViaPahoLocked()
	for len(c.held) > 0 && (c.held[0].after <= c.pahoDone || !via) {
		m := c.held[0]
		c.held[0] = heldMessage{}
		c.held = c.held[1:]
		s.onPublishLocked(c, m.topic, m.payload)
	}
	if len(c.held) == 0 {
		c.held = nil
	}
}

// opsViaPahoLocked reports whether an operation handed to paho is in flight.
func (s *Session) opsViaPahoLocked() bool {
	for _, o := range s.ops {
		if !o.direct {
			return true
		}
	}
	return false
}

// handlePublish handles a PUBLISH packet (header byte h, body) read by g: its fields are checked
// (splitPublish; a fault is a protocol violation), the message goes to the session, then the
// acknowledgement its QoS asks for is written. Reader goroutine.
func (c *connection) handlePublish(g *guardConn, h byte, body []byte) error {
	topic, id, hasID, payload, bad := splitPublish(h, body)
	if bad != "" {
		return g.violation(h, uint16(id[0])<<8|uint16(id[1]), hasID, bad, pendingAck{})
	}
	c.s.mu.Lock()
	c.s.receiveLocked(c, topic, payload)
	c.s.mu.Unlock()
	switch h >> 1 & 3 {
	case 1:
		g.writeAck(0x40, id) // PUBACK
	case 2:
		g.writeAck(0x50, id) // PUBREC; paho answers the PUBREL
	}
	return nil
}
