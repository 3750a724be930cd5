package runtime

import (
	goruntime "runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"github.com/dop251/goja"

	"github.com/devicejs/devicejs/internal/gojainternal"
	"github.com/devicejs/devicejs/runtime/sandbox"
)

// The per-device memory budget (Options.DeviceMemory): many loops in one process, each
// stopped alone when its own heap outgrows its own budget.
//
// Go has no per-goroutine or per-VM heap figure, so a device's heap is an estimate: the bytes
// of the Go values its VM can reach (estimateHeap), measured on the loop goroutine. Measuring
// costs time in proportion to the device's heap, so it is done only when it can matter: one
// referee goroutine per process (while at least one such loop runs) reads the process's
// allocation count every refereeSample and asks a loop to measure itself when it ran since
// its last measurement (a loop woken by a timer, a message, a posted job; an idle loop is
// never asked), the process has allocated half its headroom under its budget since (step: a
// loop cannot grow by more than the process allocates), and four times its last
// measurement's duration has passed (notBefore). The request is a posted job (a loop between
// callbacks, or one spinning at the top level, runs it at its next preemption point) and, for
// a loop spinning inside a callback, the preemption point itself (jsTick). A loop whose last
// step took more than slowStep checks the allocation count itself at its next preemption
// point (tickMemory). A loop over its budget ends with the budget error (ErrMemoryBudget);
// the others run on.
//
// Backstop: what the estimate cannot see (see estimateHeap) still grows the process heap. When
// the live heap exceeds the heap the process held when the referee started plus the sum of
// the running loops' budgets, the loop with the largest estimate is stopped with the budget
// error (one at a time, refereeBlameGap apart), not every loop.

const (
	// refereeSample is how often the referee reads the process heap.
	refereeSample = 2 * time.Millisecond
	// refereeMinStep is the least allocation between two measurements of a loop; the step is
	// otherwise half the loop's headroom (devMem.step).
	refereeMinStep = 1 << 20
	// refereeBlameGap is how long the backstop waits after stopping a loop before it stops
	// another (the stopped one's heap becomes garbage only once it has ended).
	refereeBlameGap = time.Second
)

// devMem is the per-device memory state of a loop with Options.DeviceMemory.
type devMem struct {
	budget   int64
	active   atomic.Bool  // woken (or started) since its last measurement between callbacks
	req      atomic.Bool  // a measurement is requested and not yet made
	estimate atomic.Int64 // the last estimate, in bytes
	measured atomic.Int32 // how many measurements were made
	guards   bool         // the memory guards check against this budget (overBudget)
	// Loop only: tickMemory's time of the last preemption point (since processStart) and
	// its metrics sample.
	lastTick    time.Duration
	allocSample [1]metrics.Sample
	allocAt     atomic.Uint64 // the process's allocation count (allocated) at its last measurement
	// notBefore (unix ns) spaces measurements: four times the last one's duration after it.
	notBefore atomic.Int64
	// Loop only: the JS functions of live timers (the timer queue holds only Go callables,
	// which the walk cannot see into). Pruned at each measurement.
	timerFns map[int64]goja.Value
	// Loop only: HeapRoot's values, pruned of collected ones at each measurement.
	roots map[uintptr]weak.Pointer[goja.Object]
}

// keepTimer records the JS function of timer id as a root of the estimate. Loop only.
func (m *devMem) keepTimer(id int64, fn goja.Value) {
	if m.timerFns == nil {
		m.timerFns = map[int64]goja.Value{}
	}
	m.timerFns[id] = fn
}

// HeapRoot records o, a script value that only host Go code holds (an event handler given to
// a binding), as a root of the DeviceMemory estimate under key, the address of the host's
// slot for it: a later call with the same key replaces it. Only a weak reference is kept (the
// estimate never keeps a value alive). Without DeviceMemory it does nothing. Loop only.
func (l *Loop) HeapRoot(key uintptr, o *goja.Object) {
	if l == nil || l.mem == nil || o == nil {
		return
	}
	if l.mem.roots == nil {
		l.mem.roots = map[uintptr]weak.Pointer[goja.Object]{}
	}
	l.mem.roots[key] = weak.Make(o)
}

// referee is the process's per-device memory referee.
var referee struct {
	sync.Mutex
	loops map[*Loop]struct{}
	sum   int64         // the sum of their budgets
	quit  chan struct{} // closes the running referee; nil when none runs
}

// registerDeviceMemory adds a starting loop with a per-device budget to the referee, starting
// the referee if it is the first. Any goroutine.
func (l *Loop) registerDeviceMemory() {
	l.mem.active.Store(true)
	referee.Lock()
	defer referee.Unlock()
	if referee.loops == nil {
		referee.loops = map[*Loop]struct{}{}
	}
	referee.loops[l] = struct{}{}
	referee.sum += l.mem.budget
	if referee.quit == nil {
		referee.quit = make(chan struct{})
		go runReferee(referee.quit)
	}
}

// unregisterDeviceMemory removes an ended loop; the last one stops the referee. Any goroutine.
func (l *Loop) unregisterDeviceMemory() {
	referee.Lock()
	defer referee.Unlock()
	if _, ok := referee.loops[l]; !ok {
		return
	}
	delete(referee.loops, l)
	referee.sum -= l.mem.budget
	if len(referee.loops) == 0 && referee.quit != nil {
		close(referee.quit)
		referee.quit = nil
	}
}

// runReferee is the referee's goroutine (see the top of this file).
func runReferee(quit <-chan struct{}) {
	samples := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	allocSample := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	base, objects := sandbox.HeapFigures(samples)
	base = max(base, objects/2) // no collection yet: about half of the objects are live
	var blamed time.Time
	t := time.NewTicker(refereeSample)
	defer t.Stop()
	var asked []*Loop
	next := uint64(0) // the allocation count at which a loop is next due
	for {
		select {
		case <-quit:
			return
		case <-t.C:
		}
		allocs := allocated(allocSample)
		now := time.Now().UnixNano()
		live, _ := sandbox.HeapFigures(samples)
		referee.Lock()
		sum, n := referee.sum, len(referee.loops)
		asked = asked[:0]
		if allocs >= next {
			next = ^uint64(0)
			for l := range referee.loops {
				at := l.mem.allocAt.Load()
				if !l.mem.active.Load() { // it has not run since: it has not grown
					l.mem.allocAt.Store(allocs)
					at = allocs
				} else if allocs-at >= l.mem.step() && now >= l.mem.notBefore.Load() {
					asked = append(asked, l)
					at = allocs // asked: not due again before it has measured
				}
				next = min(next, at+l.mem.step())
			}
		}
		var blame *Loop
		if live > base+uint64(sum) && time.Since(blamed) >= refereeBlameGap && walking.Load() == 0 {
			for l := range referee.loops {
				if blame == nil || l.mem.estimate.Load() > blame.mem.estimate.Load() {
					blame = l
				}
			}
		}
		referee.Unlock()
		for _, l := range asked {
			l.requestMeasure()
		}
		if blame != nil {
			blamed = time.Now()
			goruntime.GC() // the live figure may be stale: look again before stopping anyone
			if live, _ = sandbox.HeapFigures(samples); live > base+uint64(sum) {
				blame.Interrupt(blame.budgetError("the process heap holds %s, over the %s of the budgets of its %d devices (DeviceMemory) and its own %s; this device's estimated heap, %s, is the largest",
					mib(live), mib(uint64(sum)), n, mib(base), mib(uint64(blame.mem.estimate.Load()))))
			}
		}
	}
}

// step is how many bytes the process allocates, at least, before the loop is measured again:
// half its headroom under its budget (a loop cannot grow by more than the process
// allocates), and at least refereeMinStep.
func (m *devMem) step() uint64 {
	return uint64(max((m.budget-m.estimate.Load())/2, refereeMinStep))
}

// allocated is the bytes the process has allocated on the heap so far (a monotonic count).
func allocated(s []metrics.Sample) uint64 {
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindUint64 {
		return s[0].Value.Uint64()
	}
	return 0
}

// walking counts the measurements under way: the backstop waits for them, as their own
// bookkeeping (a set of the addresses seen, up to a third of the heap they measure) is live
// while they run.
var walking atomic.Int32

// requestMeasure asks the loop to measure its heap at its next preemption point or between
// callbacks. Any goroutine.
func (l *Loop) requestMeasure() {
	if l.mem.req.CompareAndSwap(false, true) {
		l.Post(func(*goja.Runtime) error {
			if l.baseFrames == 0 { // between callbacks, not inside a spinning top level
				l.mem.active.Store(false)
			}
			l.measure()
			return nil
		})
	}
}

// measure estimates the loop's heap if a measurement is requested, and ends the run with the
// budget error when the estimate exceeds the budget. Loop only.
func (l *Loop) measure() {
	if !l.mem.req.CompareAndSwap(true, false) || l.stopped.Load() {
		return
	}
	walking.Add(1)
	began := time.Now()
	est := l.estimateHeap(l.mem.budget + 1)
	walking.Add(-1)
	// At most a fifth of the device's time goes to measuring it.
	l.mem.notBefore.Store(time.Now().Add(4 * time.Since(began)).UnixNano())
	l.mem.estimate.Store(est)
	l.mem.measured.Add(1)
	// Due again once the process has allocated step() more (its own garbage included).
	l.mem.allocAt.Store(allocated([]metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}))
	if est > l.mem.budget {
		l.Interrupt(l.budgetError("the device's heap is estimated at more than %s, its budget (DeviceMemory) is %s",
			mib(uint64(est)), mib(uint64(l.mem.budget))))
	}
}

// tickMemory runs at each preemption point of a loop with DeviceMemory. A step of the script
// that took more than slowStep since the previous preemption point may have allocated a lot
// in one go (a string doubled, a large array built by one built-in): the loop then checks
// the process's allocation count itself and measures at once if it is due, rather than wait
// for the referee, which could see it only after the next, larger step. Costs a clock read
// per preemption point (loops without DeviceMemory do not call it). Loop only.
func (l *Loop) tickMemory() {
	now := time.Since(processStart)
	last := l.mem.lastTick
	l.mem.lastTick = now
	if last == 0 || now-last < slowStep || l.stopped.Load() {
		return
	}
	if l.mem.allocSample[0].Name == "" {
		l.mem.allocSample[0].Name = "/gc/heap/allocs:bytes"
	}
	// Due as for the referee; sooner than notBefore only when the process has allocated the
	// device's whole headroom since (it may be over its budget already).
	grown, step := allocated(l.mem.allocSample[:])-l.mem.allocAt.Load(), l.mem.step()
	if grown < step || grown < 2*step && time.Now().UnixNano() < l.mem.notBefore.Load() {
		return
	}
	l.mem.req.Store(true)
	l.measure()
}

// slowStep is the time between two preemption points after which tickMemory checks.
const slowStep = 5 * time.Millisecond

// processStart is the origin of tickMemory's monotonic clock.
var processStart = time.Now()

// DeviceMemoryEstimate is the loop's last estimate of its own heap in bytes (0 before the
// first measurement, and without Options.DeviceMemory). Any goroutine.
func (l *Loop) DeviceMemoryEstimate() int64 {
	if l.mem == nil {
		return 0
	}
	return l.mem.estimate.Load()
}

// EstimateHeap measures the loop's heap now, as the per-device budget does (see
// estimateHeap), whether or not it has a budget. Loop only.
func (l *Loop) EstimateHeap() int64 { return l.estimateHeap(1 << 62) }

// estimateHeap is the bytes of the Go values reachable from the loop's VM (its global object
// and built-ins, its stack and scopes, every JS value they reach) and from its timers' JS
// functions and HeapRoot's values, stopping once it passes limit. It counts each allocation once (by address),
// slices by capacity, maps by entry, strings by length (strings under 64 bytes each time
// they are reached). It does not see other values that only host Go code holds: a callback
// given to a publish or subscribe until it is called, or a queued message. Loop only.
func (l *Loop) estimateHeap(limit int64) int64 {
	// Sized for the last estimate (one address per ~100 bytes): growing the set rehashes it.
	hint := 1024
	if l.mem != nil {
		hint = int(min(l.mem.estimate.Load()/100, 1<<22)) + 1024
	}
	w := gojainternal.NewHeapWalker(hint, limit)
	w.PushRuntime(l.vm)
	if l.mem != nil {
		for id, fn := range l.mem.timerFns {
			if _, live := l.timers.byID[id]; !live {
				delete(l.mem.timerFns, id)
				continue
			}
			w.PushValue(fn)
		}
		for key, wp := range l.mem.roots {
			o := wp.Value()
			if o == nil {
				delete(l.mem.roots, key)
				continue
			}
			w.PushObject(o)
		}
	}
	for _, t := range l.timers.byID {
		w.PushValues(t.args)
	}
	return w.Run()
}
