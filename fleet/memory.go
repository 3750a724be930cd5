package fleet

import (
	"context"
	"fmt"

	"github.com/devicejs/devicejs/runtime"
)

// watchHeap ends the fleet when the process heap outgrows budget bytes: it registers the
// budget with the process's one heap watchdog (runtime.WatchHeap, the goroutine that also
// watches runs with a MaxMemory) until ctx ends, and calls exceeded once, with an error
// wrapping ErrMemoryBudget, when the live heap outgrows budget: when the heap objects pass the
// budget the watchdog collects (at most every 100 ms) and fails if the live heap is still over;
// objects over twice the budget fail at once (allocation faster than a collection). While it
// runs, the Go memory limit is set to a quarter above the budget so that the collector works
// harder rather than letting garbage count, yet a heap that really grows passes the budget
// instead of sinking into collections at the limit (with the limit at the budget, three leaking
// instances took 53 s to be caught under -race). It returns when ctx ends.
func watchHeap(ctx context.Context, budget int64, exceeded func(error)) {
	unwatch := runtime.WatchHeap(budget, budget+budget/4, func(live uint64) {
		exceeded(fmt.Errorf("%w: the heap holds %.0f MiB, the budget is %.0f MiB",
			ErrMemoryBudget, float64(live)/(1<<20), float64(budget)/(1<<20)))
	})
	defer unwatch()
	<-ctx.Done()
}
