package runtime

import (
	"context"
	"errors"
	goruntime "runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/devicejs/devicejs/runtime/sandbox"
)

// The process's one heap watchdog. Every run with a budget (Options.MaxMemory) registers its
// loop; one goroutine reads the heap every memorySample while any loop is registered and ends
// each run whose budget the heap outgrew, as a watchdog per loop did, without a goroutine and a
// 2 ms ticker per loop (a test world with 1,000 devices woke 500,000 times a second for them,
// and the goroutines never looked idle). The heap is the process's: every loop whose budget it
// exceeds is stopped, the same answer each loop's own watchdog gave. A process-wide budget
// (package fleet's Config.MaxMemory, which ends a whole fleet) registers with the same
// goroutine through WatchHeap.

// heapWatch is the registry. Its goroutine runs while loops is not empty: the registration
// that finds none running starts one, the unregistration that empties loops stops it and waits
// for it to end (so that no goroutine outlives the last run).
var heapWatch struct {
	mu    sync.Mutex
	loops map[*Loop]*watchedLoop
	procs map[*heapBudget]struct{} // WatchHeap's process-wide budgets
	// stop ends the running goroutine, which closes exited; nil when none runs.
	stop, exited chan struct{}
	// limitPrev is the Go memory limit before the first registration; limitSet whether the
	// watchdog changed it (to the smallest budget registered, when lower).
	limitPrev int64
	limitSet  bool
}

// watchedLoop is one registered run.
type watchedLoop struct {
	budget int64
	// stopping is set once the run was stopped at its budget; done is closed when its
	// watchStop goroutine (the backstop's watch) ends, quit to end it.
	stopping   bool
	quit, done chan struct{}
}

// watchHeap registers l with its budget and returns the function that unregisters it and waits
// for its backstop watch, if one was started. Any goroutine.
func watchHeap(l *Loop, budget int64) (unwatch func()) {
	w := &watchedLoop{budget: budget, quit: make(chan struct{}), done: make(chan struct{})}
	heapWatch.mu.Lock()
	if heapWatch.loops == nil {
		heapWatch.loops = map[*Loop]*watchedLoop{}
	}
	heapWatch.loops[l] = w
	startHeapWatchLocked()
	heapWatch.mu.Unlock()
	return func() {
		heapWatch.mu.Lock()
		delete(heapWatch.loops, l)
		stopping := w.stopping
		exited := stopHeapWatchLocked()
		heapWatch.mu.Unlock()
		close(w.quit)
		if stopping {
			<-w.done
		}
		if exited != nil {
			<-exited
		}
	}
}

// startHeapWatchLocked sets the memory limit for the registrations and starts the goroutine if
// none runs.
func startHeapWatchLocked() {
	setHeapLimitLocked()
	if heapWatch.stop == nil {
		heapWatch.stop, heapWatch.exited = make(chan struct{}), make(chan struct{})
		go runHeapWatch(heapWatch.stop, heapWatch.exited)
	}
}

// stopHeapWatchLocked sets the memory limit for the registrations left and, when none is left,
// stops the goroutine and returns the channel its end closes (nil if it goes on).
func stopHeapWatchLocked() (exited chan struct{}) {
	setHeapLimitLocked()
	if len(heapWatch.loops) == 0 && len(heapWatch.procs) == 0 && heapWatch.stop != nil {
		close(heapWatch.stop)
		exited = heapWatch.exited
		heapWatch.stop, heapWatch.exited = nil, nil
	}
	return exited
}

// heapBudget is one WatchHeap registration.
type heapBudget struct {
	budget, limit int64
	exceeded      func(live uint64)
	lastGC        time.Time // the watchdog goroutine's: when it last collected for this budget
	fired         bool      // the watchdog goroutine's: exceeded was called
	mu            sync.Mutex
	ended         bool // guarded by mu: unregistered
}

// heapRecheck is how often at most the watchdog collects for a WatchHeap budget to tell
// garbage from live objects.
const heapRecheck = 100 * time.Millisecond

// WatchHeap registers a process-wide heap budget in bytes with the process's one heap watchdog
// (the goroutine that also watches every run with Options.MaxMemory) and returns the function
// that unregisters it; once that returns, exceeded is not called. exceeded is called at most
// once, on the watchdog's goroutine, with the live heap, when the heap outgrows budget: objects
// over twice the budget at once (allocation faster than a collection), else when the live heap
// as of the last collection is over it, or the heap objects are and a collection (at most every
// 100 ms) leaves the live heap over it. While registered, the Go memory limit is at most limit
// (package fleet sets it a quarter above the budget, so that the collector works harder rather
// than let garbage count, yet a heap that really grows passes the budget instead of sinking
// into collections at the limit). Any goroutine.
func WatchHeap(budget, limit int64, exceeded func(live uint64)) (unwatch func()) {
	b := &heapBudget{budget: budget, limit: limit, exceeded: exceeded}
	heapWatch.mu.Lock()
	if heapWatch.procs == nil {
		heapWatch.procs = map[*heapBudget]struct{}{}
	}
	heapWatch.procs[b] = struct{}{}
	startHeapWatchLocked()
	heapWatch.mu.Unlock()
	return func() {
		b.mu.Lock()
		b.ended = true // no call from now on; waits for one under way
		b.mu.Unlock()
		heapWatch.mu.Lock()
		delete(heapWatch.procs, b)
		exited := stopHeapWatchLocked()
		heapWatch.mu.Unlock()
		if exited != nil {
			<-exited
		}
	}
}

// check runs b's rules on the heap figures (the watchdog's goroutine) and calls exceeded once
// when the heap outgrew the budget.
func (b *heapBudget) check(live, objects uint64, samples []metrics.Sample) {
	budget := uint64(b.budget)
	switch {
	case objects > 2*budget:
		live = objects
	case live > budget, objects > budget && time.Since(b.lastGC) >= heapRecheck:
		goruntime.GC()
		b.lastGC = time.Now()
		if live, _ = sandbox.HeapFigures(samples); live <= budget {
			return
		}
	default:
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fired || b.ended {
		return
	}
	b.fired = true
	b.exceeded(live)
}

// setHeapLimitLocked sets the Go memory limit to the smallest registered budget when that is
// below the limit found at the first registration, so that the runtime collects whenever the
// heap nears a budget, and restores that limit when no loop is registered.
func setHeapLimitLocked() {
	if len(heapWatch.loops) == 0 && len(heapWatch.procs) == 0 {
		if heapWatch.limitSet {
			debug.SetMemoryLimit(heapWatch.limitPrev)
			heapWatch.limitSet = false
		}
		return
	}
	if !heapWatch.limitSet {
		heapWatch.limitPrev = debug.SetMemoryLimit(-1)
	}
	low := heapWatch.limitPrev
	for _, w := range heapWatch.loops {
		low = min(low, w.budget)
	}
	for b := range heapWatch.procs {
		low = min(low, b.limit)
	}
	debug.SetMemoryLimit(low)
	heapWatch.limitSet = true
}

// runHeapWatch is the watchdog's goroutine. It carries no labels of the goroutine that started
// it (a test world's, say): it belongs to no one run.
func runHeapWatch(stop <-chan struct{}, exited chan<- struct{}) {
	defer close(exited)
	pprof.SetGoroutineLabels(context.Background())
	samples := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	t := time.NewTicker(memorySample)
	defer t.Stop()
	type over struct {
		l *Loop
		w *watchedLoop
	}
	var due []over
	var procs []*heapBudget
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		live, objects := sandbox.HeapFigures(samples)
		due = due[:0]
		heapWatch.mu.Lock()
		for l, w := range heapWatch.loops {
			if !w.stopping && (live > uint64(w.budget) || objects > 2*uint64(w.budget)) {
				w.stopping = true
				due = append(due, over{l, w})
			}
		}
		procs = procs[:0]
		for b := range heapWatch.procs {
			if !b.fired {
				procs = append(procs, b)
			}
		}
		heapWatch.mu.Unlock()
		for _, o := range due {
			o.l.stopAtBudget(o.w, live, objects, samples)
		}
		for _, b := range procs {
			b.check(live, objects, samples)
		}
	}
}

// stopAtBudget ends l's run, whose budget the heap outgrew (live bytes as of the last
// collection, objects now): it records the error and interrupts the VM (Interrupt), which JS
// cannot catch, then watches the stopping run for the backstop (watchStop) on a goroutine of
// its own. The watchdog's goroutine.
func (l *Loop) stopAtBudget(w *watchedLoop, live, objects uint64, samples []metrics.Sample) {
	if objects > 2*uint64(w.budget) {
		live = max(live, objects)
	}
	se := l.budgetError("the heap holds %s, the budget is %s", mib(live), mib(uint64(w.budget)))
	l.Interrupt(se)
	// A run already stopping for another reason (a guard's budget error included) is watched
	// with that error only if it is a budget error.
	cause, ok := l.interruptCause().(*ScriptError)
	if !ok || !errors.Is(cause, ErrMemoryBudget) {
		close(w.done)
		return
	}
	go func() {
		defer close(w.done)
		t := time.NewTicker(memorySample)
		defer t.Stop()
		l.watchStop(cause, w.budget, append([]metrics.Sample(nil), samples...), t.C, w.quit)
	}()
}
