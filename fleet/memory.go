package fleet

import (
	"context"
	"fmt"
	goruntime "runtime"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// heapSample is how often the fleet's memory watchdog reads the heap, and heapRecheck how
// often at most it collects to tell garbage from live objects. One watchdog serves the whole
// process (not one per instance, as devicejs.Config.MaxMemory would start).
const (
	heapSample  = 2 * time.Millisecond
	heapRecheck = 100 * time.Millisecond
)

// watchHeap reads the process heap every heapSample until ctx ends and calls exceeded once,
// with an error wrapping ErrMemoryBudget, when the live heap outgrows budget bytes: when the
// heap objects pass the budget it collects (at most every heapRecheck) and fails if the live
// heap is still over; objects over twice the budget fail at once (allocation faster than a
// collection). While it runs, the Go memory limit is set to a quarter above the budget so that
// the collector works harder rather than letting garbage count, yet a heap that really grows
// passes the budget instead of sinking into collections at the limit (with the limit at the
// budget, three leaking instances took 53 s to be caught under -race). Its own goroutine.
func watchHeap(ctx context.Context, budget int64, exceeded func(error)) {
	prev := debug.SetMemoryLimit(-1)
	if limit := budget + budget/4; limit < prev {
		debug.SetMemoryLimit(limit)
		defer debug.SetMemoryLimit(prev)
	}
	samples := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	t := time.NewTicker(heapSample)
	defer t.Stop()
	var lastGC time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		live, objects := readHeap(samples)
		switch {
		case objects > 2*uint64(budget):
			live = objects
		case live > uint64(budget), objects > uint64(budget) && time.Since(lastGC) >= heapRecheck:
			goruntime.GC()
			lastGC = time.Now()
			if live, _ = readHeap(samples); live <= uint64(budget) {
				continue
			}
		default:
			continue
		}
		exceeded(fmt.Errorf("%w: the heap holds %.0f MiB, the budget is %.0f MiB",
			ErrMemoryBudget, float64(live)/(1<<20), float64(budget)/(1<<20)))
		return
	}
}

// readHeap reads the live heap bytes as of the last collection and the heap object bytes now.
func readHeap(samples []metrics.Sample) (live, objects uint64) {
	metrics.Read(samples)
	for i, p := range []*uint64{&live, &objects} {
		if samples[i].Value.Kind() == metrics.KindUint64 {
			*p = samples[i].Value.Uint64()
		}
	}
	return live, objects
}
