package runtime_test

import (
	"testing"
	"time"

	"github.com/devicejs/devicejs/runtime"
)

// TestWatchHeapProcessBudget: a process-wide budget registered with the one heap watchdog
// (what package fleet's MaxMemory uses) is reported once, with the live heap, when the heap is
// over it; one the heap is under is never reported; after unwatch nothing is called.
func TestWatchHeapProcessBudget(t *testing.T) {
	calls := make(chan uint64, 8)
	unwatch := runtime.WatchHeap(1, 1<<62, func(live uint64) { calls <- live })
	select {
	case live := <-calls:
		if live <= 1 {
			t.Errorf("reported a live heap of %d bytes", live)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a 1-byte budget was not reported")
	}
	time.Sleep(50 * time.Millisecond) // many watchdog ticks
	unwatch()
	if n := len(calls); n != 0 {
		t.Errorf("reported %d more times", n)
	}
	unwatch = runtime.WatchHeap(1<<62, 1<<62, func(uint64) { t.Error("a budget the heap is under was reported") })
	time.Sleep(50 * time.Millisecond)
	unwatch()
}
