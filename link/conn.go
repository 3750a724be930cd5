package link

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
	"time"
)

// Linger is how long, in device time, a closed connection keeps delivering the bytes written
// before Close (a FIN follows the data in TCP) before the network connection is closed anyway.
// While the link is blackholed the network connection is not closed at all: the FIN would be
// lost, so the peer finds out by its keepalive, or when the blackhole ends.
const Linger = 5 * time.Second

// ErrReset is what Read and Write return on a connection the link has cut (Link.Cut). It
// wraps syscall.ECONNRESET.
var ErrReset = fmt.Errorf("link: connection reset: %w", syscall.ECONNRESET)

// errClosed is returned by operations on a connection after its Close.
var errClosed = net.ErrClosed

// conn is a net.Conn seen through the link: the device reads and writes it, the link carries
// the bytes to and from under.
type conn struct {
	link  *Link
	under net.Conn
	id    uint64

	up, down *pipe
	wmu      sync.Mutex // one Write at a time, whole, as net.Conn's Write on a socket

	mu       sync.Mutex
	closed   bool
	finished bool
	linger   func() bool // stops the Linger timer (device time)
	// finishDue: the connection is to finish (closed, and its bytes delivered or its Linger
	// spent) but the link is blackholed: it finishes when the blackhole ends.
	finishDue bool
}

var _ net.Conn = (*conn)(nil)

func newConn(l *Link, under net.Conn, id uint64) *conn {
	c := &conn{link: l, under: under, id: id}
	c.up = newPipe(c, Up)
	c.down = newPipe(c, Down)
	return c
}

// start runs the network reader; deliveries run only while bytes are held.
func (c *conn) start() {
	go c.ingest()
}

// ingest reads the network side into the Down pipe, at most BufferSize held (the rest waits in
// the network, as a full TCP receive window makes the peer wait).
func (c *conn) ingest() {
	buf := make([]byte, 4<<10)
	for {
		n, err := c.under.Read(buf)
		if n > 0 {
			if _, perr := c.down.pushAll(buf[:n]); perr != nil {
				return
			}
		}
		if err != nil {
			c.down.pushEOF(err)
			return
		}
	}
}

// Read reads what the link has delivered from the network.
func (c *conn) Read(b []byte) (int, error) { return c.down.read(b) }

// Write queues b for delivery to the network. It blocks while the link holds BufferSize bytes
// of this direction; the write deadline applies. Concurrent Writes do not interleave.
func (c *conn) Write(b []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.up.pushAll(b)
}

// Close ends the device's use of the connection: Read and Write fail at once, unread bytes are
// dropped, and the bytes already written are still delivered (for at most Linger of wall
// time, and not while the link is blackholed past that) before the network connection closes.
func (c *conn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return errClosed
	}
	c.closed = true
	if !c.finished {
		c.linger = c.link.clock.AfterFunc(Linger, c.finishUnlessBlackholed)
	}
	c.mu.Unlock()
	c.down.kill(errClosed)
	c.up.closeWrite()
	return nil
}

// reset cuts the connection: the network side is closed with a reset where it can be (TCP
// linger 0), the device's Read and Write return ErrReset.
func (c *conn) reset() {
	if tc, ok := c.under.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	c.up.kill(ErrReset)
	c.down.kill(ErrReset)
	c.finish()
}

// finishUnlessBlackholed finishes a closed connection, or, while the link is blackholed,
// leaves that to the end of the blackhole (Link.notify): a half-open link carries no FIN.
func (c *conn) finishUnlessBlackholed() {
	if c.link.blackhole.Load() {
		c.mu.Lock()
		c.finishDue = true
		c.mu.Unlock()
		if c.link.blackhole.Load() { // else the blackhole ended meanwhile: notify may have missed it
			return
		}
	}
	c.finish()
}

// finishIfDue finishes a connection whose finish waited for the end of a blackhole.
func (c *conn) finishIfDue() {
	c.mu.Lock()
	due := c.finishDue && !c.finished
	c.mu.Unlock()
	if due {
		c.finish()
	}
}

// fail ends the connection after the network side failed a write: the device sees err.
func (c *conn) fail(err error) {
	if errors.Is(err, net.ErrClosed) {
		err = ErrReset
	}
	c.up.kill(err)
	c.down.kill(err)
	c.finish()
}

// finish closes the network side and releases everything; idempotent.
func (c *conn) finish() {
	c.mu.Lock()
	if c.finished {
		c.mu.Unlock()
		return
	}
	c.finished = true
	stop := c.linger
	c.linger = nil
	c.mu.Unlock()
	if stop != nil {
		stop()
	}
	_ = c.under.Close()
	c.up.kill(errClosed)
	c.down.kill(errClosed)
	c.link.forget(c)
}

// wake makes both deliveries re-read the link's state.
func (c *conn) wake() {
	c.up.wake()
	c.down.wake()
}

// LocalAddr is the network connection's local address.
func (c *conn) LocalAddr() net.Addr { return c.under.LocalAddr() }

// RemoteAddr is the network connection's remote address.
func (c *conn) RemoteAddr() net.Addr { return c.under.RemoteAddr() }

// SetDeadline sets the read and write deadlines: t is a wall time, whose remaining duration
// runs on the link's clock (device time under a device clock).
func (c *conn) SetDeadline(t time.Time) error {
	c.down.setDeadline(t)
	c.up.setDeadline(t)
	return nil
}

// SetReadDeadline sets the deadline of Read (as SetDeadline).
func (c *conn) SetReadDeadline(t time.Time) error {
	c.down.setDeadline(t)
	return nil
}

// SetWriteDeadline sets the deadline of Write (as SetDeadline).
func (c *conn) SetWriteDeadline(t time.Time) error {
	c.up.setDeadline(t)
	return nil
}
