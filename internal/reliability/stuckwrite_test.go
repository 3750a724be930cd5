package reliability

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/devicejs/devicejs/mqttcore"
)

// stuckConn is a connection whose writes, once stuck, block like a socket whose send buffer
// is full on a dead link: until the write deadline passes, forever without one.
type stuckConn struct {
	net.Conn
	mu       sync.Mutex
	stuck    bool
	closed   bool
	deadline time.Time
	changed  chan struct{} // closed and replaced when the deadline or stuck changes
}

func (c *stuckConn) setStuck() {
	c.mu.Lock()
	c.stuck = true
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
}

// Close unblocks stuck writes, as closing a real socket does.
func (c *stuckConn) Close() error {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.changed)
		c.changed = make(chan struct{})
	}
	c.mu.Unlock()
	return c.Conn.Close()
}

func (c *stuckConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	return c.Conn.SetWriteDeadline(t)
}

func (c *stuckConn) SetDeadline(t time.Time) error {
	_ = c.SetWriteDeadline(t)
	return c.Conn.SetReadDeadline(t)
}

func (c *stuckConn) Write(p []byte) (int, error) {
	for {
		c.mu.Lock()
		stuck, dl, ch, closed := c.stuck, c.deadline, c.changed, c.closed
		c.mu.Unlock()
		if closed {
			return 0, net.ErrClosed
		}
		if !stuck {
			return c.Conn.Write(p)
		}
		var timeout <-chan time.Time
		if !dl.IsZero() {
			d := time.Until(dl)
			if d <= 0 {
				return 0, &net.OpError{Op: "write", Net: "tcp", Err: context.DeadlineExceeded}
			}
			timeout = time.After(d)
		}
		select {
		case <-ch:
		case <-timeout:
		}
	}
}

// TestStuckWriteDoesNotHang: when the socket's send buffer is full on a dead link, the
// keepalive's PINGREQ write blocks; without a write deadline of its own it blocks forever and
// the session never reports the loss. Every write must be bounded by the write timeout
// (10 s), so `close` comes within keepalive + 10 s plus the check interval.
func TestStuckWriteDoesNotHang(t *testing.T) {
	b := brokers[1].start(t) // mochi: the broker plays no part once the link is dead
	px := newProxy(t, b.Addr())
	var mu sync.Mutex
	var sc *stuckConn
	hc := mqttcore.HostConfig{Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		defer mu.Unlock()
		sc = &stuckConn{Conn: c, changed: make(chan struct{})}
		return sc, nil
	}}
	o := deviceOptions()
	o.KeepAlive = time.Second
	o.ReconnectCount = 0
	d := startDevice(t, "mqtt://"+px.Addr(), o, hc, mqttcore.TLSSettings{})
	d.waitEvent("connect", wait)
	start := time.Now()
	px.Blackhole(true) // a dead link: nothing arrives, not even the broker's close
	mu.Lock()
	sc.setStuck()
	mu.Unlock()
	const bound = time.Second + 10*time.Second + time.Second
	d.waitEvent("close", bound+5*time.Second)
	el := time.Since(start)
	figure(t, "stuck-write", "mochi", "send buffer full on a dead link, keepalive 1 s: close after %v (bound keepalive + write timeout 10 s + check interval)", el.Round(100*time.Millisecond))
	if el > bound+2*time.Second {
		t.Fatalf("close after %v, bound %v", el, bound)
	}
}
