package runtime

import (
	"container/heap"
	"math"
	"time"

	"github.com/dop251/goja"
)

// maxDelay bounds a timer delay so that deadlines never overflow.
const maxDelay = 100 * 365 * 24 * time.Hour

// timer is one setTimeout or setInterval callback. Loop only.
type timer struct {
	id       int64
	seq      uint64 // creation order: breaks ties between equal deadlines
	deadline time.Time
	interval time.Duration // > 0 for setInterval
	fn       goja.Callable
	args     []goja.Value
	index    int // position in the heap; -1 when not queued
}

// timerQueue holds the live timers: a map by id and a heap ordered by
// (deadline, seq), so equal timeouts fire in creation order. Loop only.
type timerQueue struct {
	byID   map[int64]*timer
	heap   timerHeap
	nextID int64
	seq    uint64
}

func (q *timerQueue) init() {
	q.byID = make(map[int64]*timer)
	q.heap = nil
}

func (q *timerQueue) len() int { return len(q.byID) }

// first returns the timer with the earliest deadline, or nil.
func (q *timerQueue) first() *timer {
	if len(q.heap) == 0 {
		return nil
	}
	return q.heap[0]
}

// add queues a new timer and returns it.
func (q *timerQueue) add(fn goja.Callable, args []goja.Value, deadline time.Time, interval time.Duration) *timer {
	q.nextID++
	q.seq++
	t := &timer{id: q.nextID, seq: q.seq, deadline: deadline, interval: interval, fn: fn, args: args}
	q.byID[t.id] = t
	heap.Push(&q.heap, t)
	return t
}

// clear removes the timer with the given id, if it is live.
func (q *timerQueue) clear(id int64) {
	t, ok := q.byID[id]
	if !ok {
		return
	}
	delete(q.byID, id)
	if t.index >= 0 {
		heap.Remove(&q.heap, t.index)
	}
}

// popDue removes and returns, in firing order, the timers due at or before
// now. A one-shot timer stays in byID until it fires, so that a callback
// that runs earlier in the same round can still clear it.
func (q *timerQueue) popDue(now time.Time) []*timer {
	var due []*timer
	for len(q.heap) > 0 && !q.heap[0].deadline.After(now) {
		due = append(due, heap.Pop(&q.heap).(*timer))
	}
	return due
}

// live reports whether t has not been cleared (or already fired).
func (q *timerQueue) live(t *timer) bool { return q.byID[t.id] == t }

// requeue puts an interval timer back with a new deadline.
func (q *timerQueue) requeue(t *timer, deadline time.Time) {
	q.seq++
	t.seq, t.deadline = q.seq, deadline
	heap.Push(&q.heap, t)
}

type timerHeap []*timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if !h[i].deadline.Equal(h[j].deadline) {
		return h[i].deadline.Before(h[j].deadline)
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *timerHeap) Push(x any) {
	t := x.(*timer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	t.index = -1
	*h = old[:len(old)-1]
	return t
}

// fire runs a due timer's callback: the interval is requeued first (so
// clearInterval inside the callback works), a timeout is forgotten. Loop only.
func (l *Loop) fire(t *timer) {
	if !l.timers.live(t) {
		return
	}
	if t.interval > 0 {
		next := t.deadline.Add(t.interval)
		if now := l.clock.Now(); next.Before(now) {
			next = now.Add(t.interval) // fell behind: don't burst
		}
		l.timers.requeue(t, next)
	} else {
		delete(l.timers.byID, t.id)
	}
	l.depth++
	l.call(func() error { _, err := t.fn(goja.Undefined(), t.args...); return err })
	l.depth--
}

// delay converts a JS delay in ms like browsers do: ToNumber, NaN and
// negative values become 0, fractions are truncated.
func delay(v goja.Value) time.Duration {
	ms := v.ToFloat()
	switch {
	case math.IsNaN(ms) || ms <= 0:
		return 0
	case ms >= float64(maxDelay/time.Millisecond):
		return maxDelay
	}
	return time.Duration(math.Trunc(ms)) * time.Millisecond
}

// jsSetTimeout is setTimeout(fn, ms, ...args) -> id, and setTimeout(ms) ->
// an object whose wait() blocks the script until ms after the call.
func (l *Loop) jsSetTimeout(call goja.FunctionCall) goja.Value {
	first := call.Argument(0)
	if goja.IsNumber(first) {
		return l.newWaiter(l.clock.Now().Add(delay(first)))
	}
	return l.schedule(call, "setTimeout", false)
}

// jsSetInterval is setInterval(fn, ms, ...args) -> id. The interval is at
// least 1 ms so that a zero interval cannot starve the loop's clock.
func (l *Loop) jsSetInterval(call goja.FunctionCall) goja.Value {
	return l.schedule(call, "setInterval", true)
}

func (l *Loop) schedule(call goja.FunctionCall, name string, repeat bool) goja.Value {
	fn, ok := goja.AssertFunction(call.Argument(0))
	if !ok {
		panic(l.vm.NewTypeError(name + ": the callback is not a function"))
	}
	d := delay(call.Argument(1))
	var interval time.Duration
	if repeat {
		interval = max(d, time.Millisecond)
	}
	var args []goja.Value
	if len(call.Arguments) > 2 {
		args = append(args, call.Arguments[2:]...)
	}
	t := l.timers.add(fn, args, l.clock.Now().Add(d), interval)
	if l.mem != nil {
		l.mem.keepTimer(t.id, call.Argument(0)) // a root of the heap estimate (devmemory.go)
	}
	l.arm()
	return l.vm.ToValue(t.id)
}

// jsClearTimer is clearTimeout(id) and clearInterval(id); they share ids.
// Unknown ids and non-numbers are ignored.
func (l *Loop) jsClearTimer(call goja.FunctionCall) goja.Value {
	if v := call.Argument(0); goja.IsNumber(v) {
		if id := v.ToFloat(); id == math.Trunc(id) && id > 0 && id <= math.MaxInt64/2 {
			l.timers.clear(int64(id))
		}
	}
	return goja.Undefined()
}

// newWaiter returns the object of setTimeout(ms): {wait: function}.
func (l *Loop) newWaiter(deadline time.Time) goja.Value {
	o := l.vm.NewObject()
	wait := func(goja.FunctionCall) goja.Value {
		l.wait(deadline)
		return goja.Undefined()
	}
	if err := o.Set("wait", waitFunc.New(l.vm, wait)); err != nil {
		panic(err)
	}
	return o
}

// wait blocks the script until device time deadline. At the top level
// (depth 0) it keeps dispatching due timers and posted jobs meanwhile;
// inside a callback it only waits. It returns early when the run stops (the
// VM is interrupted then). Loop only.
func (l *Loop) wait(deadline time.Time) {
	for !l.stopped.Load() {
		now := l.clock.Now()
		if l.depth == 0 && l.ready() {
			// Callbacks due before the deadline run before wait returns;
			// after the deadline, at most one more round runs.
			l.round(true)
			if !now.Before(deadline) {
				return
			}
			continue
		}
		if !now.Before(deadline) {
			return
		}
		stop := l.clock.AfterFunc(deadline.Sub(now), l.wake)
		if l.work != nil {
			// As in dispatch: a stale wake must not keep the loop counted busy. A wake after
			// this store is seen by idle; a job posted before it is seen by ready.
			l.pending.Store(false)
			if l.depth == 0 && l.ready() {
				stop()
				continue
			}
		}
		l.work.idle(&l.pending)
		<-l.wakeCh
		stop()
	}
}
