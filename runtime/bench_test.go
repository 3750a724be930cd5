package runtime_test

import (
	"context"
	"io"
	goruntime "runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/dop251/goja"

	"github.com/devicejs/devicejs/runtime"
)

// BenchmarkTimerDispatch measures one setTimeout(cb, 0): scheduling it and
// dispatching its callback.
func BenchmarkTimerDispatch(b *testing.B) {
	src := `var n = 0; function cb() { n++ }
	for (var i = 0; i < ` + strconv.Itoa(b.N) + `; i++) setTimeout(cb, 0)`
	l := runtime.New(runtime.Options{Stdout: io.Discard})
	b.ResetTimer()
	if err := l.Run(context.Background(), "bench.js", src); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if got := l.VM().Get("n").ToInteger(); got != int64(b.N) {
		b.Fatalf("ran %d callbacks, want %d", got, b.N)
	}
}

// BenchmarkLoopPreemption measures one iteration of a small loop with the
// preemption point (devicejs) and without it (plain goja).
func BenchmarkLoopPreemption(b *testing.B) {
	src := func(n int) string {
		return `(function() { var s = 0; for (var i = 0; i < ` + strconv.Itoa(n) + `; i++) { s += i } })()`
	}
	b.Run("instrumented", func(b *testing.B) {
		l := runtime.New(runtime.Options{Stdout: io.Discard})
		if err := l.Run(context.Background(), "bench.js", src(b.N)); err != nil {
			b.Fatal(err)
		}
	})
	b.Run("plain", func(b *testing.B) {
		if _, err := goja.New().RunString(src(b.N)); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkPostLatency measures the round trip of Post from another
// goroutine until the job has run, with the loop idle (blocked in its
// select) and with the script spinning in a top-level loop (the job runs at
// a preemption point). In the spinning case the poster polls a flag instead
// of blocking on a channel: the loop goroutine never yields its P, so a
// channel handoff would measure the Go scheduler's work stealing instead.
func BenchmarkPostLatency(b *testing.B) {
	for _, tc := range []struct{ name, src string }{
		{"idle", ``},
		{"spinning", `var done = false; while (!done) {}`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			l := runtime.New(runtime.Options{Stdout: io.Discard})
			var ran atomic.Bool
			ranCh := make(chan struct{})
			job := func(*goja.Runtime) error { ranCh <- struct{}{}; return nil }
			if tc.name == "spinning" {
				job = func(*goja.Runtime) error { ran.Store(true); return nil }
			}
			setup := func(l *runtime.Loop) error {
				h := l.Hold()
				go func() {
					b.ResetTimer()
					for range b.N {
						l.Post(job)
						if tc.name == "spinning" {
							for !ran.Load() {
								goruntime.Gosched()
							}
							ran.Store(false)
						} else {
							<-ranCh
						}
					}
					b.StopTimer()
					l.Post(func(vm *goja.Runtime) error { h.Release(); return vm.Set("done", true) })
				}()
				return nil
			}
			if err := l.Run(context.Background(), "bench.js", tc.src, setup); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkWake measures a wake-up of an idle loop: Post from another goroutine, a JS call (a
// small object, JSON.stringify), the job's reply, for a Run loop (its goroutine blocked on its
// channel) and a Start loop (parked with no goroutine, resumed on a resume worker).
func BenchmarkWake(b *testing.B) {
	src := `function f(x) { var o = {a: x, b: [x, x + 1]}; return JSON.stringify(o).length; }`
	for _, mode := range []string{"Run", "Start"} {
		b.Run(mode, func(b *testing.B) {
			l := runtime.New(runtime.Options{Stdout: io.Discard})
			var h *runtime.Handle
			ready, back, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
			setup := func(l *runtime.Loop) error { h = l.Hold(); close(ready); return nil }
			if mode == "Run" {
				go func() { done <- l.Run(context.Background(), "bench.js", src, setup) }()
			} else if err := l.Start(context.Background(), "bench.js", src, func(err error) { done <- err }, setup); err != nil {
				b.Fatal(err)
			}
			<-ready
			job := func(vm *goja.Runtime) error {
				fn, _ := goja.AssertFunction(vm.Get("f"))
				_, err := fn(goja.Undefined(), vm.ToValue(1))
				back <- struct{}{}
				return err
			}
			b.ResetTimer()
			for range b.N {
				l.Post(job)
				<-back
			}
			b.StopTimer()
			l.Post(func(*goja.Runtime) error { h.Release(); return nil })
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkNew measures runtime.New (the VM, the device globals and the guards) as every device
// pays it, without and with a memory budget (devicejs fleet sets one by default); B/op is the
// per-device heap New allocates (docs/performance.md, "What an idle device is made of").
func BenchmarkNew(b *testing.B) {
	for _, tc := range []struct {
		name   string
		budget int64
	}{{"no-budget", 0}, {"budget", 1 << 30}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				runtime.New(runtime.Options{Stdout: io.Discard, MemoryGuardBudget: tc.budget})
			}
		})
	}
}
