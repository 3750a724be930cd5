package runtime

import (
	"math"
	"sync"
	"time"
)

// Clock is the device's notion of time. runtime and mqttcore declare the same
// interface so that one clock drives timers, .wait(), Date.now() and the MQTT
// session without either package importing the other.
//
// Implementations must be safe for use from any goroutine.
type Clock interface {
	// Now returns the current device time.
	Now() time.Time
	// AfterFunc calls f on its own goroutine after device duration d has passed.
	// stop cancels it and reports whether it did (like time.Timer.Stop).
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// NewWallClock returns a Clock that is the host's wall clock: device time is
// real time. Safe from any goroutine.
func NewWallClock() Clock { return wallClock{} }

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

func (wallClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// NewScaledClock returns a Clock whose device time runs scale times faster
// than wall time: a 20 s device timer fires after 0.2 s of wall time at scale
// 100. Device time starts at the wall time when the clock is made. scale must
// be positive and finite; NewScaledClock panics otherwise (a programming
// error: the CLI validates --time-scale). Scale 1 is the wall clock. Safe from
// any goroutine.
func NewScaledClock(scale float64) Clock {
	if !(scale > 0) || math.IsInf(scale, 0) {
		panic("runtime: NewScaledClock: scale must be positive and finite")
	}
	if scale == 1 {
		return wallClock{}
	}
	return &scaledClock{scale: scale, start: time.Now()}
}

type scaledClock struct {
	scale float64
	start time.Time // wall time (with monotonic reading) when the clock was made
}

func (c *scaledClock) Now() time.Time {
	elapsed := time.Since(c.start) // monotonic
	return c.start.Add(time.Duration(float64(elapsed) * c.scale))
}

func (c *scaledClock) AfterFunc(d time.Duration, f func()) func() bool {
	wall := time.Duration(math.Ceil(float64(d) / c.scale))
	return time.AfterFunc(wall, f).Stop
}

// ManualClock is a Clock for tests: device time only moves when Advance is
// called. Timers due at or before the new time then fire, each on its own
// goroutine. All methods are safe from any goroutine.
type ManualClock struct {
	mu     sync.Mutex
	now    time.Time
	seq    uint64
	timers map[uint64]manualTimer
}

type manualTimer struct {
	at time.Time
	f  func()
}

// NewManualClock returns a ManualClock whose device time is start. Safe from
// any goroutine.
func NewManualClock(start time.Time) *ManualClock {
	return &ManualClock{now: start, timers: make(map[uint64]manualTimer)}
}

// Now returns the current device time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc calls f on its own goroutine once the clock has been advanced by
// at least d.
func (c *ManualClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	id := c.seq
	c.timers[id] = manualTimer{at: c.now.Add(d), f: f}
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		_, ok := c.timers[id]
		delete(c.timers, id)
		return ok
	}
}

// Advance moves device time forward by d and fires the timers that became due.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.setLocked(c.now.Add(d))
}

// setLocked sets the time, fires due timers and unlocks c.mu.
func (c *ManualClock) setLocked(t time.Time) {
	c.now = t
	var due []manualTimer
	for id, mt := range c.timers {
		if !mt.at.After(t) {
			due = append(due, mt)
			delete(c.timers, id)
		}
	}
	c.mu.Unlock()
	for _, mt := range due {
		go mt.f()
	}
}
