package runtime_test

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dop251/goja"

	"github.com/devicejs/devicejs/runtime"
)

// syncClock fires its timers on the goroutine that calls advance, as the test world's clock
// does.
type syncClock struct {
	mu     sync.Mutex
	now    time.Time
	timers map[int]syncTimer
	seq    int
}

type syncTimer struct {
	at time.Time
	f  func()
}

func (c *syncClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *syncClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	id := c.seq
	c.timers[id] = syncTimer{c.now.Add(d), f}
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		_, ok := c.timers[id]
		delete(c.timers, id)
		return ok
	}
}

func (c *syncClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []func()
	for id, t := range c.timers {
		if !t.at.After(c.now) {
			due = append(due, t.f)
			delete(c.timers, id)
		}
	}
	c.mu.Unlock()
	for _, f := range due {
		f()
	}
}

// waitBusy waits (bounded, generously) until busy reads want.
func waitBusy(t *testing.T, busy *atomic.Int64, want int64, what string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for busy.Load() != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: Busy = %d, want %d", what, busy.Load(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestIdleClockCountsBusyLoops: a loop on an IdleClock is counted busy from New until it first
// blocks, again from the moment a job is posted or a timer fires until it blocks again (the
// count is up when Post or the timer's callback returns), while it runs JS, never while it
// waits for a timer, a job or a .wait() deadline, and not after its run.
func TestIdleClockCountsBusyLoops(t *testing.T) {
	for _, tc := range []struct {
		name, src string
	}{
		{"timer", `setInterval(function() { print('tick'); }, 1000)`},
		{"wait at the top level", `setInterval(function() {}, 1000); while (true) { setTimeout(500).wait(); }`},
		{"spin in a timer", `setInterval(function() { for (var i = 0; i < 20000; i++) {} }, 1000)`},
		{"spin at the top level", `setInterval(function() {}, 1000); var n = 0; while (true) { n++; }`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var busy atomic.Int64
			clk := &syncClock{now: time.Unix(0, 0), timers: map[int]syncTimer{}}
			ic := &runtime.IdleClock{Clock: clk, Busy: &busy}
			ic.Precount()
			l := runtime.New(runtime.Options{Stdout: io.Discard, Clock: ic})
			if busy.Load() != 1 {
				t.Fatalf("after New with a precount: Busy = %d, want 1 (taken over)", busy.Load())
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- l.Run(ctx, "idle.js", tc.src) }()
			waitBusy(t, &busy, 0, "blocked after the top level")
			for i := 0; i < 5; i++ {
				clk.advance(500 * time.Millisecond)
				// A timer that fired counted the loop busy before advance returned, unless the
				// loop already ran it and blocked again.
				waitBusy(t, &busy, 0, fmt.Sprintf("after timer advance %d", i))
			}
			gate := make(chan struct{})
			l.Post(func(*goja.Runtime) error { <-gate; return nil })
			if busy.Load() != 1 {
				t.Fatalf("a job is pending or running: Busy = %d, want 1", busy.Load())
			}
			close(gate)
			waitBusy(t, &busy, 0, "after the job")
			cancel()
			<-done
			if busy.Load() != 0 {
				t.Fatalf("after the run: Busy = %d", busy.Load())
			}
			l.Post(func(*goja.Runtime) error { return nil }) // dropped: no count
			ic.ReleasePrecount()                             // taken over: no effect
			if busy.Load() != 0 {
				t.Fatalf("after the run, a post and a release: Busy = %d", busy.Load())
			}
		})
	}
	t.Run("precount released without a loop", func(t *testing.T) {
		var busy atomic.Int64
		ic := &runtime.IdleClock{Clock: runtime.NewWallClock(), Busy: &busy}
		ic.Precount()
		ic.ReleasePrecount()
		ic.ReleasePrecount()
		if busy.Load() != 0 {
			t.Fatalf("Busy = %d", busy.Load())
		}
	})
}
