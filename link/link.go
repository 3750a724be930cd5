// Package link emulates the network link a device lives behind (cellular latency, jitter,
// loss, bandwidth, outages, half-open blackholes and resets) on the connections it wraps.
//
// A Link applies its Conditions to every connection wrapped with WrapConn or made by a
// Dialer, in both directions: each Write is cut into segments of at most MSS bytes, and each
// segment is held in the link until its delivery time (device time, from the Clock), then
// handed over in order. Loss cannot drop bytes from a TCP stream: a lost segment is delayed by
// a retransmission timeout instead (see Conditions.RTO). Each direction holds at most
// BufferSize bytes, like a TCP socket buffer: a writer blocks beyond that (its write deadline
// still applies).
//
// Delays run on the Clock given to New, so under a scaled or manual device clock they scale
// with it, and so do the deadlines set on wrapped connections: a deadline set as
// time.Now().Add(d), as net.Conn's callers do, passes after d of the link's device time.
// Randomness (jitter, loss) is drawn from a generator seeded by the seed given to New and the
// connection's number and direction, so a seed gives the same delays on every run.
//
// All methods are safe from any goroutine. docs/link.md describes the model; the grammar of
// Parse is the one of `devicejs run --link`. Embedding hosts reach it through
// devicejs.Config.Link (a spec string) or wrap their own connections with a Link.
package link

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Clock is the device clock shape shared by runtime and mqttcore (Now, AfterFunc).
type Clock interface {
	// Now returns the current device time.
	Now() time.Time
	// AfterFunc calls f on its own goroutine after device duration d has passed; stop cancels
	// it and reports whether it did.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// wallClock is device time = wall time.
type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

func (wallClock) AfterFunc(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }

// DeadlineClock is implemented by a Clock that counts the timers set through it as bytes held
// in the link: DeadlineClock returns the same device time without the counting, for the read
// and write deadlines of the link's connections (a deadline holds no bytes).
type DeadlineClock interface {
	DeadlineClock() Clock
}

// MSS is the largest segment, in bytes, the link cuts a stream into (Ethernet TCP MSS).
const MSS = 1460

// BufferSize is the number of bytes each direction of a connection holds before a writer
// blocks (a TCP send buffer of 64 KiB).
const BufferSize = 64 << 10

// Link applies Conditions, outages, blackholes and cuts to the connections it wraps. Make one
// with New. Safe from any goroutine.
type Link struct {
	clock     Clock
	deadlines Clock // the clock of read and write deadlines (DeadlineClock)
	seed      int64

	cond      atomic.Pointer[Conditions]
	blackhole atomic.Bool
	holdUntil atomic.Int64 // device time (UnixNano) before which nothing is delivered; 0 = none
	inflight  atomic.Int64 // bytes held in the link, every connection and direction

	mu      sync.Mutex
	conns   map[*conn]struct{}
	nextID  uint64
	changed chan struct{} // closed and replaced whenever blackhole or an outage changes
	stats   Stats
}

// New returns a Link applying c on clock (nil = wall time); seed makes its randomness
// repeatable. c should pass Validate: out of range, latency and jitter are clamped to
// [0, MaxDelay], a negative bandwidth is unlimited, and a loss of 1 or more loses every
// segment MaxRetransmits times.
func New(c Conditions, clock Clock, seed int64) *Link {
	if clock == nil {
		clock = wallClock{}
	}
	l := &Link{clock: clock, deadlines: clock, seed: seed, conns: map[*conn]struct{}{}, changed: make(chan struct{})}
	if dc, ok := clock.(DeadlineClock); ok {
		l.deadlines = dc.DeadlineClock()
	}
	l.cond.Store(&c)
	return l
}

// Conditions returns the conditions the link applies now.
func (l *Link) Conditions() Conditions { return *l.cond.Load() }

// Set changes the conditions; segments written from now on get them (held ones keep theirs).
// c should pass Validate (see New).
func (l *Link) Set(c Conditions) { l.cond.Store(&c) }

// Outage stops everything passing either way for device duration d: bytes written meanwhile
// are held, then delivered when it ends (connections survive a short outage, like TCP). An
// outage that ends later than one in progress extends it.
func (l *Link) Outage(d time.Duration) {
	until := l.clock.Now().Add(d).UnixNano()
	for {
		old := l.holdUntil.Load()
		if old >= until || l.holdUntil.CompareAndSwap(old, until) {
			break
		}
	}
	l.notify()
}

// Blackhole turns a half-open link on or off: while on nothing passes either way and nothing
// closes; turned off, the held bytes are delivered.
func (l *Link) Blackhole(on bool) {
	l.blackhole.Store(on)
	l.notify()
}

// Cut resets every live connection through the link now: both ends see the connection
// reset, held bytes are dropped.
func (l *Link) Cut() {
	for _, c := range l.live() {
		c.reset()
	}
}

// Idle reports whether no bytes are held in the link right now: everything written through
// it has been delivered. A virtual-time driver uses it to know the link has nothing in flight.
func (l *Link) Idle() bool { return l.inflight.Load() == 0 }

// Held returns the number of bytes held in the link right now (in flight, every connection,
// both directions).
func (l *Link) Held() int64 { return l.inflight.Load() }

// Stats returns the totals of every connection the link has carried.
func (l *Link) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

// WrapConn applies the link to c, both directions. The returned connection owns c: closing
// it closes c once the bytes written before Close have been delivered (see conn.Close).
func (l *Link) WrapConn(c net.Conn) net.Conn {
	l.mu.Lock()
	id := l.nextID
	l.nextID++
	l.stats.Conns++
	l.mu.Unlock()
	w := newConn(l, c, id)
	l.mu.Lock()
	l.conns[w] = struct{}{}
	l.mu.Unlock()
	w.start()
	return w
}

// Dialer wraps dial (nil = net.Dialer) so that every connection it makes goes through the
// link. The dial first waits one round trip of device time (the TCP handshake), and while
// the link is blackholed or in an outage it waits for that to end (SYNs get no answer); ctx
// bounds the wait, as it bounds a real connect.
func (l *Link) Dialer(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if err := l.handshake(ctx); err != nil {
			return nil, err
		}
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return l.WrapConn(c), nil
	}
}

// handshake waits for the link to pass traffic and then one round trip.
func (l *Link) handshake(ctx context.Context) error {
	for {
		ch := l.changes()
		if l.blackhole.Load() {
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		now := l.clock.Now()
		wait := time.Duration(0)
		if h := l.holdUntil.Load(); h > now.UnixNano() {
			wait = time.Duration(h - now.UnixNano())
		} else {
			wait = 2 * l.Conditions().Latency
		}
		if wait <= 0 {
			return nil
		}
		fired := make(chan struct{})
		stop := l.clock.AfterFunc(wait, func() { close(fired) })
		select {
		case <-fired:
			if l.blackhole.Load() || l.holdUntil.Load() > l.clock.Now().UnixNano() {
				continue
			}
			return nil
		case <-ch:
			stop()
		case <-ctx.Done():
			stop()
			return ctx.Err()
		}
	}
}

// changes returns a channel closed at the next blackhole or outage change.
func (l *Link) changes() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.changed
}

// notify wakes dials and every connection to re-read the blackhole and outage state.
func (l *Link) notify() {
	l.mu.Lock()
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
	black := l.blackhole.Load()
	for _, c := range l.live() {
		c.wake()
		if !black {
			c.finishIfDue()
		}
	}
}

// live returns the connections still open or still delivering.
func (l *Link) live() []*conn {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]*conn, 0, len(l.conns))
	for c := range l.conns {
		out = append(out, c)
	}
	return out
}

// forget removes a finished connection.
func (l *Link) forget(c *conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
}

// account adds one segment to the totals.
func (l *Link) account(d Direction, bytes int, losses int, delay time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := &l.stats.Up
	if d == Down {
		s = &l.stats.Down
	}
	s.Bytes += int64(bytes)
	s.Segments++
	s.Losses += int64(losses)
	if losses > 0 {
		s.LostSegments++
	}
	s.Delay += delay
	if delay > s.MaxDelay {
		s.MaxDelay = delay
	}
}

// hold returns the device time before which nothing may be delivered and whether the link is
// blackholed.
func (l *Link) hold() (until time.Time, blackhole bool) {
	if h := l.holdUntil.Load(); h != 0 {
		until = time.Unix(0, h)
	}
	return until, l.blackhole.Load()
}
