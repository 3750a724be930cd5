package runtime_test

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dop251/goja"

	"github.com/devicejs/devicejs/runtime"
	"github.com/devicejs/devicejs/runtime/runtimetest"
)

func newLoop(out *bytes.Buffer) *runtime.Loop {
	return runtime.New(runtime.Options{Stdout: out, Clock: runtime.NewScaledClock(1000)})
}

func TestPostRunsJobsInOrder(t *testing.T) {
	var out bytes.Buffer
	l := newLoop(&out)
	setup := func(l *runtime.Loop) error {
		h := l.Hold()
		go func() {
			for i := range 100 {
				if !l.Post(func(vm *goja.Runtime) error {
					fn, _ := goja.AssertFunction(vm.Get("onJob"))
					_, err := fn(goja.Undefined(), vm.ToValue(i))
					return err
				}) {
					t.Error("Post returned false while the loop runs")
				}
			}
			l.Post(func(*goja.Runtime) error { h.Release(); return nil })
		}()
		return nil
	}
	src := `var got = []; function onJob(i) { got.push(i) }`
	if err := l.Run(context.Background(), "test.js", src, setup); err != nil {
		t.Fatalf("Run: %v", err)
	}
	got := l.VM().Get("got").Export().([]any)
	if len(got) != 100 {
		t.Fatalf("ran %d jobs, want 100", len(got))
	}
	for i, v := range got {
		if v.(int64) != int64(i) {
			t.Fatalf("job %d ran as %v: not FIFO", i, v)
		}
	}
	if l.Post(func(*goja.Runtime) error { return nil }) {
		t.Error("Post after the end returned true")
	}
}

func TestWaitDispatchesPostedJobs(t *testing.T) {
	var out bytes.Buffer
	l := newLoop(&out)
	setup := func(l *runtime.Loop) error {
		l.Post(func(vm *goja.Runtime) error { _, err := vm.RunString(`print('job')`); return err })
		return nil
	}
	src := `print('before'); setTimeout(100).wait(); print('after')`
	if err := l.Run(context.Background(), "test.js", src, setup); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if want := "before\njob\nafter\n"; out.String() != want {
		t.Errorf("output = %q, want %q", out.String(), want)
	}
}

func TestPreemptionDispatchesPostedJobs(t *testing.T) {
	var out bytes.Buffer
	l := newLoop(&out)
	setup := func(l *runtime.Loop) error {
		go l.Post(func(vm *goja.Runtime) error { return vm.Set("done", true) })
		return nil
	}
	src := `var done = false; while (!done) {} print('done')`
	if err := l.Run(context.Background(), "test.js", src, setup); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if out.String() != "done\n" {
		t.Errorf("output = %q", out.String())
	}
}

func TestHoldKeepsLoopAlive(t *testing.T) {
	var out bytes.Buffer
	l := newLoop(&out)
	var mu sync.Mutex
	released := false
	setup := func(l *runtime.Loop) error {
		h1, h2 := l.Hold(), l.Hold()
		h1.Release()
		h1.Release() // idempotent: must not release h2's hold
		go func() {
			time.Sleep(50 * time.Millisecond)
			l.Post(func(vm *goja.Runtime) error { _, err := vm.RunString(`print('posted')`); return err })
			mu.Lock()
			released = true
			mu.Unlock()
			h2.Release()
		}()
		return nil
	}
	if err := l.Run(context.Background(), "test.js", `print('top')`, setup); err != nil {
		t.Fatalf("Run: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !released {
		t.Error("Run returned while a handle was open")
	}
	if want := "top\nposted\n"; out.String() != want {
		t.Errorf("output = %q, want %q", out.String(), want)
	}
}

func TestOnStop(t *testing.T) {
	errCancel := errors.New("stopped by test")
	tt := []struct {
		name    string
		src     string
		cancel  bool
		wantErr bool
	}{
		{"normal end", `print(1)`, false, false},
		{"script error", `throw new Error('x')`, false, true},
		{"context ended", `while (1) {}`, true, true},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			l := newLoop(&out)
			var order []string
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			setup := func(l *runtime.Loop) error {
				l.OnStop(func() { order = append(order, "first") })
				l.OnStop(func() {
					order = append(order, "second")
					if l.Post(func(*goja.Runtime) error { return nil }) {
						t.Error("Post from an OnStop hook returned true")
					}
				})
				if tc.cancel {
					time.AfterFunc(20*time.Millisecond, func() { cancel(errCancel) })
				}
				return nil
			}
			err := l.Run(ctx, "test.js", tc.src, setup)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Run: %v", err)
			}
			if tc.cancel && !errors.Is(err, errCancel) {
				t.Errorf("Run = %v, want the context's cause", err)
			}
			if strings.Join(order, ",") != "second,first" {
				t.Errorf("hooks ran as %v, want [second first]", order)
			}
		})
	}
}

func TestContextStopsScriptPromptly(t *testing.T) {
	tt := []struct{ name, src string }{
		{"spinning top level", `while (1) {}`},
		{"spinning without loop body call", `for (;;);`},
		{"spinning callback", `setTimeout(function() { while (1) {} }, 0)`},
		{"long wait", `setTimeout(1e12).wait()`},
		{"long wait in callback", `setTimeout(function() { setTimeout(1e12).wait() }, 0)`},
		{"idle interval", `setInterval(function() {}, 1e9)`},
		{"catch cannot swallow it", `while (1) { try { while (1) {} } catch (e) { print('caught') } }`},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			cause := errors.New("time is up")
			ctx, cancel := context.WithCancelCause(context.Background())
			var out bytes.Buffer
			l := newLoop(&out)
			timer := time.AfterFunc(30*time.Millisecond, func() { cancel(cause) })
			defer timer.Stop()
			start := time.Now()
			err := l.Run(ctx, "test.js", tc.src)
			if el := time.Since(start); el > 2*time.Second {
				t.Errorf("Run took %v after cancel", el)
			}
			if !errors.Is(err, cause) {
				t.Errorf("Run = %v, want %v", err, cause)
			}
			if out.Len() != 0 {
				t.Errorf("output = %q", out.String())
			}
		})
	}
}

// nilMap returns a nil map, to provoke a Go runtime panic.
func nilMap() map[string]int { return nil }

func TestGoPanicBecomesScriptError(t *testing.T) {
	boom := func(l *runtime.Loop) error {
		return l.VM().Set("boom", func(goja.FunctionCall) goja.Value { panic("kaboom") })
	}
	postPanic := func(l *runtime.Loop) error {
		l.Post(func(*goja.Runtime) error { nilMap()["x"] = 1; return nil })
		return nil
	}
	setupPanic := func(*runtime.Loop) error { panic("in setup") }
	tt := []struct {
		name  string
		src   string
		setup func(*runtime.Loop) error
		want  string
	}{
		{"native at top level", `boom()`, boom, "kaboom"},
		{"native in a timer", `setTimeout(function() { boom() }, 10)`, boom, "kaboom"},
		{"native caught by try", `try { boom() } catch (e) { print('caught') }`, boom, "kaboom"},
		{"native in a callback dispatched by wait", `setTimeout(function() { boom() }, 10); try { setTimeout(1000).wait() } catch (e) { print('caught') }`, boom, "kaboom"},
		{"posted job", `print('x')`, postPanic, "assignment to entry in nil map"},
		{"setup", `print('x')`, setupPanic, "in setup"},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runtimetest.Run(t, tc.src, tc.setup)
			var se *runtime.ScriptError
			if !errors.As(err, &se) {
				t.Fatalf("Run = %v, want a *ScriptError", err)
			}
			if se.Kind != runtime.KindPanic || !strings.Contains(se.Message, tc.want) || se.GoStack == "" {
				t.Errorf("got kind %v message %q (go stack %d bytes)", se.Kind, se.Message, len(se.GoStack))
			}
			if !strings.Contains(se.Error(), "panic: "+tc.want) {
				t.Errorf("Error() = %q", se.Error())
			}
			if strings.Contains(out, "caught") {
				t.Error("JS caught a Go panic")
			}
		})
	}
}

func TestPostedJobErrors(t *testing.T) {
	errJob := errors.New("job failed")
	tt := []struct {
		name string
		job  func(vm *goja.Runtime) error
		want string
		line int
	}{
		{"go error", func(*goja.Runtime) error { return errJob }, "job failed", 0},
		{"returned exception", func(vm *goja.Runtime) error {
			_, err := vm.RunString("\n\nnull.x")
			return err
		}, "TypeError", 3},
		{"thrown exception", func(vm *goja.Runtime) error {
			panic(vm.NewTypeError("bad argument"))
		}, "TypeError: bad argument", 0},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			setup := func(l *runtime.Loop) error { l.Post(tc.job); return nil }
			_, err := runtimetest.Run(t, `setTimeout(function() { print('never') }, 1e6)`, setup)
			var se *runtime.ScriptError
			if !errors.As(err, &se) {
				t.Fatalf("Run = %v, want a *ScriptError", err)
			}
			if se.Kind != runtime.KindException || !strings.Contains(se.Message, tc.want) || se.Line != tc.line {
				t.Errorf("got %v %q line %d, want exception %q line %d", se.Kind, se.Message, se.Line, tc.want, tc.line)
			}
			if tc.name == "go error" && !errors.Is(err, errJob) {
				t.Error("ScriptError does not unwrap to the job's error")
			}
		})
	}
}

func TestRunWithEndedContext(t *testing.T) {
	cause := errors.New("already over")
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(cause)
	var out bytes.Buffer
	l := newLoop(&out)
	setupRan := false
	err := l.Run(ctx, "test.js", `print('x')`, func(*runtime.Loop) error { setupRan = true; return nil })
	if !errors.Is(err, cause) || setupRan || out.Len() != 0 {
		t.Errorf("Run = %v, setup ran %v, output %q", err, setupRan, out.String())
	}
}

func TestRunTwice(t *testing.T) {
	var out bytes.Buffer
	l := newLoop(&out)
	if err := l.Run(context.Background(), "a.js", ``); err != nil {
		t.Fatal(err)
	}
	if err := l.Run(context.Background(), "a.js", ``); err == nil {
		t.Error("second Run returned nil")
	}
}

func TestTimeScale(t *testing.T) {
	var out bytes.Buffer
	l := runtime.New(runtime.Options{Stdout: &out, Clock: runtime.NewScaledClock(100)})
	start := time.Now()
	src := `var s = Date.now(); setTimeout(function() { print(Date.now() - s >= 20000) }, 20000)`
	if err := l.Run(context.Background(), "test.js", src); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("a 20 s timer at scale 100 took %v of wall time", el)
	}
	if out.String() != "true\n" {
		t.Errorf("output = %q", out.String())
	}
}

func TestGlobals(t *testing.T) {
	tt := []struct{ src, want string }{
		{`print('a', 1, 1.5, true, null, undefined, {}, [1, 2], function f() {})`,
			"a 1 1.5 true null undefined [object Object] 1,2 function f() {}\n"},
		{`print()`, "\n"},
		{`print({toString: function() { return 'custom' }})`, "custom\n"},
		{`print(typeof console, typeof require, typeof process, typeof module)`, "undefined undefined undefined undefined\n"},
		{`print(Object.keys(this).join())`, "print,setTimeout,setInterval,clearTimeout,clearInterval\n"},
		{`(function() { var n = 0; for (var k in this) n++; print(n) })()`, "5\n"},
		{`print(new Date().getFullYear() >= 2024, typeof Date.now())`, "true number\n"},
		{"print(String(function f(a) { while (a) { a-- } for (;;) break; }))\nvar g = () => { do ; while (0) }; print(g)",
			"function f(a) { while (a) { a-- } for (;;) break; }\n() => { do ; while (0) }\n"},
		{`print(typeof __devicejs$tick, delete this.__devicejs$tick, Object.getOwnPropertyNames(this).indexOf('__devicejs$tick') >= 0)`,
			"function false true\n"},
	}
	for _, tc := range tt {
		t.Run(tc.src, func(t *testing.T) {
			out, err := runtimetest.Run(t, tc.src)
			if err != nil {
				t.Fatal(err)
			}
			if out != tc.want {
				t.Errorf("output = %q, want %q", out, tc.want)
			}
		})
	}
}

func TestDateUsesClock(t *testing.T) {
	start := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	clock := runtime.NewManualClock(start)
	var out bytes.Buffer
	l := runtime.New(runtime.Options{Stdout: &out, Clock: clock})
	if err := l.Run(context.Background(), "test.js", `print(Date.now(), new Date().toISOString())`); err != nil {
		t.Fatal(err)
	}
	if want := strconv.FormatInt(start.UnixMilli(), 10) + " 2030-05-06T07:08:09.000Z\n"; out.String() != want {
		t.Errorf("output = %q, want %q", out.String(), want)
	}
}

func TestInterrupt(t *testing.T) {
	cause := errors.New("operator stop")
	tt := []struct{ name, src string }{
		{"spinning", `while (1) {}`},
		{"waiting", `setTimeout(1e12).wait()`},
		{"idle timer", `setInterval(function() {}, 1e9)`},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			l := newLoop(&out)
			stopped := false
			setup := func(l *runtime.Loop) error {
				l.OnStop(func() { stopped = true })
				go func() {
					time.Sleep(20 * time.Millisecond)
					l.Interrupt(cause)
					l.Interrupt(errors.New("second call is ignored"))
				}()
				return nil
			}
			err := l.Run(context.Background(), "test.js", tc.src, setup)
			if !errors.Is(err, cause) || !stopped {
				t.Errorf("Run = %v (hooks ran: %v), want %v", err, stopped, cause)
			}
			l.Interrupt(nil) // after the run: no effect on the VM
			if v, err := l.VM().RunString(`1 + 1`); err != nil || v.ToInteger() != 2 {
				t.Errorf("VM after the run: %v, %v", v, err)
			}
		})
	}
	t.Run("before Run", func(t *testing.T) {
		var out bytes.Buffer
		l := newLoop(&out)
		l.Interrupt(nil)
		err := l.Run(context.Background(), "test.js", `print('x')`)
		if err == nil || out.Len() != 0 {
			t.Errorf("Run = %v, output %q", err, out.String())
		}
	})
}
