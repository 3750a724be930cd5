package runtime

import (
	"sync"
	"sync/atomic"
)

// IdleClock is a Clock that also tells its owner, exactly, whether the loops using it have work:
// Busy counts the loops that are running JS, have a job or a timer wake-up pending, or have not
// yet blocked for the first time. A loop counts itself in Busy from New until it blocks with
// nothing ready (waiting for a job, a timer or a .wait() deadline), and again from the moment
// anything wakes it: the waker counts it before returning (Post, a clock timer firing,
// Handle.Release, Interrupt), so a Busy of 0 read after the wakers returned means every loop
// is idle. A script spinning at its top level (while (1) { ... }) polls for timers and jobs at
// every iteration: it is idle at a preemption point that finds nothing pending. Code running
// inside a callback (a timer, an event handler) is busy for as long as it runs. The test world (package devtest) uses it to move virtual time only when the
// scripts are idle (docs/testing.md, "Virtual time: the exact rule").
//
// Only loops created with an *IdleClock as Options.Clock pay for the counting (a mutex per
// wake); Busy must be non-nil. Safe from any goroutine.
type IdleClock struct {
	Clock
	Busy *atomic.Int64
	// Wakes, if non-nil, counts every time a loop of this clock goes from idle to busy: an
	// owner that read Busy as 0, then Wakes, then Busy as 0 again with Wakes unchanged knows
	// that no loop ran in between.
	Wakes *atomic.Uint64

	pre   atomic.Bool // Precount was called
	taken atomic.Bool // the precounted busy unit was taken over by a loop or released
}

// Precount adds one busy unit now, for a loop that will be created later on another goroutine
// with this clock: that loop takes the unit over instead of adding its own, so no instant
// between the call and the loop's first block reads as idle. Call it at most once, before the
// loop is created; ReleasePrecount gives the unit back if no loop took it.
func (c *IdleClock) Precount() {
	if c.pre.CompareAndSwap(false, true) {
		c.Busy.Add(1)
	}
}

// ReleasePrecount gives back the unit of Precount if no loop took it over (the device failed
// before its loop was created).
func (c *IdleClock) ReleasePrecount() {
	if c.pre.Load() && c.taken.CompareAndSwap(false, true) {
		c.Busy.Add(-1)
	}
}

// loopWork is a loop's share of an IdleClock's Busy. Its methods are no-ops on a nil
// *loopWork (a loop without an IdleClock).
type loopWork struct {
	busy    *atomic.Int64
	wakes   *atomic.Uint64 // IdleClock.Wakes; may be nil
	on      atomic.Bool    // mirrors counted, for spinIdle's cheap check
	gen     atomic.Uint64  // incremented each time the loop is counted busy
	mu      sync.Mutex
	counted bool // this loop is counted in busy
	ended   bool // the run ended: no more counting

	// Loop goroutine only: spinIdle's count of idle preemption points since the loop was
	// last counted busy (generation spinGen).
	spins   int
	spinGen uint64
}

// SpinIdleAfter is how many preemption points in a row a script's top level must pass with
// nothing pending before its loop counts as idle while it spins (loopWork.spinIdle). A top
// level that runs a finite loop shorter than that (building a table at start-up, say) is busy
// throughout, so device time does not move under it; one that spins forever (while (1) {})
// lets time move on after that many iterations, at each step. A count, not a wall time, so
// that the same script behaves the same on any machine.
const SpinIdleAfter = 50_000

// newLoopWork counts a new loop of clock c busy (taking over a precounted unit), or returns
// nil when c is not an IdleClock.
func newLoopWork(c Clock) *loopWork {
	ic, ok := c.(*IdleClock)
	if !ok || ic.Busy == nil {
		return nil
	}
	w := &loopWork{busy: ic.Busy, wakes: ic.Wakes, counted: true}
	w.on.Store(true)
	w.gen.Store(1)
	if !(ic.pre.Load() && ic.taken.CompareAndSwap(false, true)) {
		ic.Busy.Add(1)
	}
	return w
}

// woken counts the loop busy: something was just made pending for it. Any goroutine; called
// after the pending flag is set.
func (w *loopWork) woken() {
	if w == nil {
		return
	}
	w.mu.Lock()
	if !w.counted && !w.ended {
		w.counted = true
		w.gen.Add(1)
		w.on.Store(true)
		w.busy.Add(1)
		if w.wakes != nil {
			w.wakes.Add(1)
		}
	}
	w.mu.Unlock()
}

// idle uncounts the loop before it blocks, unless a wake is pending (pending is read under the
// mutex that woken takes, after the waker set it: a wake is never lost). Loop only.
func (w *loopWork) idle(pending *atomic.Bool) {
	if w == nil {
		return
	}
	w.mu.Lock()
	if w.counted && !pending.Load() {
		w.counted = false
		w.on.Store(false)
		w.busy.Add(-1)
	}
	w.mu.Unlock()
}

// spinIdle is idle for a script spinning at its top level (a preemption point found nothing
// pending, SpinIdleAfter times in a row since the loop was last counted busy): such a loop
// polls for timers and jobs at every iteration, as a blocked loop waits for them, so it is
// idle until something is made pending for it. One atomic load when it is already uncounted.
// Loop only.
func (w *loopWork) spinIdle(pending *atomic.Bool) {
	if w == nil || !w.on.Load() {
		return
	}
	if g := w.gen.Load(); g != w.spinGen {
		w.spinGen, w.spins = g, 0
	}
	if w.spins++; w.spins >= SpinIdleAfter {
		w.idle(pending)
	}
}

// end uncounts the loop for good (the run is over). Loop only.
func (w *loopWork) end() {
	if w == nil {
		return
	}
	w.mu.Lock()
	w.ended = true
	if w.counted {
		w.counted = false
		w.on.Store(false)
		w.busy.Add(-1)
	}
	w.mu.Unlock()
}
