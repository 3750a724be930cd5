package devtest

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/devicejs/devicejs/link"
)

// VirtualClock is device time that moves only when the world advances it: a runtime.Clock and
// mqttcore.Clock shared by every device of a test. Every call is counted as activity (see
// World's virtual-time rule in docs/testing.md). Safe from any goroutine.
type VirtualClock struct {
	mu     sync.Mutex
	now    time.Time
	seq    uint64
	timers map[uint64]*vtimer

	activity *atomic.Uint64
}

type vtimer struct {
	at  time.Time
	seq uint64
	f   func()
}

// NewVirtualClock returns a clock whose device time is start; activity, if non-nil, is
// incremented on every timer set, stopped or fired.
func NewVirtualClock(start time.Time, activity *atomic.Uint64) *VirtualClock {
	if activity == nil {
		activity = new(atomic.Uint64)
	}
	return &VirtualClock{now: start, timers: make(map[uint64]*vtimer), activity: activity}
}

// Now returns the current device time.
func (c *VirtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc calls f once device time has moved forward by d. With d <= 0 it calls f at once
// on a new goroutine, as time.AfterFunc does (such a timer cannot be stopped).
func (c *VirtualClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.activity.Add(1)
	if d <= 0 {
		go f()
		return func() bool { return false }
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	id := c.seq
	c.timers[id] = &vtimer{at: c.now.Add(d), seq: id, f: f}
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.activity.Add(1)
		_, ok := c.timers[id]
		delete(c.timers, id)
		return ok
	}
}

// Next returns the earliest timer deadline, and false when no timer is set.
func (c *VirtualClock) Next() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var best time.Time
	found := false
	for _, t := range c.timers {
		if !found || t.at.Before(best) {
			best, found = t.at, true
		}
	}
	return best, found
}

// AdvanceTo sets device time to t (never backwards) and calls the timers due by then, in
// deadline order (ties in the order they were set), one after the other on the calling
// goroutine. It returns how many fired.
func (c *VirtualClock) AdvanceTo(t time.Time) int {
	c.mu.Lock()
	if t.After(c.now) {
		c.now = t
	}
	var due []*vtimer
	for id, vt := range c.timers {
		if !vt.at.After(c.now) {
			due = append(due, vt)
			delete(c.timers, id)
		}
	}
	c.mu.Unlock()
	sort.Slice(due, func(i, j int) bool {
		if !due[i].at.Equal(due[j].at) {
			return due[i].at.Before(due[j].at)
		}
		return due[i].seq < due[j].seq
	})
	for _, vt := range due {
		c.activity.Add(1)
		vt.f()
	}
	return len(due)
}

// countingClock is the clock given to the link: it counts the link's pending timers (bytes
// held for a future device time), which the world's virtual-time rule reads.
type countingClock struct {
	*VirtualClock
	pending *atomic.Int64
}

// DeadlineClock is the same device time, uncounted, for the link's read and write deadlines
// (link.DeadlineClock): a deadline holds no bytes.
func (c countingClock) DeadlineClock() link.Clock { return c.VirtualClock }

// AfterFunc is VirtualClock.AfterFunc, counted while pending.
func (c countingClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.pending.Add(1)
	var once sync.Once
	done := func() { once.Do(func() { c.pending.Add(-1) }) }
	stop := c.VirtualClock.AfterFunc(d, func() { done(); f() })
	return func() bool {
		ok := stop()
		if ok {
			done()
		}
		return ok
	}
}

// deviceClock is one device's view of the world's clock. It tells the world when the device
// has work to do and when it has shown that it did some: a device is busy from its start, and
// again whenever one of its timers fires, until it next sets or stops a timer, traces an MQTT
// action, prints or ends. A busy device holds device time back (docs/testing.md, the
// virtual-time rule), at most StuckAfter of wall time without progress.
type deviceClock struct {
	*VirtualClock
	busy *busyFlag
}

// AfterFunc is VirtualClock.AfterFunc; setting or stopping a timer shows activity, and the
// timer's firing makes the device busy.
func (c deviceClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.busy.clear()
	c.busy.clearEvent()
	stop := c.VirtualClock.AfterFunc(d, func() { c.busy.set(); f() })
	return func() bool {
		c.busy.clear()
		c.busy.clearEvent()
		return stop()
	}
}

// busyFlag is a device's busy state, counted in the world's in-flight operations, and its
// "event posted" state (an MQTT event whose JS handler has not shown itself yet), counted in
// the world's event waits.
type busyFlag struct {
	on       atomic.Bool
	inflight *atomic.Int64
	event    atomic.Bool
	events   *atomic.Int64
}

// setEvent marks an event posted to the script.
func (b *busyFlag) setEvent() {
	if b.event.CompareAndSwap(false, true) {
		b.events.Add(1)
	}
}

// clearEvent marks the script as having run since.
func (b *busyFlag) clearEvent() {
	if b.event.CompareAndSwap(true, false) {
		b.events.Add(-1)
	}
}

func (b *busyFlag) set() {
	if b.on.CompareAndSwap(false, true) {
		b.inflight.Add(1)
	}
}

func (b *busyFlag) clear() {
	if b.on.CompareAndSwap(true, false) {
		b.inflight.Add(-1)
	}
}
