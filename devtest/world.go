package devtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/devicejs/devicejs/internal/embedroute"
	"github.com/devicejs/devicejs/link"
)

// The virtual-time rule (docs/testing.md, "Virtual time: the exact rule"): the world moves
// device time to the next timer deadline only when
//
//   - every device's script loop is idle, known exactly (runtime.IdleClock: no JS running, no
//     job, timer wake-up or MQTT event pending for it), whatever the wall time: a handler that
//     computes for seconds holds device time for that long, up to StuckAfter without any
//     activity (a script spinning forever), after which time moves on and the test's output
//     says so;
//   - and the rest of the world (MQTT sessions, broker, link, peers) is idle: in the embedded
//     world, known from its goroutines (none running or runnable: quiescence.go, settleKnown);
//     with an external broker, whose goroutines cannot be seen, it has been quiet for Quiet of
//     wall time — no timer set, stopped or fired, no line printed, no MQTT action traced, no
//     packet read or sent by the embedded broker — and no operation is in flight (a connection
//     attempt without its CONNACK or failure, a publish or (un)subscribe without its
//     completion) unless bytes are held in the link for a future device time (a link timer is
//     pending) or the test has the link in an outage or a blackhole. An operation in flight
//     that makes no progress for StuckAfter of wall time no longer holds time back either.
const (
	Quiet      = 4 * time.Millisecond
	StuckAfter = 2 * time.Second
	// AwaitBound bounds the wait for a sign of life after a device starts or timers fire.
	AwaitBound = 300 * time.Millisecond
	// settleCap bounds one wait for quiet: a device busy forever (a spinning loop that prints)
	// must not hang the test.
	settleCap = 2 * time.Second
)

// epoch is device time when every test starts (deterministic Date.now()).
var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// World is one test's environment: a virtual clock, a broker (embedded or external), the link
// and the devices under test. Methods are called from the test's goroutine unless they say
// otherwise.
type World struct {
	opts     Options
	ctx      context.Context
	cancel   context.CancelFunc
	activity atomic.Uint64
	awaited  atomic.Uint64 // settle waits for activity to reach this (0 = no wait)
	inflight atomic.Int64
	// loopsBusy counts the device loops that are running JS or have work pending, exactly
	// (runtime.IdleClock): device time never moves while it is above 0 (up to StuckAfter).
	loopsBusy atomic.Int64
	loopWakes atomic.Uint64 // runtime.IdleClock.Wakes of the device loops
	// scan, when non-nil, knows from a snapshot of the goroutines whether the embedded world's
	// goroutines are idle (quiescence.go); nil with an external broker or when goroutine labels
	// cannot be seen, where the wall-time quiet window applies.
	scan *worldScan
	// unlabel restores the labels the test's goroutine had before the world (close).
	unlabel func()
	// events counts devices with an MQTT event posted to the script and no sign since that
	// the script ran; time waits for them up to AwaitBound of quiet.
	events atomic.Int64
	// linkTimers counts the link's pending timers: bytes held for a future device time.
	linkTimers atomic.Int64
	// blackholed and downUntil (device time, UnixNano) mirror what the test did to the link.
	blackholed atomic.Bool
	downUntil  atomic.Int64
	clock      *VirtualClock
	link       *link.Link
	embedded   *embeddedBroker // nil with Options.Broker
	route      *embedroute.Route
	ext        *externalPeer
	// deviceWrites counts writes on device connections; syncedWrites is its value at the last
	// barrier through the external broker (syncExternal, peer.go).
	deviceWrites atomic.Uint64
	syncedWrites atomic.Uint64
	// extStopped: the test stopped the external broker (Options.Control); close restarts it
	// for the next test. Test goroutine only.
	extStopped bool

	mu        sync.Mutex
	published []Published
	devices   []*DeviceUnderTest
	peers     []*peerSub
	cleanups  []func()
}

// newWorld builds a world on the embedded broker, or on Options.Broker.
func newWorld(ctx context.Context, opts Options, seed int64) (*World, error) {
	w := &World{opts: opts, unlabel: func() {}}
	w.ctx, w.cancel = context.WithCancel(ctx)
	if opts.Broker == "" && enableTracebackLabels() {
		// Before anything of the world starts: its goroutines inherit the label.
		id, restore := labelWorld(ctx)
		w.scan, w.unlabel = newWorldScan(id), restore
	}
	w.clock = NewVirtualClock(epoch, &w.activity)
	w.link = link.New(link.Conditions{}, countingClock{w.clock, &w.linkTimers}, seed)
	if opts.Broker == "" {
		e, err := newEmbeddedBroker(w)
		if err != nil {
			w.unlabel()
			return nil, err
		}
		w.embedded = e
		w.route, err = embedroute.New(e.backend)
		if err != nil {
			e.close()
			w.unlabel()
			return nil, err
		}
		return w, nil
	}
	p, err := newExternalPeer(w, opts)
	if err != nil {
		return nil, err
	}
	w.ext = p
	return w, nil
}

// close stops the devices, the peers and the broker.
func (w *World) close() {
	w.mu.Lock()
	devs := w.devices
	cl := w.cleanups
	w.mu.Unlock()
	for _, d := range devs {
		d.stop()
	}
	// Device time stops here: bytes still held in the link would wait for it forever.
	w.link.Cut()
	for i := len(cl) - 1; i >= 0; i-- {
		cl[i]()
	}
	w.cancel()
	if w.ext != nil {
		w.ext.close()
	}
	if w.extStopped && w.opts.Control != nil {
		w.opts.Control.Restart()
	}
	if w.route != nil {
		w.route.Close()
	}
	if w.embedded != nil {
		w.embedded.close()
	}
	w.unlabel()
}

// NowMs is device time since the test started, in milliseconds. Safe from any goroutine.
func (w *World) NowMs() int64 { return w.clock.Now().Sub(epoch).Milliseconds() }

// dial is the device's connection: through the link, to the embedded broker (TLS terminated
// in process) or to the external broker (Options.TLSBroker for port 8883).
func (w *World) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if w.embedded != nil {
		// A stopped broker refuses the TCP connection itself (errno 6 network), before any
		// TLS handshake the in-process front would otherwise accept.
		if !w.embedded.running() {
			return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.ECONNREFUSED}
		}
		c, err := w.route.Dial(ctx, network, addr)
		return w.counted(c, err)
	}
	target := w.opts.Broker
	if _, port, err := net.SplitHostPort(addr); err == nil && port == "8883" && w.opts.TLSBroker != "" {
		target = w.opts.TLSBroker
	}
	var d net.Dialer
	return w.counted(d.DialContext(ctx, network, target))
}

// counted makes every read and write of a device connection count as activity (a TLS
// handshake shows no MQTT action until it is done).
func (w *World) counted(c net.Conn, err error) (net.Conn, error) {
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, activity: &w.activity, writes: &w.deviceWrites}, nil
}

// countingConn counts reads and writes as activity.
type countingConn struct {
	net.Conn
	activity *atomic.Uint64
	writes   *atomic.Uint64 // World.deviceWrites
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.activity.Add(1)
	return n, err
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.activity.Add(1)
	n, err := c.Conn.Write(b)
	c.writes.Add(1)
	c.activity.Add(1)
	return n, err
}

// recordPublished keeps a PUBLISH the broker received from a device. Any goroutine.
func (w *World) recordPublished(p Published) {
	w.activity.Add(1)
	p.AtMs = w.NowMs()
	w.mu.Lock()
	w.published = append(w.published, p)
	w.mu.Unlock()
}

// publishedBy returns what the broker received from clientID ("" = from any device).
func (w *World) publishedBy(clientID string) []Published {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []Published
	for _, p := range w.published {
		if clientID == "" || p.ClientID == clientID {
			out = append(out, p)
		}
	}
	return out
}

// fire advances the clock to t. When timers fired, the next settle waits (up to AwaitBound)
// for a sign of their work beyond the firing itself, unless a timer's function already showed
// one while it ran (a timer set, a byte written): a device's script timers are counted exactly
// (runtime.IdleClock), its MQTT session's (reconnect, connectTimeout, keepalive) are not.
func (w *World) fire(t time.Time) {
	before := w.activity.Load()
	if n := w.clock.AdvanceTo(t); n > 0 {
		w.awaited.Store(before + uint64(n) + 1)
	}
}

// expectActivity makes the next settle wait (up to StuckAfter) for some activity after now:
// a device just started or a timer just fired has work to do that may not show at once.
func (w *World) expectActivity() { w.awaited.Store(w.activity.Load() + 1) }

// settle waits (wall time, bounded) until the world is quiet by the virtual-time rule.
func (w *World) settle() {
	if w.scan != nil {
		w.settleKnown()
		return
	}
	start := time.Now()
	awaited := w.awaited.Swap(0)
	last := w.activity.Load()
	quietSince := time.Now()
	for time.Since(start) < settleCap && w.ctx.Err() == nil {
		time.Sleep(time.Millisecond)
		if a := w.activity.Load(); a != last {
			last, quietSince = a, time.Now()
			continue
		}
		q := time.Since(quietSince)
		if w.loopsBusy.Load() > 0 && q < StuckAfter {
			continue // a script is running or has work: exact, no wall-time window
		}
		if q < Quiet || (last < awaited && q < AwaitBound) {
			continue
		}
		if w.inflight.Load() <= 0 || q >= StuckAfter || w.linkDown() || w.linkTimers.Load() > 0 {
			if w.syncExternal() {
				last, quietSince = w.activity.Load(), time.Now()
				continue // deliveries the barrier let through are activity like any other
			}
			return
		}
	}
}

// settleKnown is settle in the embedded world: it returns as soon as the world is idle, known
// from the parts themselves, with no wall-time window: every device loop idle (exact,
// runtime.IdleClock) and every other goroutine of the world blocked, with no loop woken and no
// activity between the readings. Whether the goroutines are blocked is read first from the Go
// scheduler's counts (nothing but the caller running or runnable in the whole process: cheap),
// and, when the process is busy with something else (another test file under -j, a script
// spinning at its top level), from a snapshot of the world's goroutines (quiescence.go), taken
// at most once per scanGap so that its cost stays a fraction of the time spent. Two bounds
// remain for a part that never becomes idle: StuckAfter of wall time without any activity, and
// settleCap in all.
func (w *World) settleKnown() {
	w.awaited.Store(0)
	start := time.Now()
	last, progress := w.activity.Load(), start
	lastScan, stable := start, start // stable: when the activity last changed
	for spin := 0; w.ctx.Err() == nil; spin++ {
		if w.loopsBusy.Load() == 0 {
			a, wakes := w.activity.Load(), w.loopWakes.Load()
			idle := w.scan.processIdle()
			if !idle && time.Since(lastScan) >= w.scan.gap && time.Since(stable) >= w.scan.gap {
				idle = w.scan.idle()
				lastScan = time.Now()
			}
			if idle && w.loopsBusy.Load() == 0 && w.loopWakes.Load() == wakes && w.activity.Load() == a {
				return
			}
		}
		now := time.Now()
		if a := w.activity.Load(); a != last {
			last, progress, stable = a, now, now
		}
		if now.Sub(progress) >= StuckAfter || now.Sub(start) >= settleCap {
			return
		}
		// Give the world's goroutines the CPU: a few yields, then short sleeps.
		if spin < 4 {
			goruntime.Gosched()
		} else {
			time.Sleep(min(time.Duration(spin)*10*time.Microsecond, time.Millisecond))
		}
	}
}

// linkDown reports whether the test has the link in an outage or a blackhole: operations in
// flight then wait for device time (a connect for its connectTimeout), not for I/O.
func (w *World) linkDown() bool {
	return w.blackholed.Load() || w.clock.Now().UnixNano() < w.downUntil.Load()
}

// errTimeUp ends world.until when its device-time budget is spent.
var errTimeUp = errors.New("device time budget spent")

// advance runs the world for d of device time, or until pred returns true (checked whenever
// the world is quiet). It returns nil when pred became true or d passed without pred,
// errTimeUp when pred was given and never became true.
func (w *World) advance(d time.Duration, pred func() (bool, error)) error {
	target := w.clock.Now().Add(d)
	for w.ctx.Err() == nil {
		w.settle()
		if pred != nil {
			ok, err := pred()
			if err != nil {
				return err
			}
			if ok {
				return nil
			}
		}
		next, ok := w.clock.Next()
		if !ok || next.After(target) {
			if !w.clock.Now().Before(target) {
				if pred != nil {
					return errTimeUp
				}
				return nil
			}
			w.fire(target)
			continue
		}
		w.fire(next)
	}
	return context.Cause(w.ctx)
}

// String describes the world's broker.
func (w *World) String() string {
	if w.embedded != nil {
		return "embedded broker"
	}
	return fmt.Sprintf("broker %s", w.opts.Broker)
}
