package runtime

import (
	"context"
	"errors"
	goruntime "runtime"
	"sync"
	"testing"
	"time"
)

// TestEstimateHeapShapes: the estimate of what a finished script's globals hold is close to
// the heap the run really grew by (live heap before and after, collected), for each shape.
func TestEstimateHeapShapes(t *testing.T) {
	shapes := []struct{ name, src string }{
		{"array of objects", `var a = []; for (var i = 0; i < 20000; i++) a.push({x: i, y: 'v' + i});`},
		{"string", `var s = 'x'; for (var i = 0; i < 22; i++) s += s;`},
		{"object properties", `var o = {}; for (var i = 0; i < 20000; i++) o['k' + i] = {n: i};`},
		{"Map", `var m = new Map(); for (var i = 0; i < 20000; i++) m.set(i, {v: i});`},
		{"closures", `var f = []; for (var i = 0; i < 20000; i++) { let j = i; f.push(function() { return j; }); }`},
		{"typed arrays", `var t = []; for (var i = 0; i < 500; i++) t.push(new Uint8Array(8192));`},
		{"parsed JSON", `var j = [], s = '{"a":[1,2,3],"b":"xyz"}'; for (var i = 0; i < 6000; i++) j.push(JSON.parse(s));`},
		{"a timer's closure", `(function() { var keep = []; for (var i = 0; i < 20000; i++) keep.push([i]);
  setTimeout(function() { return keep.length; }, 1e9); })();`},
	}
	for _, sh := range shapes {
		t.Run(sh.name, func(t *testing.T) {
			var ms0, ms1 goruntime.MemStats
			goruntime.GC()
			goruntime.ReadMemStats(&ms0)
			l := New(Options{DeviceMemory: 1 << 40})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var est int64
			// The script's last statement measures it (on the loop, its globals and scopes
			// live), then the run is canceled.
			setup := func(l *Loop) error {
				return l.VM().Set("measure", func() { est = l.EstimateHeap(); cancel() })
			}
			if err := l.Run(ctx, "shape.js", sh.src+"\nmeasure();", setup); err != nil && !errors.Is(err, context.Canceled) {
				t.Fatalf("run: %v", err)
			}
			goruntime.GC()
			goruntime.ReadMemStats(&ms1)
			grown := int64(ms1.HeapAlloc) - int64(ms0.HeapAlloc)
			goruntime.KeepAlive(l)
			ratio := float64(est) / float64(grown)
			t.Logf("estimate %.2f MiB, heap grown %.2f MiB (%.2f)", float64(est)/(1<<20), float64(grown)/(1<<20), ratio)
			if ratio < 0.6 || ratio > 1.6 {
				t.Errorf("estimate %d bytes for a heap grown by %d (ratio %.2f)", est, grown, ratio)
			}
		})
	}
}

// TestEstimateHeapDeepList: a linked list 200,000 deep is measured without recursing (the
// walk keeps its own stack).
func TestEstimateHeapDeepList(t *testing.T) {
	l := New(Options{})
	src := `var head = null; for (var i = 0; i < 200000; i++) head = {next: head};`
	began := time.Now()
	if err := l.Run(context.Background(), "list.js", src); err != nil {
		t.Fatal(err)
	}
	ran := time.Since(began)
	est := l.EstimateHeap()
	t.Logf("ran in %v, measured %.0f MiB in %v", ran, float64(est)/(1<<20), time.Since(began)-ran)
	if est < 200000*48 {
		t.Errorf("estimate %d bytes for 200,000 objects", est)
	}
}

// TestDeviceMemoryIdleNotMeasured: among 50 idle loops with a budget and one leaking, the
// idle ones are measured at most once (after their top level ran) while the leaker is
// measured until it is stopped, alone, with the budget error.
func TestDeviceMemoryIdleNotMeasured(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	idle := make([]*Loop, 50)
	for i := range idle {
		idle[i] = New(Options{DeviceMemory: 16 << 20})
		wg.Add(1)
		if err := idle[i].Start(ctx, "idle.js", `setTimeout(function() {}, 1e9);`, func(error) { wg.Done() }); err != nil {
			t.Fatal(err)
		}
	}
	leaker := New(Options{DeviceMemory: 16 << 20})
	errc := make(chan error, 1)
	if err := leaker.Start(ctx, "leak.js", `var a = []; while (true) a.push({t: Date.now()});`, func(err error) { errc <- err }); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, ErrMemoryBudget) {
			t.Fatalf("leaker: %v, want the budget error", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the leaker was not stopped")
	}
	if n := leaker.mem.measured.Load(); n < 2 {
		t.Errorf("the leaker was measured %d times", n)
	}
	for i, l := range idle {
		if n := l.mem.measured.Load(); n > 1 {
			t.Errorf("idle loop %d was measured %d times", i, n)
		}
	}
	cancel()
	wg.Wait()
}

// TestDeviceMemoryBackstop: a device whose growth the estimate cannot see (values handed to
// host Go code) is stopped by the backstop once the process heap passes the sum of the
// budgets: the one with the largest estimate, alone; the other device runs on.
func TestDeviceMemoryBackstop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var hidden [][]byte // host memory the walk does not see
	var mu sync.Mutex
	setup := func(l *Loop) error {
		return l.VM().Set("hide", func(n int) {
			mu.Lock()
			hidden = append(hidden, make([]byte, n))
			mu.Unlock()
		})
	}
	quiet := New(Options{DeviceMemory: 16 << 20})
	quietDone := make(chan error, 1)
	if err := quiet.Start(ctx, "quiet.js", `setInterval(function() {}, 10);`, func(err error) { quietDone <- err }); err != nil {
		t.Fatal(err)
	}
	leaker := New(Options{DeviceMemory: 16 << 20})
	errc := make(chan error, 1)
	src := `var visible = []; for (var i = 0; i < 20000; i++) visible.push({i: i});
setInterval(function() { hide(1 << 20); }, 1);`
	if err := leaker.Start(ctx, "hidden.js", src, func(err error) { errc <- err }, setup); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		var se *ScriptError
		if !errors.As(err, &se) || !errors.Is(err, ErrMemoryBudget) {
			t.Fatalf("leaker: %v, want the budget error", err)
		}
		t.Logf("%v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("the leaker was not stopped")
	}
	select {
	case err := <-quietDone:
		t.Fatalf("the quiet device ended too: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	cancel()
	<-quietDone
	mu.Lock()
	t.Logf("hidden %d MiB", len(hidden))
	hidden = nil
	mu.Unlock()
}

// BenchmarkDeviceMemoryTick: a tight loop of 1,000,000 iterations (a preemption point each)
// with and without DeviceMemory: the clock read per preemption point is its cost.
func BenchmarkDeviceMemoryTick(b *testing.B) {
	for _, budget := range []int64{0, 1 << 30} {
		name := "off"
		if budget > 0 {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				l := New(Options{DeviceMemory: budget})
				if err := l.Run(context.Background(), "tick.js", `var n = 0; for (var i = 0; i < 1000000; i++) n += i;`); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
