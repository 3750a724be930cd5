package devtest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dop251/goja"

	"github.com/devicejs/devicejs/runtime"
)

// How tests run on the file's loop (docs/testing.md, "Asynchronous tests"). Each test starts
// from its own loop job, so the promise jobs its function queued run when the function returns,
// as at the end of any entry into JS. A test whose function returns a thenable stays running
// until it settles (or its timeout): the loop keeps dispatching timers and jobs meanwhile.
//
// Failures outside the test function's own call are attributed, never lost:
//   - a throw in a setTimeout/setInterval callback fails the test that created the timer;
//   - a promise rejected with no handler once the JS stack is empty again fails the test whose
//     code was running when it was rejected (f.entry: the test a job or timer belongs to);
//   - if that test has already ended, its result turns failed ("after the test ended: ...");
//   - from the file's top level (before any test), the file fails as before.
//
// The file's runtime still ends the run on an uncaught throw from code it calls itself (the top
// level): devtest replaces the VM's promise rejection tracker and wraps the timer functions,
// so the test failures above do not reach it.

// maxLate bounds the failure messages added to one test after it ended (a setInterval throwing
// every millisecond).
const maxLate = 8

// running is the test running now.
type running struct {
	idx      int // its index in fileRun.results
	name     string
	start    time.Time
	outStart int
	ctx      context.Context
	cancel   context.CancelFunc
	w        *World
	watchdog *time.Timer
	timeout  *time.Timer   // an awaited test's timeout
	returned chan struct{} // closed when the test's JS has returned (for Options.Stuck)
	awaiting bool          // its function returned a thenable not settled yet
	errs     []string      // failures attributed to it while it ran (uncaught, rejections)
}

// pendingRejection is a promise rejected with no handler yet, and the test that rejected it.
type pendingRejection struct {
	seq   uint64
	entry int
}

// asyncState is the bookkeeping of rejections and timers. Loop only.
type asyncState struct {
	queue       []registered // the selected tests not started yet
	started     bool         // runAll has run
	hold        *runtime.Handle
	then        goja.Callable // the original Promise.prototype.then
	rejected    map[*goja.Promise]pendingRejection
	seq         uint64
	sweepPosted bool
	timers      map[int64]bool // live timers created by tests
	clear       goja.Callable  // the original clearTimeout
	drain       *time.Timer    // ends the wait for timers after the last test
	late        map[int]int    // failures added to ended tests, by index
}

// setupAsync installs the rejection tracker and the timer wrappers. It runs before the file's
// top level, after setup.
func (f *fileRun) setupAsync(l *runtime.Loop) error {
	vm := l.VM()
	f.entry = -1
	f.async.rejected = map[*goja.Promise]pendingRejection{}
	f.async.timers = map[int64]bool{}
	f.async.late = map[int]int{}
	if p, ok := vm.Get("Promise").(*goja.Object); ok {
		if proto, ok := p.Get("prototype").(*goja.Object); ok {
			f.async.then, _ = goja.AssertFunction(proto.Get("then"))
		}
	}
	if f.async.then == nil {
		return errors.New("devtest: no Promise.prototype.then")
	}
	vm.SetPromiseRejectionTracker(f.trackRejection)
	g := vm.GlobalObject()
	get := func(name string) goja.Callable {
		fn, _ := goja.AssertFunction(g.Get(name))
		return fn
	}
	st, si, ct := get("setTimeout"), get("setInterval"), get("clearTimeout")
	if st == nil || si == nil || ct == nil {
		return errors.New("devtest: the runtime has no timer functions")
	}
	f.async.clear = ct
	for name, fn := range map[string]func(goja.FunctionCall) goja.Value{
		"setTimeout":    f.wrapTimer(st, false),
		"setInterval":   f.wrapTimer(si, true),
		"clearTimeout":  f.wrapClear(ct),
		"clearInterval": f.wrapClear(ct),
	} {
		if err := g.Set(name, f.native(vm, name, fn)); err != nil {
			return err
		}
	}
	return nil
}

// wrapTimer wraps setTimeout or setInterval: the callback runs as the test that created the
// timer, and what it throws fails that test.
func (f *fileRun) wrapTimer(orig goja.Callable, repeat bool) func(goja.FunctionCall) goja.Value {
	return func(call goja.FunctionCall) goja.Value {
		fn, ok := goja.AssertFunction(call.Argument(0))
		if !ok || f.entry < 0 {
			return f.callOrig(orig, call.This, call.Arguments) // setTimeout(ms), top level, or its TypeError
		}
		origin := f.entry
		var id int64
		wrapped := f.loop.VM().ToValue(func(c goja.FunctionCall) goja.Value {
			f.entry = origin
			if !repeat {
				delete(f.async.timers, id)
			}
			if _, err := fn(goja.Undefined(), c.Arguments...); err != nil {
				var ie *goja.InterruptedError
				if errors.As(err, &ie) {
					panic(ie) // the run is ending
				}
				f.uncaught(origin, "uncaught in a timer callback: "+testError(err, f.path, f.lines).Error())
			}
			return goja.Undefined()
		})
		args := append([]goja.Value{wrapped}, call.Arguments[1:]...)
		ret := f.callOrig(orig, call.This, args)
		id = ret.ToInteger()
		f.async.timers[id] = true
		return ret
	}
}

func (f *fileRun) wrapClear(orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(call goja.FunctionCall) goja.Value {
		if v := call.Argument(0); goja.IsNumber(v) {
			delete(f.async.timers, v.ToInteger())
		}
		return f.callOrig(orig, call.This, call.Arguments)
	}
}

func (f *fileRun) callOrig(fn goja.Callable, this goja.Value, args []goja.Value) goja.Value {
	ret, err := fn(this, args...)
	if err != nil {
		panic(err)
	}
	return ret
}

// trackRejection is the VM's promise rejection tracker for a test file.
func (f *fileRun) trackRejection(p *goja.Promise, op goja.PromiseRejectionOperation) {
	a := &f.async
	switch op {
	case goja.PromiseRejectionReject:
		a.seq++
		a.rejected[p] = pendingRejection{seq: a.seq, entry: f.entry}
		if !a.sweepPosted {
			a.sweepPosted = true
			f.loop.Post(func(*goja.Runtime) error { a.sweepPosted = false; return f.sweep() })
		}
	case goja.PromiseRejectionHandle:
		delete(a.rejected, p)
	}
}

// sweep attributes the promises still rejected with no handler (the JS stack is empty and the
// promise jobs have run). One from the file's top level ends the run, as the runtime does.
func (f *fileRun) sweep() error {
	a := &f.async
	if len(a.rejected) == 0 {
		return nil
	}
	type item struct {
		p *goja.Promise
		r pendingRejection
	}
	var items []item
	for p, r := range a.rejected {
		items = append(items, item{p, r})
	}
	clear(a.rejected)
	for i := 1; i < len(items); i++ { // insertion sort by seq: usually one or two
		for j := i; j > 0 && items[j].r.seq < items[j-1].r.seq; j-- {
			items[j], items[j-1] = items[j-1], items[j]
		}
	}
	for _, it := range items {
		msg := "unhandled promise rejection: " + f.reasonMessage(it.p.Result())
		if it.r.entry < 0 {
			return errors.New("Uncaught (in promise) " + f.reasonMessage(it.p.Result()))
		}
		f.uncaught(it.r.entry, msg)
	}
	return nil
}

// reasonMessage renders a rejection reason: an Error as name: message and its position in
// the test file, another value as describe shows it.
func (f *fileRun) reasonMessage(v goja.Value) (s string) {
	vm := f.loop.VM()
	if ex := vm.Try(func() { s = f.reasonText(v) }); ex != nil {
		return "(a value whose properties throw: " + truncate(ex.Error(), 200) + ")"
	}
	return s
}

func (f *fileRun) reasonText(v goja.Value) string {
	o, ok := v.(*goja.Object)
	if !ok || objKind(o) != kindError {
		return describe(v)
	}
	name, msg := o.Get("name").String(), o.Get("message").String()
	s := name + ": " + msg
	if name == "AssertionError" {
		s = msg
	}
	if st := o.Get("stack"); st != nil && goja.IsString(st) {
		n := 0
		for _, line := range strings.Split(st.String(), "\n") {
			line = strings.TrimSpace(line)
			if strings.HasPrefix(line, "at ") && strings.Contains(line, f.path) && n < 5 {
				s += "\n    " + line
				n++
			}
		}
	}
	return s
}

// uncaught records a failure of the test at index idx: the running test fails (an awaited one
// ends now), an ended one turns failed.
func (f *fileRun) uncaught(idx int, msg string) {
	if c := f.cur; c != nil && c.idx == idx {
		c.errs = append(c.errs, msg)
		if c.awaiting {
			c.awaiting = false
			f.loop.Post(func(*goja.Runtime) error { return f.finishAwaited(c, nil) })
		}
		return
	}
	if idx < 0 || idx >= len(f.results) {
		return
	}
	n := f.async.late[idx]
	f.async.late[idx] = n + 1
	r := &f.results[idx]
	defer f.publish(idx, false)
	switch {
	case n == maxLate:
		r.Message += "\n(further failures after the test ended are not shown)"
	case n > maxLate:
	case r.Status != Failed:
		r.Status, r.Message = Failed, "after the test ended: "+msg
	default:
		r.Message += "\nafter the test ended: " + msg
	}
}

// runAll starts the registered tests: the first one runs from a loop job after the top level.
func (f *fileRun) runAll() {
	if f.async.started {
		return
	}
	f.async.started = true
	for _, t := range f.tests {
		if f.selected(t.name) {
			f.async.queue = append(f.async.queue, t)
		}
	}
	f.async.hold = f.loop.Hold()
	f.loop.OnStop(f.onStop)
	f.loop.Post(func(*goja.Runtime) error { return f.next() })
}

// next runs the queued tests until one is awaited or none is left.
func (f *fileRun) next() error {
	a := &f.async
	for len(a.queue) > 0 && f.cur == nil {
		if f.ctx.Err() != nil || f.stopped {
			a.queue = nil
			break
		}
		t := a.queue[0]
		a.queue = a.queue[1:]
		if err := f.start(t); err != nil {
			return err
		}
	}
	if f.cur == nil && len(a.queue) == 0 && a.hold != nil {
		a.hold.Release()
		a.hold = nil
		f.drainTimers()
	}
	return nil
}

// drainTimers lets the timers the tests left fire for min(5 s, timeout) more (wall time),
// then clears them: the file's run ends.
func (f *fileRun) drainTimers() {
	if len(f.async.timers) == 0 {
		return
	}
	f.async.drain = time.AfterFunc(min(5*time.Second, f.opts.Timeout), func() {
		f.loop.Post(func(vm *goja.Runtime) error {
			for id := range f.async.timers {
				if _, err := f.async.clear(goja.Undefined(), vm.ToValue(id)); err != nil {
					return err
				}
			}
			clear(f.async.timers)
			return nil
		})
	})
}

// onStop ends a test still running when the file's run ends (an interrupt, the context).
func (f *fileRun) onStop() {
	if f.async.drain != nil {
		f.async.drain.Stop()
	}
	if c := f.cur; c != nil {
		c.errs = append(c.errs, "the file's run ended while the test was running")
		f.end(c, nil)
	}
}

// start runs test t from a loop job: the test ends here unless its function returned a
// thenable, which is then awaited.
func (f *fileRun) start(t registered) error {
	idx := len(f.results)
	f.results = append(f.results, TestResult{File: f.path, Name: t.name})
	if t.skip != "" {
		f.results[idx].Status, f.results[idx].Message = Skipped, t.skip
		f.publish(idx, false)
		return nil
	}
	ctx, cancel := context.WithTimeout(f.ctx, f.opts.Timeout)
	seed := TestSeed(f.opts.Seed, f.path, t.name)
	f.results[idx].Seed, f.results[idx].TestSeed = f.opts.Seed, seed
	w, err := newWorld(ctx, f.opts, seed)
	if err != nil {
		cancel()
		f.results[idx].Status, f.results[idx].Message = Failed, "world: "+err.Error()
		f.publish(idx, false)
		return nil
	}
	f.world, f.devices = w, nil
	c := &running{idx: idx, name: t.name, start: time.Now(), outStart: len(f.out.String()), ctx: ctx,
		cancel: cancel, w: w, returned: make(chan struct{})}
	// A test spinning in JS past its timeout is interrupted (the rest of the file is not run).
	grace := min(5*time.Second, f.opts.Timeout)
	c.watchdog = time.AfterFunc(f.opts.Timeout+grace, func() {
		f.loop.Interrupt(fmt.Errorf("test %q: still running %v after its timeout", t.name, grace))
		if f.opts.Stuck == nil {
			return
		}
		select {
		case <-c.returned:
		case <-time.After(StuckGrace):
			f.opts.Stuck(fmt.Errorf("%s: test %q did not stop within %v after its timeout (stuck in a long built-in call)",
				f.path, t.name, grace+StuckGrace))
		}
	})
	f.cur, f.entry = c, idx
	f.publish(idx, true)
	ret, err := t.fn(goja.Undefined())
	err = testError(err, f.path, f.lines)
	awaited := err == nil && f.await(c, ret)
	if serr := f.sweep(); serr != nil { // rejections its promise jobs left unhandled
		if f.cur == c {
			f.end(c, err)
		}
		return serr
	}
	if !awaited {
		f.end(c, err)
	}
	return nil
}

// await makes the test wait for ret when it is a thenable; it reports whether it does.
func (f *fileRun) await(c *running, ret goja.Value) bool {
	o, ok := ret.(*goja.Object)
	if !ok {
		return false
	}
	vm := f.loop.VM()
	var then goja.Callable
	native := o.ExportType() == typePromise
	if native {
		then = f.async.then // the original Promise.prototype.then: a test cannot replace it
	} else if ex := vm.Try(func() { then, _ = goja.AssertFunction(o.Get("then")) }); ex != nil {
		c.errs = append(c.errs, "reading then of the returned value: "+testError(ex, f.path, f.lines).Error())
		return false
	}
	if then == nil {
		return false
	}
	settled := false
	settle := func(ok bool) func(goja.FunctionCall) goja.Value {
		return func(call goja.FunctionCall) goja.Value {
			if settled {
				return goja.Undefined()
			}
			settled = true
			reason := call.Argument(0)
			if f.cur != c {
				if !ok {
					f.uncaught(c.idx, "the promise the test returned was rejected: "+f.reasonMessage(reason))
				}
				return goja.Undefined()
			}
			var err error
			if !ok {
				if skip := skipReason(reason); skip != nil {
					err = skip
				} else {
					c.errs = append(c.errs, f.reasonMessage(reason))
				}
			}
			if c.awaiting {
				c.awaiting = false
				f.loop.Post(func(*goja.Runtime) error { return f.finishAwaited(c, err) })
			}
			return goja.Undefined()
		}
	}
	c.awaiting = true
	_, err := then(o, vm.ToValue(settle(true)), vm.ToValue(settle(false)))
	if err != nil {
		var ie *goja.InterruptedError
		if errors.As(err, &ie) {
			c.awaiting = false
			return false
		}
		if !settled {
			settled, c.awaiting = true, false
			c.errs = append(c.errs, "the then of the returned value threw: "+testError(err, f.path, f.lines).Error())
			return false
		}
	}
	if !c.awaiting {
		return true // settled during the call (its jobs ran): the posted finish ends it
	}
	c.timeout = time.AfterFunc(f.opts.Timeout, func() {
		f.loop.Post(func(*goja.Runtime) error {
			if f.cur != c || !c.awaiting {
				return nil
			}
			c.awaiting = false
			return f.finishAwaited(c, fmt.Errorf("timed out after %v (wall): the promise the test returned did not settle", f.opts.Timeout))
		})
	})
	return true
}

// finishAwaited ends an awaited test (from a loop job) and runs the next ones.
func (f *fileRun) finishAwaited(c *running, err error) error {
	if f.cur != c {
		return nil
	}
	if serr := f.sweep(); serr != nil {
		f.end(c, err)
		return serr
	}
	f.end(c, err)
	return f.next()
}

// end ends the running test c with err (nil: passed unless failures were attributed to it).
func (f *fileRun) end(c *running, err error) {
	timedOut := c.ctx.Err() != nil && f.ctx.Err() == nil // the test's wall-time bound passed
	close(c.returned)
	c.watchdog.Stop()
	if c.timeout != nil {
		c.timeout.Stop()
	}
	c.cancel()
	f.cur = nil
	r := &f.results[c.idx]
	w := c.w
	r.DeviceMs = w.NowMs()
	w.close()
	var budget error // a device that ended at the memory budget (Options.MaxMemory)
	for _, d := range f.devices {
		dt := DeviceTrace{Script: d.d.Name, ClientID: d.d.ClientID(), Ending: "running", Lines: d.d.Lines(), Trace: d.d.Trace()}
		res := d.d.Result()
		if res != nil {
			dt.Ending = res.Ending.String()
		}
		r.Devices = append(r.Devices, dt)
		if budget == nil && res != nil && errors.Is(res.Err, runtime.ErrMemoryBudget) {
			budget = res.Err
		}
	}
	if budget != nil {
		// The heap is the file's too: its run ends with the device's budget error (whether or
		// not its own watchdog saw the heap over the budget as well), and so does the test.
		f.loop.Interrupt(budget)
		err = budget
	}
	var stopped *goja.InterruptedError
	f.stopped = f.stopped || budget != nil || errors.As(err, &stopped) // the file's run is ending
	f.world, f.devices = nil, nil
	r.Output = f.out.String()[c.outStart:]
	r.Wall = time.Since(c.start)
	var skip *skipError
	if len(c.errs) > 0 && (err == nil || errors.As(err, &skip)) {
		err, skip = errors.New(strings.Join(c.errs, "\n")), nil
	} else if len(c.errs) > 0 {
		err = fmt.Errorf("%w\n%s", err, strings.Join(c.errs, "\n"))
	}
	switch {
	case err == nil:
		r.Status = Passed
	case errors.As(err, &skip):
		r.Status, r.Message = Skipped, skip.reason
	case timedOut && !strings.HasPrefix(err.Error(), "timed out"):
		r.Status, r.Message = Failed, fmt.Sprintf("timed out after %v (wall): %v", f.opts.Timeout, err)
	default:
		r.Status, r.Message = Failed, err.Error()
	}
	f.publish(c.idx, false)
}

// skipReason is the skipError of a thrown skip (throwSkip), or nil.
func skipReason(v goja.Value) *skipError {
	if o, ok := v.(*goja.Object); ok && objKind(o) == kindError {
		if s := o.Get("__devtestSkip"); s != nil && !goja.IsUndefined(s) {
			return &skipError{reason: s.String()}
		}
	}
	return nil
}
