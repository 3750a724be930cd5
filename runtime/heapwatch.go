package runtime

import (
	"context"
	"errors"
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
// exceeds is stopped, the same answer each loop's own watchdog gave.

// heapWatch is the registry. Its goroutine runs while loops is not empty: the registration
// that finds none running starts one, the unregistration that empties loops stops it and waits
// for it to end (so that no goroutine outlives the last run).
var heapWatch struct {
	mu    sync.Mutex
	loops map[*Loop]*watchedLoop
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
	setHeapLimitLocked()
	if heapWatch.stop == nil {
		heapWatch.stop, heapWatch.exited = make(chan struct{}), make(chan struct{})
		go runHeapWatch(heapWatch.stop, heapWatch.exited)
	}
	heapWatch.mu.Unlock()
	return func() {
		heapWatch.mu.Lock()
		delete(heapWatch.loops, l)
		setHeapLimitLocked()
		stopping := w.stopping
		var exited chan struct{}
		if len(heapWatch.loops) == 0 && heapWatch.stop != nil {
			close(heapWatch.stop)
			exited = heapWatch.exited
			heapWatch.stop, heapWatch.exited = nil, nil
		}
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

// setHeapLimitLocked sets the Go memory limit to the smallest registered budget when that is
// below the limit found at the first registration, so that the runtime collects whenever the
// heap nears a budget, and restores that limit when no loop is registered.
func setHeapLimitLocked() {
	if len(heapWatch.loops) == 0 {
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
		heapWatch.mu.Unlock()
		for _, o := range due {
			o.l.stopAtBudget(o.w, live, objects, samples)
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
