package runtime_test

import (
	"context"
	"io"
	goruntime "runtime"
	"testing"

	"github.com/dop251/goja"

	"github.com/devicejs/devicejs/runtime"
)

// BenchmarkIdleLoop is the cost of one started, idle loop (an empty script holding a handle,
// parked with no goroutine): the bytes and allocations to get there (-benchmem) and the live
// heap each loop keeps (live-B/loop, after a collection), without a budget, with a fleet's
// guard budget (MemoryGuardBudget) and with MaxMemory. It is the figure the sandbox guards
// must keep flat: a fleet runs 100,000 of these.
func BenchmarkIdleLoop(b *testing.B) {
	for _, tc := range []struct {
		name string
		opts runtime.Options
	}{
		{"no budget", runtime.Options{}},
		{"guard budget", runtime.Options{MemoryGuardBudget: 1 << 30}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			handles := make([]*runtime.Handle, b.N)
			done := make(chan error, b.N)
			idle := make(chan struct{}, b.N)
			var before, after goruntime.MemStats
			goruntime.GC()
			goruntime.ReadMemStats(&before)
			b.ResetTimer()
			for i := range b.N {
				opts := tc.opts
				opts.Stdout = io.Discard
				l := runtime.New(opts)
				setup := func(l *runtime.Loop) error {
					handles[i] = l.Hold()
					l.Post(func(*goja.Runtime) error { idle <- struct{}{}; return nil })
					return nil
				}
				if err := l.Start(context.Background(), "idle.js", "var n = 0", func(err error) { done <- err }, setup); err != nil {
					b.Fatal(err)
				}
			}
			for range b.N {
				<-idle
			}
			b.StopTimer()
			goruntime.GC()
			goruntime.ReadMemStats(&after)
			b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(b.N), "live-B/loop")
			for _, h := range handles {
				h.Release()
			}
			for range b.N {
				if err := <-done; err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
