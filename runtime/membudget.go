package runtime

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

const (
	// memorySample is how often the memory watchdog reads the heap size.
	memorySample = 2 * time.Millisecond
	// backstopGrace is how long a run stopped at its memory budget may take
	// to end before the backstop (SetMemoryBackstop) is called, when its
	// memory no longer grows: the CLI's bound for a stuck built-in after
	// --timeout or a signal is the same 2 s.
	backstopGrace = 2 * time.Second
)

// ErrMemoryBudget is the Err of the *ScriptError that ends a run whose heap
// outgrew Options.MaxMemory, or that a checked built-in refused to let
// outgrow it.
var ErrMemoryBudget = errors.New("memory budget exceeded")

// memoryBackstop is the function SetMemoryBackstop installed, or nil.
var memoryBackstop atomic.Pointer[func(*ScriptError)]

// SetMemoryBackstop installs f as the process's memory backstop and returns
// the previous one (nil for none). The watchdog of a run with a budget calls
// f, on its own goroutine and at most once per run, when the run was stopped
// at its budget but has not ended: the VM is inside one long goja built-in
// (Go code that no interrupt reaches) and its memory has grown by another
// quarter of the budget since, or 2 s have passed. The run cannot be ended from
// outside, so f is expected not to return: `devicejs run` prints the budget
// error and exits with status 1. The default, nil, only lets the run go on.
// The backstop is process-wide because the heap is. Any goroutine.
func SetMemoryBackstop(f func(*ScriptError)) (prev func(*ScriptError)) {
	var p *func(*ScriptError)
	if f != nil {
		p = &f
	}
	if old := memoryBackstop.Swap(p); old != nil {
		return *old
	}
	return nil
}

// budgetError is the *ScriptError of a run stopped at its memory budget.
func (l *Loop) budgetError(format string, args ...any) *ScriptError {
	return &ScriptError{Kind: KindLimit, File: l.filename, Err: ErrMemoryBudget,
		Message: "memory budget exceeded: " + fmt.Sprintf(format, args...)}
}

// watchMemory watches the heap every memorySample until quit is closed and
// ends the run when the heap exceeds budget bytes: it records the error and
// interrupts the VM (Interrupt), which JS cannot catch. It reads the bytes of
// heap objects now (current, but counting garbage) and the live bytes as
// marked by the last collection. Either a live heap over the budget or
// objects over twice the budget (growing faster than the collector keeps up:
// huge typed arrays are allocated without being touched) fail at once.
// It never collects itself: it sets the Go memory limit to the budget for
// the duration, so the runtime collects whenever the heap nears the budget
// (a forced collection blocked the watchdog for seconds on a heap growing
// inside one built-in). After the interrupt it goes on watching (watchStop)
// and calls the backstop if the run does not end. The heap is the
// process's: the budget is meant for one loop per process. Any goroutine
// (its own).
func (l *Loop) watchMemory(budget int64, quit <-chan struct{}) {
	prev := debug.SetMemoryLimit(-1)
	if budget < prev {
		debug.SetMemoryLimit(budget)
		defer debug.SetMemoryLimit(prev)
	}
	samples := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	t := time.NewTicker(memorySample)
	defer t.Stop()
	for {
		select {
		case <-quit:
			return
		case <-t.C:
		}
		live, objects := heapFigures(samples)
		if live <= uint64(budget) && objects <= 2*uint64(budget) {
			continue
		}
		if objects > 2*uint64(budget) {
			live = max(live, objects)
		}
		se := l.budgetError("the heap holds %s, the budget is %s", mib(live), mib(uint64(budget)))
		l.Interrupt(se)
		// A run already stopping for another reason (a guard's budget error
		// included) is watched with that error only if it is a budget error.
		if cause, ok := l.interruptCause().(*ScriptError); ok && errors.Is(cause, ErrMemoryBudget) {
			l.watchStop(cause, budget, samples, t.C, quit)
		}
		return
	}
}

// watchStop watches a run that was stopped at its budget until quit is
// closed (the run ended) and calls the backstop, once, if the heap objects
// or the resident set grow by a quarter of the budget first, or backstopGrace
// passes. Any goroutine (the watchdog's).
func (l *Loop) watchStop(se *ScriptError, budget int64, samples []metrics.Sample, tick <-chan time.Time, quit <-chan struct{}) {
	_, objects0 := heapFigures(samples)
	rss0 := residentBytes()
	slack := uint64(budget / 4)
	since := time.Now()
	for {
		select {
		case <-quit:
			return
		case <-tick:
		}
		_, objects := heapFigures(samples)
		rss := residentBytes()
		if objects > objects0+slack || rss > rss0+slack || time.Since(since) >= backstopGrace {
			if f := memoryBackstop.Load(); f != nil {
				(*f)(se)
			}
			return
		}
	}
}

// heapFigures reads the live heap bytes as of the last collection and the
// bytes of heap objects now.
func heapFigures(samples []metrics.Sample) (live, objects uint64) {
	metrics.Read(samples)
	for i, p := range []*uint64{&live, &objects} {
		if samples[i].Value.Kind() == metrics.KindUint64 {
			*p = samples[i].Value.Uint64()
		}
	}
	return live, objects
}

// residentBytes is the process's resident set size from /proc/self/statm,
// or 0 where that cannot be read (then only the heap figure is watched).
func residentBytes() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * uint64(os.Getpagesize())
}

// mib formats a byte count in MiB.
func mib(n uint64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }
