// Package runtime runs a device script on a goja VM owned by one goroutine: the event loop
// (loop.go, start.go, workers.go, dispatch.go, call.go), timers, print, the device clocks
// (clock.go, idleclock.go), the run's errors (errors.go, rejections.go), per-device globals
// (userglobals.go), the entry that compiles a script (compile.go, module.go) and the memory
// budgets that end a run (heapwatch.go: the process's one heap watchdog, membudget.go,
// devmemory.go: the per-device referee). See docs/runtime.md for the model.
//
// The sandbox (source bounds, instrumentation, eval and built-in guards, the limit constants)
// is package runtime/sandbox: each Loop embeds a sandbox.Sandbox, attaches it to its VM in
// New and compiles through it; the loop gives it its hooks (interrupt, budget error, device
// estimate) as a sandbox.Host. goja's unexported internals are reached through
// internal/gojainternal only. The sandbox's exported names used to live here and remain as
// deprecated aliases (sandbox_aliases.go).
//
// The package is a little over 2.5k lines (about 2.9k): the loop and its memory budgets,
// which post to it and interrupt it, are one unit (the heap watchdog also serves fleet's
// process-wide budget, WatchHeap).
package runtime

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"

	"github.com/devicejs/devicejs/internal/gojainternal"
	"github.com/devicejs/devicejs/runtime/sandbox"
)

// DefaultMaxCallStackSize is the JS call depth bound used when
// Options.MaxCallStackSize is 0.
const DefaultMaxCallStackSize = 10000

// Options configures a Loop. The zero value is usable; New reads it once.
type Options struct {
	Stdout           io.Writer // print() output; default os.Stdout
	Clock            Clock     // default NewWallClock()
	MaxCallStackSize int       // JS call depth bound; 0 = DefaultMaxCallStackSize
	// MaxMemory is the heap budget in bytes: a watchdog ends the run with a
	// KindLimit *ScriptError (Err ErrMemoryBudget) when the live heap exceeds
	// it. 0 means no budget. The heap is the process's (see heapwatch.go).
	MaxMemory int64
	// MemoryGuardBudget installs the memory guards (guard_memory.go) against
	// this process-wide heap budget in bytes without starting a watchdog: a
	// call of a guarded built-in that would take the process heap past it
	// ends this run with the budget error before allocating. It is for many
	// loops sharing one process and one watchdog (package fleet); MaxMemory,
	// when set, takes precedence. 0 means none.
	MemoryGuardBudget int64
	// DeviceMemory is this loop's own heap budget in bytes among many loops in one process
	// (devmemory.go): when the estimate of the heap its VM reaches exceeds it, the run ends
	// with the budget error and the other loops run on. It also installs the memory guards
	// against it, unless MaxMemory or MemoryGuardBudget is set. 0 means none.
	DeviceMemory int64
}

// Loop owns a goja VM and runs one device script on it: the top level first,
// then timers and posted jobs until nothing is left that could fire.
//
// Goroutine rule: Post, Clock, Interrupt and Handle.Release are safe from any
// goroutine. Every other method is loop only: call it from the goroutine that
// calls Run, or that runs a started loop at the moment (from setup functions,
// posted jobs or native functions), or before Run or Start.
type Loop struct {
	vm    *goja.Runtime
	clock Clock
	out   io.Writer

	// Any goroutine.
	mu        sync.Mutex
	jobs      []func(*goja.Runtime) error // guarded by mu
	spare     []func(*goja.Runtime) error // guarded by mu: recycled jobs slice
	interrupt error                       // guarded by mu: the cause given to Interrupt
	wakeCh    chan struct{}               // capacity 1: the loop has something to look at
	pending   atomic.Bool                 // set by wake; cleared by the loop when it dispatches
	stopped   atomic.Bool                 // the run is ending (ctx ended or fatal error)
	parked    atomic.Bool                 // a Start run waits with no goroutine: wake resumes it
	started   bool                        // guarded by mu (next to the flags above: no padding)
	ended     bool                        // guarded by mu
	handles   atomic.Int64                // open Handles
	work      *loopWork                   // the loop's share of an IdleClock's Busy; nil without one
	firedUpTo atomic.Int64                // device time (unix ns) of the latest armed timer that fired
	maxMemory int64                       // Options.MaxMemory
	mem       *devMem                     // Options.DeviceMemory's state; nil without one

	// Loop goroutine only.
	ctx        context.Context
	filename   string
	stopWatch  func() bool     // stops the context watcher (context.AfterFunc)
	watchFired chan struct{}   // closed once a started context watcher has finished
	quitMemory func()          // stops the memory watchdog and waits for it; nil without one
	done       func(error)     // Start's completion; nil for Run
	cols       *sandbox.ColMap // the script's columns back to its source; nil: the identity
	fatal      error           // the first error that ends the run
	depth      int             // > 0 while a callback or posted job runs
	baseFrames int             // JS frames below a round run from a preemption point or .wait()
	onStop     []func()
	timers     timerQueue
	armedAt    time.Time // deadline the clock timer is armed for; zero if none
	armedStop  func() bool
	printBuf   []byte
	rejections rejections // promises rejected with no handler yet (rejections.go)
	sb         sandbox.Sandbox
}

// New returns a Loop with a fresh VM. Call it from the goroutine that will
// call Run (or any goroutine, as long as the Loop is not yet shared).
func New(opts Options) *Loop {
	l := &Loop{
		vm:        goja.New(),
		clock:     opts.Clock,
		out:       opts.Stdout,
		wakeCh:    make(chan struct{}, 1),
		maxMemory: opts.MaxMemory,
	}
	// The budget of the memory guards: MaxMemory, else MemoryGuardBudget, else DeviceMemory.
	guardBudget := opts.MemoryGuardBudget
	if opts.MaxMemory > 0 {
		guardBudget = opts.MaxMemory
	}
	if opts.DeviceMemory > 0 {
		l.mem = &devMem{budget: opts.DeviceMemory}
		if guardBudget <= 0 {
			guardBudget = opts.DeviceMemory
			l.mem.guards = true // the guards weigh a call against this device's estimate
		}
	}
	if l.clock == nil {
		l.clock = NewWallClock()
	}
	l.work = newLoopWork(l.clock)
	if l.out == nil {
		l.out = os.Stdout
	}
	n := opts.MaxCallStackSize
	if n <= 0 {
		n = DefaultMaxCallStackSize
	}
	l.vm.SetMaxCallStackSize(n)
	l.vm.SetTimeSource(l.clock.Now)
	l.vm.SetPromiseRejectionTracker(l.trackRejection)
	l.timers.init()
	l.sb.Attach(l.vm, guardBudget, (*loopHost)(l)) // before anything builds a built-in
	// room for the device globals, mqtt and a script's first globals (issue 20: ~0.7 KB)
	gojainternal.ReserveNames(l.vm.GlobalObject(), 24)
	l.installGlobals()
	return l
}

// VM returns the loop's goja runtime. Loop only.
func (l *Loop) VM() *goja.Runtime { return l.vm }

// Clock returns the device clock of the loop. Safe from any goroutine.
func (l *Loop) Clock() Clock { return l.clock }

// Handle keeps its Loop alive while open. Create one with Loop.Hold (loop
// only); Release it from any goroutine.
type Handle struct {
	l        *Loop
	released atomic.Bool
}

// Hold returns an open Handle: the loop does not finish while it is open
// (an open MQTT client, for instance). Loop only.
func (l *Loop) Hold() *Handle {
	l.handles.Add(1)
	return &Handle{l: l}
}

// Release closes the handle. It is idempotent and safe from any goroutine.
func (h *Handle) Release() {
	if h.released.CompareAndSwap(false, true) {
		h.l.handles.Add(-1)
		h.l.wake()
	}
}

// OnStop registers f to run on the loop goroutine when the run ends, for any
// reason, before Run returns. Hooks run last-registered first; a panicking
// hook is recovered. Post returns false while hooks run. Loop only.
func (l *Loop) OnStop(f func()) { l.onStop = append(l.onStop, f) }

// Post queues job to run on the loop goroutine, after the jobs queued before
// it. It never blocks and is safe from any goroutine. It returns false, and
// drops job, once the loop has ended. A non-nil error from job (or a JS
// exception it panics with) ends the run as a script error.
func (l *Loop) Post(job func(vm *goja.Runtime) error) bool {
	l.mu.Lock()
	if l.ended {
		l.mu.Unlock()
		return false
	}
	l.jobs = append(l.jobs, job)
	l.mu.Unlock()
	l.wake()
	return true
}

// errInterrupted is the cause of Interrupt(nil).
var errInterrupted = errors.New("runtime: run interrupted")

// Interrupt ends the run, as if its context had ended with cause err (nil
// means a generic "run interrupted" error): running JS is interrupted, the
// OnStop hooks run and Run returns err. The first call wins. Before Run it
// makes Run end without running the script; after the run it does nothing.
// Safe from any goroutine.
func (l *Loop) Interrupt(err error) {
	if err == nil {
		err = errInterrupted
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended || l.interrupt != nil {
		return
	}
	l.interrupt = err
	l.stopped.Store(true)
	l.vm.Interrupt(errStopSignal)
	l.wake()
}

// interruptCause is the cause given to Interrupt, or nil.
func (l *Loop) interruptCause() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.interrupt
}

// wake tells the loop (or a preemption point) to look for work. Any goroutine.
func (l *Loop) wake() {
	l.pending.Store(true)
	if l.mem != nil {
		l.mem.active.Store(true) // it will run: the next sweep measures it (devmemory.go)
	}
	l.work.woken()
	if l.parked.CompareAndSwap(true, false) {
		goResume(l) // a Start run waiting with no goroutine
		return
	}
	select {
	case l.wakeCh <- struct{}{}:
	default:
	}
}

// errRunTwice is returned by a second call of Run.
var errRunTwice = errors.New("runtime: Loop.Run or Start called more than once")

// Run compiles and runs the script src (named filename in errors), then
// dispatches timers and posted jobs until nothing is left that could fire (no
// live timer, no open Handle, no queued job) or ctx ends. setup functions run
// first, in order, on the loop goroutine; they install globals such as mqtt.
// The goroutine that calls Run is the loop goroutine. Run may be called once
// (Start is the non-blocking alternative; only one of them may be called).
//
// Run returns nil when the loop ran out of work, context.Cause(ctx) when ctx
// ended it (promptly, even if the script spins), and a *ScriptError for a
// syntax error, an uncaught exception or a recovered Go panic. OnStop hooks
// have run when it returns.
func (l *Loop) Run(ctx context.Context, filename, src string, setup ...func(l *Loop) error) error {
	if err := l.begin(ctx, filename); err != nil {
		return err
	}
	_, err := l.run(src, setup)
	return l.finish(err)
}

// begin marks the loop started and starts the context watcher (and the
// memory watchdog). It fails on a second run.
func (l *Loop) begin(ctx context.Context, filename string) error {
	l.mu.Lock()
	if l.started {
		l.mu.Unlock()
		return errRunTwice
	}
	l.started = true
	l.mu.Unlock()
	l.ctx, l.filename = ctx, filename

	// The context watcher is an AfterFunc, not a goroutine per loop (fleets run thousands).
	fired := make(chan struct{})
	l.watchFired = fired
	l.stopWatch = context.AfterFunc(ctx, func() {
		defer close(fired)
		l.stopped.Store(true)
		l.vm.Interrupt(errStopSignal)
		l.wake()
	})
	if l.maxMemory > 0 {
		l.quitMemory = watchHeap(l, l.maxMemory) // the process's one heap watchdog (heapwatch.go)
	}
	if l.mem != nil {
		l.registerDeviceMemory()
	}
	return nil
}

// finish ends a run whose dispatching returned err: it waits for a context
// watcher already started, shuts the loop down (OnStop hooks) and stops the
// memory watchdog. It returns the run's error. Loop only.
func (l *Loop) finish(err error) error {
	if !l.stopWatch() { // the watcher started: let it finish before the shutdown
		<-l.watchFired
	}
	if herr := l.shutdown(); err == nil {
		err = herr
	}
	if l.quitMemory != nil {
		l.quitMemory()
	}
	if l.mem != nil {
		l.unregisterDeviceMemory()
	}
	return err
}

// run is Run without the context watcher and the shutdown: the top level,
// then dispatch (see there). Loop only.
func (l *Loop) run(src string, setup []func(*Loop) error) (ended bool, err error) {
	prg, err := l.compile(l.filename, src)
	if err != nil {
		return true, err
	}
	if err := l.result(); err != nil { // ended before it started: run no setup
		return true, err
	}
	for _, s := range setup {
		if !l.call(func() error { return s(l) }) {
			return true, l.result()
		}
	}
	if !l.call(func() error { _, err := l.vm.RunProgram(prg); return err }) {
		return true, l.result()
	}
	return l.dispatch()
}

// dispatch runs rounds until the run ends, returning ended true and the
// run's error. Between rounds, with nothing ready, a Run loop blocks on
// wakeCh; a Start loop (done set) parks instead: it returns with ended false
// and no goroutine left, and the next wake resumes it on a new goroutine.
// Loop only.
func (l *Loop) dispatch() (ended bool, err error) {
	for {
		if l.stopped.Load() {
			return true, l.result()
		}
		l.round(false)
		if l.stopped.Load() {
			return true, l.result()
		}
		if !l.alive() {
			return true, nil
		}
		if l.work != nil {
			l.pending.Store(false) // a stale wake (a timer stopped as it fired) must not keep it counted
		}
		if l.ready() {
			continue
		}
		if l.done == nil {
			l.work.idle(&l.pending)
			<-l.wakeCh
			continue
		}
		// Park. A wake from now on either finds parked set and resumes the
		// loop itself, or set pending before the check below: then whoever
		// clears parked first carries on.
		l.work.idle(&l.pending)
		l.parked.Store(true)
		if !l.pending.Load() || !l.parked.CompareAndSwap(true, false) {
			return false, nil
		}
	}
}

// result is the error that ends a stopped run. Loop only.
func (l *Loop) result() error {
	if l.fatal != nil {
		return l.fatal
	}
	if err := l.interruptCause(); err != nil {
		return err
	}
	if l.ctx.Err() != nil {
		return context.Cause(l.ctx)
	}
	return nil
}

// shutdown marks the loop ended, drops queued work, clears any interrupt
// and runs the OnStop hooks. It returns the error of the first panicking
// hook. The context watcher must have exited.
func (l *Loop) shutdown() error {
	l.mu.Lock()
	l.ended = true
	l.jobs = nil
	l.vm.ClearInterrupt() // under mu: no Interrupt can slip in after it
	l.mu.Unlock()
	l.stopped.Store(true)
	if l.armedStop != nil {
		l.armedStop()
		l.armedStop = nil
	}
	l.timers.init()
	defer l.work.end()
	var first error
	for len(l.onStop) > 0 {
		f := l.onStop[len(l.onStop)-1]
		l.onStop = l.onStop[:len(l.onStop)-1]
		if err := l.safe(f); err != nil && first == nil {
			first = err
		}
	}
	return first
}
