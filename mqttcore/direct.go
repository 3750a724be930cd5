package mqttcore

import (
	"time"
)

// Direct QoS 0 publishes (docs/performance.md). paho hands every PUBLISH through two
// goroutines (a forwarder and its writer) and reports it on a token that a third goroutine of
// ours waits for: four goroutine hand-offs for a packet that is one socket write. When nothing
// else of the session is in flight, a QoS 0 PUBLISH is instead encoded here and written to the
// socket with one non-blocking write on the caller's goroutine; completion 0 still means the
// whole packet was written to the socket. A write that would block is finished on a goroutine
// (Publish never blocks on the network), and any other case takes paho's path.

// publishDirectLocked tries to write QoS 0 publish o at once. It reports false, having done
// nothing, when o must go through paho: QoS 1 or 2, another operation in flight (its packet may
// still be queued in paho, and the wire must keep the issue order), a connection that does not
// offer non-blocking writes (TLS, in-memory), or paho writing at this moment.
func (s *Session) publishDirectLocked(o *op) bool {
	if o.qos != 0 || len(s.ops) != 0 {
		return false
	}
	c := s.conn
	g := c.att.guardConn()
	if g == nil || g.raw == nil || g.dead.Load() || !g.wmu.TryLock() {
		return false
	}
	// g.wmu is held: paho cannot write until the packet is complete on the wire.
	s.trace(o.traceIssue())
	g.wbuf = appendPublish0(g.wbuf[:0], o.topic, o.payload, o.retain)
	n, err := g.tryWrite(g.wbuf)
	switch {
	case err == nil && n == len(g.wbuf):
		g.wmu.Unlock()
		s.stats.Published++
		s.completeLocked(o, OK)
	case err != nil:
		g.wmu.Unlock()
		g.fail()
		s.completeLocked(o, Disconnected) // the socket failed: the connection is being lost
	default: // the socket buffer is full: finish the write off the caller's goroutine
		rest := append([]byte(nil), g.wbuf[n:]...)
		s.ops = append(s.ops, o)
		prevEnded := c.ended
		ended := make(chan struct{})
		c.ended = ended
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer close(ended)
			_ = g.Conn.SetWriteDeadline(time.Now().Add(writeTimeout))
			_, err := g.Conn.Write(rest)
			_ = g.Conn.SetWriteDeadline(time.Time{})
			g.wmu.Unlock()
			if err != nil {
				g.fail()
			}
			select {
			case <-prevEnded:
			case <-c.lost:
				return // completed by dropConnLocked
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			for i, x := range s.ops {
				if x == o {
					s.ops = append(s.ops[:i:i], s.ops[i+1:]...)
					break
				}
			}
			code := OK
			if err != nil {
				code = Disconnected
			} else if !o.fin {
				s.stats.Published++
			}
			s.completeLocked(o, code)
		}()
	}
	return true
}

// appendPublish0 appends a QoS 0 PUBLISH packet (MQTT 3.1.1 section 3.3) to b.
func appendPublish0(b []byte, topic string, payload []byte, retain bool) []byte {
	h := byte(0x30)
	if retain {
		h |= 0x01
	}
	b = append(b, h)
	for n := 2 + len(topic) + len(payload); ; {
		d := byte(n % 128)
		n /= 128
		if n > 0 {
			b = append(b, d|0x80)
			continue
		}
		b = append(b, d)
		break
	}
	b = append(b, byte(len(topic)>>8), byte(len(topic)))
	b = append(b, topic...)
	return append(b, payload...)
}
