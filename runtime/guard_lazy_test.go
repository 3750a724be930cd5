package runtime_test

import (
	"context"
	"io"
	goruntime "runtime"
	"testing"
	"weak"

	"github.com/devicejs/devicejs/runtime"
)

// TestLazyGuardsKeepNoLoopAlive: the registry of lazily guarded loops (and what it records of
// their VMs) keeps nothing of a finished loop alive, with and without a budget, after the
// script built every lazily guarded built-in.
func TestLazyGuardsKeepNoLoopAlive(t *testing.T) {
	for _, budget := range []int64{0, 1 << 40} {
		wp := func() weak.Pointer[runtime.Loop] {
			l := runtime.New(runtime.Options{Stdout: io.Discard, MemoryGuardBudget: budget})
			if err := l.Run(context.Background(), "t.js", `JSON.parse('[1]'); Array.from([1]); [].constructor.from([2]);
				[1].join(); ''.repeat(1); ''.split(','); [1].fill(0)`); err != nil {
				t.Fatal(err)
			}
			return weak.Make(l)
		}()
		for i := 0; i < 5 && wp.Value() != nil; i++ {
			goruntime.GC()
		}
		if wp.Value() != nil {
			t.Errorf("budget %d: the finished loop is still reachable", budget)
		}
	}
}
