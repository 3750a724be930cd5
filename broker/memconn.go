package broker

import (
	"context"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// memBufSize is how many bytes one direction of a memory connection buffers
// before Write blocks.
const memBufSize = 64 << 10

// MemoryNetwork is the network name reported by the addresses of memory
// connections (net.Addr.Network).
const MemoryNetwork = "memory"

type memAddr string

func (a memAddr) Network() string { return MemoryNetwork }
func (a memAddr) String() string  { return string(a) }

var memConnSeq atomic.Uint64

// pipeBuf is one direction of a memory connection: a bounded byte queue.
// Every state change closes wake (if a waiter made one) and clears it, so
// waiters re-check. wake is made only by a waiter: an idle connection holds
// one channel per blocked reader, and a read or write that nobody waits for
// allocates none (mochi's read loop reads every packet in several calls).
type pipeBuf struct {
	mu      sync.Mutex
	buf     []byte
	wclosed bool // the writing end was closed: reader gets io.EOF once drained
	rclosed bool // the reading end was closed: writer gets io.ErrClosedPipe
	wake    chan struct{}
}

// signal wakes all waiters; call with mu held.
func (p *pipeBuf) signal() {
	if p.wake != nil {
		close(p.wake)
		p.wake = nil
	}
}

// waiter returns the channel the next signal closes; call with mu held.
func (p *pipeBuf) waiter() <-chan struct{} {
	if p.wake == nil {
		p.wake = make(chan struct{})
	}
	return p.wake
}

// deadline is a settable deadline whose changes wake waiters. Like pipeBuf's,
// its wake channel is made by a waiter and closed and cleared by the next set
// (mochi sets the read deadline before every packet it reads).
type deadline struct {
	mu   sync.Mutex
	t    time.Time
	wake chan struct{}
}

func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	d.t = t
	if d.wake != nil {
		close(d.wake)
		d.wake = nil
	}
	d.mu.Unlock()
}

// time returns the deadline (zero: none).
func (d *deadline) time() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.t
}

// get returns the deadline and the channel its next change closes.
func (d *deadline) get() (time.Time, <-chan struct{}) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.wake == nil {
		d.wake = make(chan struct{})
	}
	return d.t, d.wake
}

// memPair is what the two ends of one memory connection share, allocated
// at once: both directions and the four deadlines.
type memPair struct {
	a, b                   pipeBuf
	ardl, awdl, brdl, bwdl deadline
	client, server         memConn
}

// memConn is one end of a buffered in-memory full-duplex connection.
// Unlike net.Pipe, a Write returns as soon as its bytes fit in the buffer.
type memConn struct {
	r, w          *pipeBuf
	rdl, wdl      *deadline
	local, remote net.Addr
	closeOnce     sync.Once
	closed        chan struct{}
}

// memPipe returns the two ends of a new memory connection.
func memPipe() (client, server *memConn) {
	n := memConnSeq.Add(1)
	p := &memPair{}
	ca := memAddr("memory-client:" + itoa(n))
	sa := memAddr("memory-broker:" + itoa(n))
	p.client = memConn{r: &p.a, w: &p.b, rdl: &p.ardl, wdl: &p.awdl, local: ca, remote: sa, closed: make(chan struct{})}
	p.server = memConn{r: &p.b, w: &p.a, rdl: &p.brdl, wdl: &p.bwdl, local: sa, remote: ca, closed: make(chan struct{})}
	return &p.client, &p.server
}

func itoa(n uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// wait blocks until wake fires, the deadline passes, or the conn is closed.
// It returns os.ErrDeadlineExceeded or net.ErrClosed, or nil to re-check.
func (c *memConn) wait(wake <-chan struct{}, dl *deadline) error {
	t, dwake := dl.get()
	var timeout <-chan time.Time
	if !t.IsZero() {
		d := time.Until(t)
		if d <= 0 {
			return os.ErrDeadlineExceeded
		}
		tm := time.NewTimer(d)
		defer tm.Stop()
		timeout = tm.C
	}
	select {
	case <-wake:
	case <-dwake:
	case <-c.closed:
		return net.ErrClosed
	case <-timeout:
		return os.ErrDeadlineExceeded
	}
	return nil
}

func (c *memConn) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

func (c *memConn) opErr(op string, err error) error {
	return &net.OpError{Op: op, Net: MemoryNetwork, Source: c.local, Addr: c.remote, Err: err}
}

// Read implements net.Conn.
func (c *memConn) Read(b []byte) (int, error) {
	for {
		if c.isClosed() {
			return 0, c.opErr("read", net.ErrClosed)
		}
		if t := c.rdl.time(); !t.IsZero() && !time.Now().Before(t) {
			return 0, c.opErr("read", os.ErrDeadlineExceeded)
		}
		p := c.r
		p.mu.Lock()
		if len(p.buf) > 0 {
			n := copy(b, p.buf)
			p.buf = p.buf[n:]
			if len(p.buf) == 0 {
				p.buf = nil
			}
			p.signal()
			p.mu.Unlock()
			return n, nil
		}
		if p.wclosed {
			p.mu.Unlock()
			return 0, io.EOF
		}
		if len(b) == 0 {
			p.mu.Unlock()
			return 0, nil
		}
		wake := p.waiter()
		p.mu.Unlock()
		if err := c.wait(wake, c.rdl); err != nil {
			return 0, c.opErr("read", err)
		}
	}
}

// Write implements net.Conn. It blocks only while the peer's buffer is full.
func (c *memConn) Write(b []byte) (int, error) {
	written := 0
	for {
		if c.isClosed() {
			return written, c.opErr("write", net.ErrClosed)
		}
		if t := c.wdl.time(); !t.IsZero() && !time.Now().Before(t) {
			return written, c.opErr("write", os.ErrDeadlineExceeded)
		}
		p := c.w
		p.mu.Lock()
		if p.rclosed {
			p.mu.Unlock()
			return written, c.opErr("write", io.ErrClosedPipe)
		}
		if room := memBufSize - len(p.buf); room > 0 {
			n := min(room, len(b)-written)
			p.buf = append(p.buf, b[written:written+n]...)
			written += n
			p.signal()
		}
		if written == len(b) {
			p.mu.Unlock()
			return written, nil
		}
		wake := p.waiter()
		p.mu.Unlock()
		if err := c.wait(wake, c.wdl); err != nil {
			return written, c.opErr("write", err)
		}
	}
}

// Close implements net.Conn: the peer reads io.EOF after the buffered bytes
// and its writes fail.
func (c *memConn) Close() error {
	first := false
	c.closeOnce.Do(func() {
		first = true
		close(c.closed)
		c.w.mu.Lock()
		c.w.wclosed = true
		c.w.signal()
		c.w.mu.Unlock()
		c.r.mu.Lock()
		c.r.rclosed = true
		c.r.buf = nil
		c.r.signal()
		c.r.mu.Unlock()
	})
	if !first {
		return c.opErr("close", net.ErrClosed)
	}
	return nil
}

// LocalAddr implements net.Conn.
func (c *memConn) LocalAddr() net.Addr { return c.local }

// RemoteAddr implements net.Conn.
func (c *memConn) RemoteAddr() net.Addr { return c.remote }

// SetDeadline implements net.Conn.
func (c *memConn) SetDeadline(t time.Time) error {
	c.rdl.set(t)
	c.wdl.set(t)
	return nil
}

// SetReadDeadline implements net.Conn.
func (c *memConn) SetReadDeadline(t time.Time) error { c.rdl.set(t); return nil }

// SetWriteDeadline implements net.Conn.
func (c *memConn) SetWriteDeadline(t time.Time) error { c.wdl.set(t); return nil }

// memListener is a net.Listener whose connections come from dial.
type memListener struct {
	name      string
	conns     chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
}

func newMemListener(name string) *memListener {
	return &memListener{name: name, conns: make(chan net.Conn), done: make(chan struct{})}
}

// Accept implements net.Listener.
func (l *memListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, &net.OpError{Op: "accept", Net: MemoryNetwork, Addr: l.Addr(), Err: net.ErrClosed}
	}
}

// Close implements net.Listener.
func (l *memListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return nil
}

// Addr implements net.Listener.
func (l *memListener) Addr() net.Addr { return memAddr(l.name) }

// dial makes a new connection and hands its broker end to Accept.
func (l *memListener) dial(ctx context.Context) (net.Conn, error) {
	client, server := memPipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		return nil, &net.OpError{Op: "dial", Net: MemoryNetwork, Addr: l.Addr(), Err: net.ErrClosed}
	case <-ctx.Done():
		return nil, &net.OpError{Op: "dial", Net: MemoryNetwork, Addr: l.Addr(), Err: context.Cause(ctx)}
	}
}
