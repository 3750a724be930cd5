package mqttcore

import "time"

// Clock is device time. It has the same shape as runtime.Clock, so a runtime clock can be
// handed to mqttcore without either package importing the other (docs/architecture.md).
// Implementations are safe from any goroutine.
type Clock interface {
	// Now returns the current device time.
	Now() time.Time
	// AfterFunc calls f on its own goroutine after device duration d has passed.
	// stop cancels it and reports whether it did (like time.Timer.Stop).
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// wallClock is the default Clock: device time is wall time.
type wallClock struct{}

var _ Clock = wallClock{}

// Now returns time.Now().
func (wallClock) Now() time.Time { return time.Now() }

// AfterFunc runs f after d of wall time, through time.AfterFunc.
func (wallClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}
