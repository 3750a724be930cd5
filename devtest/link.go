package devtest

import (
	"context"
	"fmt"
	"math/rand"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Conditions are the link conditions between the devices and the broker, applied in device
// time to the bytes each side writes.
type Conditions struct {
	Latency   time.Duration // one-way delay added to every write
	Jitter    time.Duration // up to this much more, uniformly, per write
	Loss      float64       // probability that a write is lost once and retransmitted (costs RTO)
	Bandwidth int64         // bytes per second; 0 = unlimited
}

// rto is the retransmission delay a lost write costs, on top of the latency.
const rto = 200 * time.Millisecond

// presets are the named conditions accepted by ParseConditions.
var presets = map[string]Conditions{
	"none":  {},
	"wifi":  {Latency: 5 * time.Millisecond, Jitter: 2 * time.Millisecond},
	"lte":   {Latency: 50 * time.Millisecond, Jitter: 20 * time.Millisecond, Loss: 0.001, Bandwidth: 1 << 20},
	"3g":    {Latency: 200 * time.Millisecond, Jitter: 100 * time.Millisecond, Loss: 0.01, Bandwidth: 48 << 10},
	"2g":    {Latency: 650 * time.Millisecond, Jitter: 300 * time.Millisecond, Loss: 0.02, Bandwidth: 4 << 10},
	"edge":  {Latency: 400 * time.Millisecond, Jitter: 150 * time.Millisecond, Loss: 0.02, Bandwidth: 24 << 10},
	"lossy": {Latency: 100 * time.Millisecond, Jitter: 50 * time.Millisecond, Loss: 0.1},
}

// ParseConditions reads a preset name (none, wifi, lte, 3g, edge, 2g, lossy) or a list
// "latency=200ms,jitter=50ms,loss=0.01,bandwidth=10000".
func ParseConditions(spec string) (Conditions, error) {
	spec = strings.TrimSpace(spec)
	if c, ok := presets[strings.ToLower(spec)]; ok {
		return c, nil
	}
	var c Conditions
	for _, part := range strings.Split(spec, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return Conditions{}, fmt.Errorf("link: %q: want a preset or key=value list", spec)
		}
		var err error
		switch k {
		case "latency":
			c.Latency, err = time.ParseDuration(v)
		case "jitter":
			c.Jitter, err = time.ParseDuration(v)
		case "loss":
			c.Loss, err = strconv.ParseFloat(v, 64)
			if err == nil && (c.Loss < 0 || c.Loss > 1) {
				err = fmt.Errorf("loss must be in [0,1]")
			}
		case "bandwidth":
			c.Bandwidth, err = strconv.ParseInt(v, 10, 64)
		default:
			err = fmt.Errorf("unknown key")
		}
		if err != nil {
			return Conditions{}, fmt.Errorf("link: %q: %s: %v", spec, k, err)
		}
	}
	if c.Latency < 0 || c.Jitter < 0 || c.Bandwidth < 0 {
		return Conditions{}, fmt.Errorf("link: %q: negative value", spec)
	}
	return c, nil
}

// netLink emulates the device's network link on the world's virtual clock: delays, losses
// (as retransmission delays), outages, a blackhole and cuts. Safe from any goroutine.
type netLink struct {
	clock *VirtualClock

	mu        sync.Mutex
	cond      Conditions
	rnd       *rand.Rand
	blackhole bool
	downUntil time.Time
	conns     map[*linkConn]struct{}
	stats     LinkStats
}

// LinkStats counts what the link did to the traffic.
type LinkStats struct {
	Writes    int           // writes carried
	Lost      int           // writes lost once (retransmitted after rto)
	Swallowed int           // writes dropped by the blackhole
	Delay     time.Duration // total delay applied (device time)
	Refused   int           // dials refused during an outage
	Cuts      int           // connections cut
}

func newNetLink(clock *VirtualClock, seed int64) *netLink {
	return &netLink{clock: clock, rnd: rand.New(rand.NewSource(seed)), conns: map[*linkConn]struct{}{}}
}

func (l *netLink) set(c Conditions) { l.mu.Lock(); l.cond = c; l.mu.Unlock() }

func (l *netLink) setBlackhole(on bool) { l.mu.Lock(); l.blackhole = on; l.mu.Unlock() }

func (l *netLink) Stats() LinkStats { l.mu.Lock(); defer l.mu.Unlock(); return l.stats }

// outage cuts every connection and refuses dials for d of device time.
func (l *netLink) outage(d time.Duration) {
	l.mu.Lock()
	l.downUntil = l.clock.Now().Add(d)
	l.mu.Unlock()
	l.cut()
}

// cut closes every open connection (as a reset would).
func (l *netLink) cut() {
	l.mu.Lock()
	var cs []*linkConn
	for c := range l.conns {
		cs = append(cs, c)
	}
	l.stats.Cuts += len(cs)
	l.mu.Unlock()
	for _, c := range cs {
		c.reset()
	}
}

// dialer wraps dial: refused during an outage, hanging until ctx ends in a blackhole.
func (l *netLink) dialer(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		l.mu.Lock()
		down, bh := l.clock.Now().Before(l.downUntil), l.blackhole
		if down {
			l.stats.Refused++
		}
		l.mu.Unlock()
		if down {
			return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.ENETUNREACH}
		}
		if bh {
			<-ctx.Done()
			return nil, &net.OpError{Op: "dial", Net: network, Err: ctx.Err()}
		}
		if err := l.wait(ctx, 0); err != nil {
			return nil, err
		}
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		lc := &linkConn{Conn: c, l: l}
		l.mu.Lock()
		l.conns[lc] = struct{}{}
		l.mu.Unlock()
		return lc, nil
	}
}

// delayFor is the device-time delay of one write of n bytes, or -1 if the blackhole eats it.
func (l *netLink) delayFor(n int) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.blackhole {
		l.stats.Swallowed++
		return -1
	}
	c := l.cond
	d := c.Latency
	if c.Jitter > 0 {
		d += time.Duration(l.rnd.Int63n(int64(c.Jitter) + 1))
	}
	if c.Loss > 0 && l.rnd.Float64() < c.Loss {
		l.stats.Lost++
		d += rto
	}
	if c.Bandwidth > 0 {
		d += time.Duration(int64(n) * int64(time.Second) / c.Bandwidth)
	}
	l.stats.Writes++
	l.stats.Delay += d
	return d
}

// wait blocks for d of device time (a virtual timer the world advances to).
func (l *netLink) wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	done := make(chan struct{})
	stop := l.clock.AfterFunc(d, func() { close(done) })
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		stop()
		return ctx.Err()
	}
}

// linkConn is a connection through the link: each Write is delayed (in device time) before
// it reaches the other side; in a blackhole writes vanish and nothing is read.
type linkConn struct {
	net.Conn
	l      *netLink
	once   sync.Once
	closed chan struct{}
	init   sync.Once
	wasCut atomic.Bool
}

// errReset is what the device reads and writes after a cut: a connection reset by the
// network. (Closing the device's own end instead would look to it like its own Close, which
// it does not report as a lost connection.)
func (c *linkConn) errReset(op string) error {
	return &net.OpError{Op: op, Net: "tcp", Err: syscall.ECONNRESET}
}

// reset cuts the connection: the broker's end is closed and the device's reads and writes
// fail with ECONNRESET.
func (c *linkConn) reset() {
	c.wasCut.Store(true)
	_ = c.Conn.Close()
	c.l.mu.Lock()
	delete(c.l.conns, c)
	c.l.mu.Unlock()
}

func (c *linkConn) done() chan struct{} {
	c.init.Do(func() { c.closed = make(chan struct{}) })
	return c.closed
}

// Write delays b by the link's conditions, then writes it.
func (c *linkConn) Write(b []byte) (int, error) {
	if c.wasCut.Load() {
		return 0, c.errReset("write")
	}
	d := c.l.delayFor(len(b))
	if d < 0 {
		return len(b), nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-c.done():
			cancel()
		case <-ctx.Done():
		}
	}()
	err := c.l.wait(ctx, d)
	cancel()
	if c.wasCut.Load() {
		return 0, c.errReset("write")
	}
	if err != nil {
		return 0, net.ErrClosed
	}
	return c.Conn.Write(b)
}

// Read drops what arrives while the link is a blackhole.
func (c *linkConn) Read(b []byte) (int, error) {
	for {
		n, err := c.Conn.Read(b)
		if c.wasCut.Load() {
			return 0, c.errReset("read")
		}
		c.l.mu.Lock()
		bh := c.l.blackhole
		c.l.mu.Unlock()
		if !bh || err != nil {
			return n, err
		}
	}
}

// Close closes the connection and forgets it.
func (c *linkConn) Close() error {
	c.once.Do(func() { close(c.done()) })
	c.l.mu.Lock()
	delete(c.l.conns, c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}
