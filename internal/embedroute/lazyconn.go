package embedroute

import (
	"net"
	"os"
	"sync"
	"time"
)

// lazyConn is the connection Route.Dial returns. It decides what it is on its first Write, the
// client's first bytes: a TLS handshake record makes it the client end of a forwarded
// connection whose TLS is terminated in process (tlsFront.forward); anything else (plain MQTT's
// CONNECT) makes it a direct in-memory connection to the broker (tlsFront.direct), so that a
// plain connection costs no goroutine and no copy buffers of its own. Reads wait for that
// decision. Deadlines set before it are applied to the chosen connection.
type lazyConn struct {
	f     *tlsFront
	host  string        // the host of the dialled address (names the certificate without SNI)
	ready chan struct{} // closed once inner is set, or the connection closed or failed

	mu       sync.Mutex
	inner    net.Conn
	direct   bool
	closed   bool
	err      error
	rdl, wdl time.Time
}

// memAddr is the address of an undecided connection.
type memAddr struct{}

func (memAddr) Network() string { return "memory" }
func (memAddr) String() string  { return "embedded" }

// decide picks the connection from the first bytes written.
func (c *lazyConn) decide(first []byte) (net.Conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inner != nil || c.err != nil {
		return c.inner, c.err
	}
	if c.closed {
		return nil, net.ErrClosed
	}
	var inner net.Conn
	var err error
	if first[0] == 0x16 { // TLS handshake record
		inner, err = c.f.forward(c.host)
	} else {
		inner, err = c.f.direct()
		c.direct = err == nil
	}
	if err != nil {
		c.err = err
		close(c.ready)
		return nil, err
	}
	if !c.rdl.IsZero() {
		inner.SetReadDeadline(c.rdl)
	}
	if !c.wdl.IsZero() {
		inner.SetWriteDeadline(c.wdl)
	}
	c.inner = inner
	close(c.ready)
	return inner, nil
}

// Write implements net.Conn.
func (c *lazyConn) Write(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	inner, err := c.decide(b)
	if err != nil {
		return 0, err
	}
	return inner.Write(b)
}

// Read implements net.Conn; before the first Write it waits for it (or the read deadline).
func (c *lazyConn) Read(b []byte) (int, error) {
	c.mu.Lock()
	inner, rdl := c.inner, c.rdl
	c.mu.Unlock()
	if inner == nil {
		var timeout <-chan time.Time
		if !rdl.IsZero() {
			t := time.NewTimer(time.Until(rdl))
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-c.ready:
		case <-timeout:
			return 0, os.ErrDeadlineExceeded
		}
		c.mu.Lock()
		inner, err := c.inner, c.err
		c.mu.Unlock()
		if inner == nil {
			if err == nil {
				err = net.ErrClosed
			}
			return 0, err
		}
		return inner.Read(b)
	}
	return inner.Read(b)
}

// Close implements net.Conn.
func (c *lazyConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return net.ErrClosed
	}
	c.closed = true
	if c.inner == nil {
		if c.err == nil {
			close(c.ready)
		}
		return nil
	}
	if c.direct {
		c.f.release(c.inner)
	}
	return c.inner.Close()
}

// LocalAddr implements net.Conn.
func (c *lazyConn) LocalAddr() net.Addr {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inner != nil {
		return c.inner.LocalAddr()
	}
	return memAddr{}
}

// RemoteAddr implements net.Conn.
func (c *lazyConn) RemoteAddr() net.Addr {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inner != nil {
		return c.inner.RemoteAddr()
	}
	return memAddr{}
}

// SetDeadline implements net.Conn.
func (c *lazyConn) SetDeadline(t time.Time) error {
	c.SetReadDeadline(t)
	return c.SetWriteDeadline(t)
}

// SetReadDeadline implements net.Conn.
func (c *lazyConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inner != nil {
		return c.inner.SetReadDeadline(t)
	}
	c.rdl = t
	return nil
}

// SetWriteDeadline implements net.Conn.
func (c *lazyConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inner != nil {
		return c.inner.SetWriteDeadline(t)
	}
	c.wdl = t
	return nil
}
