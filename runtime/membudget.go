package runtime

import (
	"errors"
	"fmt"
	"os"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/devicejs/devicejs/runtime/sandbox"
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

// loopHost is a Loop as its sandbox's Host (sandbox.Host): the conversion of a *Loop costs
// no allocation.
type loopHost Loop

// Interrupt ends the run (Loop.Interrupt).
func (h *loopHost) Interrupt(err error) { (*Loop)(h).Interrupt(err) }

// BudgetError is the run's budget error (budgetError) with message msg.
func (h *loopHost) BudgetError(msg string) error { return (*Loop)(h).budgetError("%s", msg) }

// DeviceEstimate is the device's heap estimate when the memory guards weigh calls against it
// (Options.DeviceMemory without another budget).
func (h *loopHost) DeviceEstimate() (int64, bool) {
	if h.mem == nil || !h.mem.guards {
		return 0, false
	}
	return h.mem.estimate.Load(), true
}

// budgetError is the *ScriptError of a run stopped at its memory budget.
func (l *Loop) budgetError(format string, args ...any) *ScriptError {
	return &ScriptError{Kind: KindLimit, File: l.filename, Err: ErrMemoryBudget,
		Message: "memory budget exceeded: " + fmt.Sprintf(format, args...)}
}

// watchStop watches a run that was stopped at its budget until quit is
// closed (the run ended) and calls the backstop, once, if the heap objects
// or the resident set grow by a quarter of the budget first, or backstopGrace
// passes. Any goroutine (the watchdog's).
func (l *Loop) watchStop(se *ScriptError, budget int64, samples []metrics.Sample, tick <-chan time.Time, quit <-chan struct{}) {
	_, objects0 := sandbox.HeapFigures(samples)
	rss0 := residentBytes()
	slack := uint64(budget / 4)
	since := time.Now()
	for {
		select {
		case <-quit:
			return
		case <-tick:
		}
		_, objects := sandbox.HeapFigures(samples)
		rss := residentBytes()
		if objects > objects0+slack || rss > rss0+slack || time.Since(since) >= backstopGrace {
			if f := memoryBackstop.Load(); f != nil {
				(*f)(se)
			}
			return
		}
	}
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
