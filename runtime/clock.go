package runtime

import (
	"fmt"
	"math"
	"strconv"
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

// The range of time scales NewScaledClock accepts (and --time-scale, devicejs.Config.TimeScale).
// MaxTimeScale makes a day of device time pass in 86 ms; MinTimeScale makes a device second
// last 16.7 minutes, slow enough for any debugging session. Outside the range the figures
// stop meaning anything: at 1e-12 a 1 ms timer would wait 31 years.
const (
	MinTimeScale = 1e-3
	MaxTimeScale = 1e6
)

// CheckTimeScale returns an error unless scale is a number from MinTimeScale to MaxTimeScale
// (NaN and the infinities are not).
func CheckTimeScale(scale float64) error {
	if !(scale >= MinTimeScale && scale <= MaxTimeScale) {
		return fmt.Errorf("time scale must be a number from %s to %s, got %v",
			strconv.FormatFloat(MinTimeScale, 'f', -1, 64), strconv.FormatFloat(MaxTimeScale, 'f', -1, 64), scale)
	}
	return nil
}

// NewScaledClock returns a Clock whose device time runs scale times faster
// than wall time: a 20 s device timer fires after 0.2 s of wall time at scale
// 100. Device time starts at the wall time when the clock is made. scale must
// pass CheckTimeScale; NewScaledClock panics otherwise (a programming error:
// the CLI and devicejs.Config check it first). Scale 1 is the wall clock.
// Safe from any goroutine.
func NewScaledClock(scale float64) Clock {
	if err := CheckTimeScale(scale); err != nil {
		panic("runtime: NewScaledClock: " + err.Error())
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

// maxDuration is the longest time.Duration, about 292 years, as a float64.
const maxDuration = float64(math.MaxInt64)

// Now is the device time now (deviceTime).
func (c *scaledClock) Now() time.Time {
	return deviceTime(c.start, time.Since(c.start), c.scale) // monotonic
}

// deviceTime is start plus elapsed wall time times scale. Past 292 years of device time
// (2.9 hours of wall time at MaxTimeScale) that no longer fits a time.Duration, and it is
// computed in whole seconds instead of wrapping around.
func deviceTime(start time.Time, elapsed time.Duration, scale float64) time.Time {
	dev := float64(elapsed) * scale
	if dev < maxDuration {
		return start.Add(time.Duration(dev))
	}
	return time.Unix(start.Unix()+int64(dev/1e9), int64(start.Nanosecond())).In(start.Location())
}

// AfterFunc waits ceil(d / scale) of wall time, saturated at about 292 years: a long timer at
// a small scale never fires rather than wrapping around to fire at once.
func (c *scaledClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(wallDuration(d, c.scale), f).Stop
}

// wallDuration is ceil(d / scale) as a time.Duration, saturated at the longest one.
func wallDuration(d time.Duration, scale float64) time.Duration {
	wall := math.Ceil(float64(d) / scale)
	if wall >= maxDuration {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(wall)
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
