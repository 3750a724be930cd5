package runtime_test

import (
	"bytes"
	"context"
	"errors"
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dop251/goja"

	"github.com/devicejs/devicejs/runtime"
)

// start runs src with Start and returns a channel that receives what done was called with.
// It fails the test if done is called more than once.
func start(t *testing.T, l *runtime.Loop, ctx context.Context, src string, setup ...func(*runtime.Loop) error) <-chan error {
	t.Helper()
	ch := make(chan error, 1)
	var calls atomic.Int32
	err := l.Start(ctx, "test.js", src, func(err error) {
		if calls.Add(1) > 1 {
			t.Error("done called twice")
			return
		}
		ch <- err
	}, setup...)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return ch
}

// wait returns what done received, failing the test after 10 s.
func wait(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("done not called within 10 s")
		return nil
	}
}

// TestStartMatchesRun runs the same scripts through Run and Start: same output, same error.
func TestStartMatchesRun(t *testing.T) {
	tt := []struct {
		name, src string
		wantErr   bool
	}{
		{"top level only", `print('a'); print('b')`, false},
		{"timers in order", `setTimeout(function() { print(2) }, 20000); setTimeout(function() { print(1) }, 10000)`, false},
		{"interval", `var n = 0, h = setInterval(function() { print('tick ' + n); if (++n === 3) clearInterval(h) }, 5)`, false},
		{"nested timers", `setTimeout(function() { print('outer'); setTimeout(function() { print('inner') }, 10) }, 10)`, false},
		{"wait", `print('before'); setTimeout(100).wait(); print('after')`, false},
		{"error in a callback", `setTimeout(function() { throw new Error('late') }, 10)`, true},
		{"syntax error", `var = 1`, true},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			var runOut, startOut bytes.Buffer
			runErr := newLoop(&runOut).Run(context.Background(), "test.js", tc.src)
			startErr := wait(t, start(t, newLoop(&startOut), context.Background(), tc.src))
			if (runErr != nil) != tc.wantErr || (startErr != nil) != tc.wantErr {
				t.Fatalf("Run = %v, Start = %v, want error %v", runErr, startErr, tc.wantErr)
			}
			if runErr != nil && runErr.Error() != startErr.Error() {
				t.Errorf("Run = %v, Start = %v", runErr, startErr)
			}
			if runOut.String() != startOut.String() {
				t.Errorf("Start printed %q, Run %q", startOut.String(), runOut.String())
			}
		})
	}
}

// TestStartParksWithoutGoroutine checks that an idle started loop holds no goroutine, and that
// jobs posted to it from many goroutines run, each producer's in order, until the handle is
// released.
func TestStartParksWithoutGoroutine(t *testing.T) {
	before := goruntime.NumGoroutine()
	var out bytes.Buffer
	l := newLoop(&out)
	var h *runtime.Handle
	setup := func(l *runtime.Loop) error {
		h = l.Hold()
		return l.VM().Set("got", l.VM().NewArray())
	}
	ch := start(t, l, context.Background(), `print('top')`, setup)
	deadline := time.Now().Add(5 * time.Second)
	for goruntime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := goruntime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines while the loop is idle, %d before Start", n, before)
	}

	const producers, jobs = 8, 200
	var wg sync.WaitGroup
	var ran [producers][]int // loop only
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if !l.Post(func(*goja.Runtime) error { ran[p] = append(ran[p], i); return nil }) {
					t.Error("Post returned false while the loop runs")
				}
				if i%50 == 0 {
					time.Sleep(time.Millisecond) // let the loop park in between
				}
			}
		}()
	}
	wg.Wait()
	l.Post(func(*goja.Runtime) error { h.Release(); return nil })
	if err := wait(t, ch); err != nil {
		t.Fatalf("done(%v)", err)
	}
	for p := range producers {
		if len(ran[p]) != jobs {
			t.Fatalf("producer %d: %d jobs ran, want %d", p, len(ran[p]), jobs)
		}
		for i, v := range ran[p] {
			if v != i {
				t.Fatalf("producer %d: job %d ran as %d: not FIFO", p, i, v)
			}
		}
	}
	if out.String() != "top\n" {
		t.Errorf("output = %q", out.String())
	}
}

// TestStartEndsWhileParked ends an idle started loop through its context and through
// Interrupt: done gets the cause, after the OnStop hooks.
func TestStartEndsWhileParked(t *testing.T) {
	cause := errors.New("operator stop")
	tt := []struct {
		name string
		end  func(l *runtime.Loop, cancel context.CancelCauseFunc)
	}{
		{"context", func(_ *runtime.Loop, cancel context.CancelCauseFunc) { cancel(cause) }},
		{"Interrupt", func(l *runtime.Loop, _ context.CancelCauseFunc) { l.Interrupt(cause) }},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			var out bytes.Buffer
			l := newLoop(&out)
			var stopped atomic.Bool
			setup := func(l *runtime.Loop) error {
				l.OnStop(func() { stopped.Store(true) })
				return nil
			}
			ch := start(t, l, ctx, `setInterval(function() {}, 1e9)`, setup)
			time.Sleep(20 * time.Millisecond) // parked by now
			tc.end(l, cancel)
			if err := wait(t, ch); !errors.Is(err, cause) {
				t.Errorf("done(%v), want %v", err, cause)
			}
			if !stopped.Load() {
				t.Error("done called before the OnStop hooks ran")
			}
		})
	}
}

func TestStartTwice(t *testing.T) {
	var out bytes.Buffer
	l := newLoop(&out)
	if err := wait(t, start(t, l, context.Background(), `print(1)`)); err != nil {
		t.Fatal(err)
	}
	if err := l.Start(context.Background(), "a.js", ``, func(error) { t.Error("done of a second Start called") }); err == nil {
		t.Error("second Start returned nil")
	}
	if err := l.Run(context.Background(), "a.js", ``); err == nil {
		t.Error("Run after Start returned nil")
	}
}
