package link

import (
	"errors"
	"os"
	"sync"
	"testing"
	"time"
)

// manualClock is device time that moves only when the test calls advance.
type manualClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []manualTimer
}

type manualTimer struct {
	at   time.Time
	f    func()
	live *bool
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	live := true
	c.timers = append(c.timers, manualTimer{at: c.now.Add(d), f: f, live: &live})
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := live
		live = false
		return was
	}
}

// advance moves device time by d and calls the timers due.
func (c *manualClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []func()
	rest := c.timers[:0]
	for _, t := range c.timers {
		switch {
		case !*t.live:
		case !t.at.After(c.now):
			*t.live = false
			due = append(due, t.f)
		default:
			rest = append(rest, t)
		}
	}
	c.timers = rest
	c.mu.Unlock()
	for _, f := range due {
		f()
	}
}

// TestDeadlinesOnDeviceTime (issue 18 A): a connection's read and write deadlines run on the
// link's clock. Under a device clock that does not move, a deadline of 20 ms does not pass in
// 200 ms of wall time; once device time moves past it, the blocked Read fails with
// os.ErrDeadlineExceeded at once, and a later Write too.
func TestDeadlinesOnDeviceTime(t *testing.T) {
	clock := &manualClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := New(Conditions{}, clock, 1)
	device, _ := pair(t, l)
	_ = device.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	done := make(chan error, 1)
	go func() {
		_, err := device.Read(make([]byte, 1))
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("Read returned %v before device time moved", err)
	case <-time.After(200 * time.Millisecond):
	}
	clock.advance(10 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("Read returned %v at half the deadline", err)
	case <-time.After(50 * time.Millisecond):
	}
	clock.advance(10 * time.Millisecond)
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Read: %v, want the deadline", err)
		}
	case <-time.After(wait):
		t.Fatal("Read still blocked after device time passed its deadline")
	}
	_ = device.SetWriteDeadline(time.Now().Add(5 * time.Millisecond))
	time.Sleep(20 * time.Millisecond) // wall time past it: still writable
	if _, err := device.Write([]byte{1}); err != nil {
		t.Fatalf("Write before the device-time deadline: %v", err)
	}
	clock.advance(5 * time.Millisecond)
	if _, err := device.Write([]byte{2}); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write after the device-time deadline: %v", err)
	}
}
