package devtest

import (
	"sync/atomic"
	"testing"
	"time"
)

// TestVirtualClock: timers fire only when advanced to, in deadline order (ties in the order
// set), on the advancing goroutine; stop cancels; time never goes back; activity is counted.
func TestVirtualClock(t *testing.T) {
	var act atomic.Uint64
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := NewVirtualClock(start, &act)
	var order []string
	add := func(name string, d time.Duration) func() bool {
		return c.AfterFunc(d, func() { order = append(order, name) })
	}
	add("b", 2*time.Second)
	add("a", time.Second)
	add("a2", time.Second)
	stop := add("x", 1500*time.Millisecond)
	now := make(chan struct{})
	c.AfterFunc(-time.Second, func() { close(now) }) // fires at once, without an advance
	select {
	case <-now:
	case <-time.After(10 * time.Second):
		t.Fatal("a timer due now did not fire")
	}
	if !stop() || stop() {
		t.Fatal("stop: want true then false")
	}
	if next, ok := c.Next(); !ok || !next.Equal(start.Add(time.Second)) {
		t.Fatalf("Next = %v %v, want the 1 s timers", next, ok)
	}
	if n := c.AdvanceTo(start.Add(time.Second)); n != 2 {
		t.Fatalf("fired %d, want 2", n)
	}
	if got := c.AdvanceTo(start); got != 0 || !c.Now().Equal(start.Add(time.Second)) {
		t.Fatalf("time went back to %v", c.Now())
	}
	c.AdvanceTo(start.Add(time.Hour))
	want := []string{"a", "a2", "b"}
	if len(order) != len(want) {
		t.Fatalf("order %v, want %v", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("order %v, want %v", order, want)
		}
	}
	if _, ok := c.Next(); ok {
		t.Fatal("Next: a timer is left")
	}
	if act.Load() == 0 {
		t.Fatal("no activity counted")
	}
}
