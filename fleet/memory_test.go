package fleet_test

import (
	"context"
	"errors"
	goruntime "runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devicejs/devicejs"
	"github.com/devicejs/devicejs/fleet"
	"github.com/devicejs/devicejs/runtime"
)

// leakShapes grow the heap in different ways, each after printing "leaking".
var leakShapes = []struct{ name, src string }{
	{"string doubling", `var hold = [], s = 'x'; print('leaking');
setInterval(function () { s = s + s; hold.push(s + '!'); if (s.length > (1 << 24)) s = 'y'; }, 1);`},
	{"typed arrays", `var hold = []; print('leaking');
setInterval(function () { var a = new Float64Array(1 << 20); a[7] = 1; hold.push(a); }, 1);`},
}

// TestFleetMemoryBudget: an in-process fleet whose instances outgrow Config.MaxMemory ends
// them all (the heap cannot be attributed in one process) with ReasonMemory, promptly, with
// the heap bounded near the budget, and says why (StopCause, Ended).
func TestFleetMemoryBudget(t *testing.T) {
	const budget = 96 << 20
	for _, sh := range leakShapes {
		t.Run(sh.name, func(t *testing.T) {
			goruntime.GC()
			fl, err := fleet.New(fleet.Config{N: 3, Script: devicejs.Script{Name: "leak.js", Source: sh.src}, MaxMemory: budget})
			if err != nil {
				t.Fatal(err)
			}
			var peak atomic.Uint64
			stop := make(chan struct{})
			sampled := make(chan struct{})
			go func() { // the test's own reading of the heap, every millisecond
				defer close(sampled)
				s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
				for {
					select {
					case <-stop:
						return
					case <-time.After(time.Millisecond):
					}
					metrics.Read(s)
					if v := s[0].Value.Uint64(); v > peak.Load() {
						peak.Store(v)
					}
				}
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			start := time.Now()
			sum, err := fl.Run(ctx)
			close(stop)
			<-sampled
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("ended after %v, peak heap objects %.0f MiB (budget %d MiB)", time.Since(start).Round(time.Millisecond),
				float64(peak.Load())/(1<<20), budget>>20)
			if ctx.Err() != nil {
				t.Fatal("the budget did not stop the fleet; the test's timeout did")
			}
			// The typed array constructor's guard (runtime's allocation guards, against the fleet
			// budget) may end each instance itself, before the fleet's watchdog sees the heap over
			// the budget: then there is no StopCause, and every instance still ends with
			// ReasonMemory (below).
			if c := fl.StopCause(); !errors.Is(c, fleet.ErrMemoryBudget) && (c != nil || sh.name != "typed arrays") {
				t.Errorf("StopCause %v, want ErrMemoryBudget", c)
			}
			if len(sum.Ended) != 3 {
				t.Fatalf("ended %+v, want all 3", sum.Ended)
			}
			for _, e := range sum.Ended {
				if e.Reason != fleet.ReasonMemory || !strings.Contains(e.Detail, "budget") {
					t.Errorf("ended %+v, want reason %q with the figures", e, fleet.ReasonMemory)
				}
			}
			if p := peak.Load(); p > 4*budget {
				t.Errorf("heap objects peaked at %d MiB, budget %d MiB", p>>20, budget>>20)
			}
		})
	}
}

// TestFleetStoppedAndPartial: while an instance is stuck in a long built-in call after the
// fleet's context ended, Stopped is closed, StopCause is the context's cause, and Partial lists
// the stuck instance with the given reason (what `devicejs fleet` writes before its hard exit).
func TestFleetStoppedAndPartial(t *testing.T) {
	src := `print('started'); var a = new Array(2e5).fill(0).map(Math.random); a.sort();`
	fl, err := fleet.New(fleet.Config{N: 2, Script: devicejs.Script{Source: src}})
	if err != nil {
		t.Fatal(err)
	}
	cause := errors.New("test stop")
	ctx, cancel := context.WithCancelCause(context.Background())
	ran := make(chan fleet.Summary, 1)
	go func() {
		s, _ := fl.Run(ctx)
		ran <- s
	}()
	select {
	case <-fl.Stopped():
		t.Fatal("Stopped before the stop")
	case <-time.After(300 * time.Millisecond):
	}
	if fl.StopCause() != nil {
		t.Errorf("StopCause %v before the stop", fl.StopCause())
	}
	cancel(cause)
	select {
	case <-fl.Stopped():
	case <-time.After(5 * time.Second):
		t.Fatal("Stopped not closed 5 s after the stop")
	}
	if !errors.Is(fl.StopCause(), cause) {
		t.Errorf("StopCause %v, want %v", fl.StopCause(), cause)
	}
	p := fl.Partial(time.Second, "timeout")
	if p.Instances != 2 {
		t.Errorf("partial instances %d", p.Instances)
	}
	for _, e := range p.Ended {
		if e.Reason != "timeout" && e.Reason != fleet.ReasonCanceled {
			t.Errorf("partial ended %+v", e)
		}
	}
	s := <-ran // the sort ends in seconds; Run returns the full summary
	if len(s.Ended) != 2 {
		t.Errorf("ended %+v, want both", s.Ended)
	}
}

// TestFleetNoStopWhenFinished: a fleet whose instances all finish is never Stopped.
func TestFleetNoStopWhenFinished(t *testing.T) {
	fl, err := fleet.New(fleet.Config{N: 3, Script: devicejs.Script{Source: "print(1)"}, MaxMemory: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := fl.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-fl.Stopped():
		t.Error("Stopped closed after a clean finish")
	default:
	}
	if len(sum.Ended) != 0 || sum.PeakRSSBytes == 0 {
		t.Errorf("ended %+v, peak RSS %d", sum.Ended, sum.PeakRSSBytes)
	}
	if _, err := fleet.New(fleet.Config{N: 1, MaxMemory: -1}); err == nil {
		t.Error("negative MaxMemory accepted")
	}
}

// TestErrMemoryBudgetIsTheRuntimes: the fleet's budget error is the runtime's, with its text.
func TestErrMemoryBudgetIsTheRuntimes(t *testing.T) {
	if !errors.Is(fleet.ErrMemoryBudget, runtime.ErrMemoryBudget) || fleet.ErrMemoryBudget.Error() != "fleet: memory budget exceeded" {
		t.Fatalf("%v", fleet.ErrMemoryBudget)
	}
}
