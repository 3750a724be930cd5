package mqttcore

import (
	"fmt"
	"sync/atomic"
	"time"
)

// Keepalive on device time (MQTT 3.1.1 section 3.1.2.10; docs/device-semantics.md "When a
// connection is declared dead"). paho runs its keepalive on wall time, so under a virtual or
// scaled device clock a half-open link went unnoticed. paho is therefore given keepalive 0 (it
// starts no ping goroutine) and the guard writes the script's keepalive into the CONNECT
// (setConnectKeepAlive), so the broker still enforces the script's value; the session runs the
// keepalive itself on HostConfig.Clock:
//
//   - when k (the wire keepalive) of device time has passed since the latest packet sent or the
//     latest packet received, whichever is earlier, the session writes a PINGREQ (through the
//     send buffer, so it never blocks the clock's goroutine);
//   - when no PINGRESP has been read pingWait(k) = min(k, 10 s) of device time after that
//     PINGREQ, the connection is declared dead: closed, operations in flight complete with 11,
//     close, reconnection as reconnectCount and reconnectPeriod say.
//
// An idle connection with keepalive holds one timer of the device clock; with keepalive 0 none.

// maxPingWait bounds how long the session waits for PINGRESP (device time).
const maxPingWait = 10 * time.Second

// pingWait is how long the session waits for PINGRESP after a PINGREQ, for a wire keepalive k
// (k is whole seconds, at least 1 s).
func pingWait(k time.Duration) time.Duration { return min(k, maxPingWait) }

// pingreq is the PINGREQ packet (MQTT 3.1.1 section 3.12).
var pingreq = [2]byte{0xC0, 0x00}

// keepAlive is the keepalive state of one connection (nil with keepalive 0). The guard records
// the device time of every packet it writes or reads; the session's timer does the rest.
type keepAlive struct {
	k, wait time.Duration
	clock   Clock

	lastSent atomic.Int64  // device time (UnixNano) of the latest write
	lastRecv atomic.Int64  // device time (UnixNano) of the latest packet read
	pongs    atomic.Uint64 // PINGRESP packets read

	// Guarded by the session's mu.
	stop        func() bool // the pending timer; nil when none
	ended       bool        // the connection was dropped: no more timers
	pingAt      time.Time   // device time of the outstanding PINGREQ; zero when none
	pongsAtPing uint64      // pongs when that PINGREQ was written
}

func newKeepAlive(k time.Duration, clock Clock) *keepAlive {
	if k <= 0 {
		return nil
	}
	return &keepAlive{k: k, wait: pingWait(k), clock: clock}
}

// sent records a write. Any goroutine.
func (ka *keepAlive) sent() {
	if ka != nil {
		ka.lastSent.Store(ka.clock.Now().UnixNano())
	}
}

// received records a packet read. The reading goroutine.
func (ka *keepAlive) received() {
	if ka != nil {
		ka.lastRecv.Store(ka.clock.Now().UnixNano())
	}
}

// setConnectKeepAlive returns the CONNECT packet p with its keep alive field set to k seconds
// (p unchanged when it is not a well-formed CONNECT). paho wrote 0 there: it runs no keepalive
// of its own.
func setConnectKeepAlive(p []byte, k time.Duration) []byte {
	n, hdr, ok := remainingLength(p)
	if !ok || len(p) < hdr+n || n < 2 {
		return p
	}
	nameLen := int(p[hdr])<<8 | int(p[hdr+1])
	at := hdr + 2 + nameLen + 2 // protocol name, protocol level, connect flags
	if at+2 > hdr+n {
		return p
	}
	q := make([]byte, len(p))
	copy(q, p)
	secs := uint16(k / time.Second)
	q[at], q[at+1] = byte(secs>>8), byte(secs)
	return q
}

// startKeepAliveLocked starts the keepalive of the connection c that was just established.
func (s *Session) startKeepAliveLocked(c *connection) {
	g := c.att.guardConn()
	if g == nil || g.ka == nil {
		return
	}
	ka := g.ka
	c.ka = ka
	now := s.h.clock.Now().UnixNano()
	ka.lastSent.Store(now)
	ka.lastRecv.Store(now)
	s.armKeepAliveLocked(c, ka, ka.k)
}

// armKeepAliveLocked sets the keepalive timer of c to d from now.
func (s *Session) armKeepAliveLocked(c *connection, ka *keepAlive, d time.Duration) {
	if ka.ended {
		return
	}
	ka.stop = s.h.clock.AfterFunc(d, func() { s.keepAliveDue(c, ka) })
}

// stopKeepAliveLocked stops the keepalive of the dropped connection c.
func (s *Session) stopKeepAliveLocked(c *connection) {
	ka := c.ka
	if ka == nil {
		return
	}
	ka.ended = true
	if ka.stop != nil {
		ka.stop()
		ka.stop = nil
	}
}

// keepAliveDue is the keepalive timer of c: it declares c dead when the PINGREQ got no PINGRESP
// in time, writes a PINGREQ when k has passed since the latest packet sent or received, and sets
// the timer for the next check. It never blocks (it may run on the clock's own goroutine, which
// a virtual clock shares with every other timer).
func (s *Session) keepAliveDue(c *connection, ka *keepAlive) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ka.stop = nil
	if ka.ended || s.conn != c || !s.liveLocked() {
		return
	}
	g := c.att.guardConn()
	now := s.h.clock.Now()
	if !ka.pingAt.IsZero() {
		if ka.pongs.Load() == ka.pongsAtPing {
			if left := ka.pingAt.Add(ka.wait).Sub(now); left > 0 {
				s.armKeepAliveLocked(c, ka, left)
				return
			}
			s.keepAliveExpiredLocked(c, g, ka)
			return
		}
		ka.pingAt = time.Time{}
	}
	last := min(ka.lastSent.Load(), ka.lastRecv.Load())
	if left := time.Unix(0, last).Add(ka.k).Sub(now); left > 0 {
		s.armKeepAliveLocked(c, ka, left)
		return
	}
	ka.pingAt, ka.pongsAtPing = now, ka.pongs.Load()
	s.queueLocked(g, pingreq[:])
	s.armKeepAliveLocked(c, ka, ka.wait)
}

// keepAliveExpiredLocked declares c dead: no PINGRESP came within ka.wait of its PINGREQ. The
// socket is closed off the lock (a TLS close may write), the loss is reported now.
func (s *Session) keepAliveExpiredLocked(c *connection, g *guardConn, ka *keepAlive) {
	g.dead.Store(true)
	g.a.noteIOError()
	c.closeErr = fmt.Sprintf("keepalive: no PINGRESP within %v of the PINGREQ (device time)", ka.wait)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = g.Conn.Close()
	}()
	s.lostLocked(c)
}

// queueLocked appends packet p to g's send buffer and makes sure a goroutine writes it
// (flushSendBuffer, direct.go).
func (s *Session) queueLocked(g *guardConn, p []byte) {
	g.omu.Lock()
	g.obuf = append(g.obuf, p...)
	start := !g.flushing
	g.flushing = true
	g.omu.Unlock()
	if start {
		s.wg.Add(1)
		go s.flushSendBuffer(g)
	}
}
