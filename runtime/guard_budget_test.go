package runtime_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/devicejs/devicejs/internal/syncbuf"
	"github.com/devicejs/devicejs/runtime"
)

// watchdogRunning reports whether a run is registered with the process's heap watchdog now.
func watchdogRunning() bool { return runtime.WatchedLoops() > 0 }

// TestMemoryGuardBudget: Options.MemoryGuardBudget installs the memory guards (a call that
// would allocate past the budget ends the run with the budget error before allocating, and the
// script's catch never runs) without starting a watchdog goroutine; MaxMemory, the control, does
// start one (so the goroutine check can see one), and neither leaves the guards off.
func TestMemoryGuardBudget(t *testing.T) {
	tt := []struct {
		name         string
		opts         runtime.Options
		src, builtin string
		watchdog     bool
	}{
		{"guards only: fill", runtime.Options{MemoryGuardBudget: guardBudget}, `new Array(1.5e8).fill(1)`, "Array.prototype.fill", false},
		{"guards only: Array.from", runtime.Options{MemoryGuardBudget: guardBudget}, `Array.from({length: 1e8})`, "Array.from", false},
		{"guards only: apply", runtime.Options{MemoryGuardBudget: guardBudget}, `Math.max.apply(null, {length: 4e9})`, "Function.prototype.apply", false},
		{"guards only: split", runtime.Options{MemoryGuardBudget: guardBudget}, `'abcdefgh'.repeat(2**20).split('')`, "String.prototype.split", false},
		{"guards only: JSON.parse", runtime.Options{MemoryGuardBudget: guardBudget}, `JSON.parse('[' + '1,'.repeat(2**21) + '1]')`, "JSON.parse", false},
		{"guards only: map", runtime.Options{MemoryGuardBudget: guardBudget}, `new Array(1e8).map(function(x) { return x })`, "Array.prototype.map", false},
		{"MaxMemory wins over a larger guard budget", runtime.Options{MaxMemory: guardBudget, MemoryGuardBudget: 1 << 40}, `new Array(1.5e8).fill(1)`, "Array.prototype.fill", true},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			var out syncbuf.Buffer
			tc.opts.Stdout = &out
			l := runtime.New(tc.opts)
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			// The script waits for the test to look for the watchdog, then calls the built-in.
			looked := make(chan bool, 1)
			src := "setTimeout(function() { try { " + tc.src + " } catch (e) { print('caught', e) } print('after') }, 50)"
			go func() {
				deadline := time.Now().Add(30 * time.Millisecond)
				seen := false
				for !seen && time.Now().Before(deadline) {
					seen = watchdogRunning()
					time.Sleep(5 * time.Millisecond)
				}
				looked <- seen
			}()
			err := l.Run(ctx, "guard.js", src)
			if seen := <-looked; seen != tc.watchdog {
				t.Errorf("watchdog goroutine seen %v, want %v", seen, tc.watchdog)
			}
			var se *runtime.ScriptError
			if !errors.As(err, &se) || se.Kind != runtime.KindLimit || !errors.Is(err, runtime.ErrMemoryBudget) {
				t.Fatalf("err %v, stdout %q", err, out.String())
			}
			want := "guard.js: memory budget exceeded: " + tc.builtin + " would allocate about "
			if !strings.HasPrefix(se.Error(), want) || !strings.HasSuffix(se.Error(), "the budget is 64 MiB") {
				t.Errorf("message %q, want it to start %q and name the 64 MiB budget", se.Error(), want)
			}
			if o := out.String(); o != "" {
				t.Errorf("the script went on: stdout %q", o)
			}
		})
	}
}

// TestMemoryGuardBudgetLetsSmallCallsThrough: under a guard budget, calls well within it run
// as without guards, and a run without any budget gets no guards at all.
func TestMemoryGuardBudgetLetsSmallCallsThrough(t *testing.T) {
	src := `var a = new Array(1000).fill(2); print(a.map(function(x) { return x * 2 }).slice(0, 3).join('+'),
		'a,b'.split(',').length, JSON.parse('[1,2]')[1], Array.from({length: 2}).length)`
	for _, opts := range []runtime.Options{{MemoryGuardBudget: guardBudget}, {}} {
		var out syncbuf.Buffer
		opts.Stdout = &out
		if err := runtime.New(opts).Run(t.Context(), "small.js", src); err != nil {
			t.Fatalf("%+v: %v", opts, err)
		}
		if got, want := out.String(), "4+4+4 2 2 2\n"; got != want {
			t.Errorf("%+v: stdout %q, want %q", opts, got, want)
		}
	}
}
