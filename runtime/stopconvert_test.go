package runtime_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/devicejs/devicejs/runtime"
)

// errStopTest is the cause a test stops a run with.
var errStopTest = errors.New("stopped by the test")

// TestStopDuringErrorConversion checks that a run whose uncaught value spins while it is
// converted to a string for the message (toString, valueOf, Symbol.toPrimitive, a message
// getter) ends with the stop's cause, from the context or from Interrupt, and promptly: the
// CLI then exits 3 for --timeout, not 1.
func TestStopDuringErrorConversion(t *testing.T) {
	spinners := []struct{ name, src string }{
		{"toString", `throw {toString: function() { while (1) {} }};`},
		{"valueOf", `throw {toString: undefined, valueOf: function() { for (;;) {} }};`},
		{"Symbol.toPrimitive", `throw {[Symbol.toPrimitive]: function() { while (true) {} }};`},
		{"message getter of an Error", `var e = new Error(); Object.defineProperty(e, 'message', {get: function() { while (1) {} }}); throw e;`},
		{"name getter of an Error", `var e = new Error('m'); Object.defineProperty(e, 'name', {get: function() { while (1) {} }}); throw e;`},
		{"recursive toString that spins at depth", `var n = 0; throw {toString: function f() { if (++n < 50) return String({toString: f}); while (1) {} }};`},
		{"in a timer callback", `setTimeout(function() { throw {toString: function() { while (1) {} }}; }, 1);`},
		{"rejected promise", `Promise.reject({toString: function() { while (1) {} }});`},
		{"async function", `(async function() { throw {toString: function() { while (1) {} }}; })();`},
	}
	stops := []struct {
		name string
		stop func(l *runtime.Loop, cancel context.CancelCauseFunc)
	}{
		{"context", func(_ *runtime.Loop, cancel context.CancelCauseFunc) { cancel(errStopTest) }},
		{"Interrupt", func(l *runtime.Loop, _ context.CancelCauseFunc) { l.Interrupt(errStopTest) }},
	}
	for _, sp := range spinners {
		for _, st := range stops {
			t.Run(sp.name+"/"+st.name, func(t *testing.T) {
				ctx, cancel := context.WithCancelCause(context.Background())
				defer cancel(nil)
				l := runtime.New(runtime.Options{Stdout: io.Discard})
				timer := time.AfterFunc(100*time.Millisecond, func() { st.stop(l, cancel) })
				defer timer.Stop()
				done := make(chan error, 1)
				go func() { done <- l.Run(ctx, "test.js", sp.src) }()
				select {
				case err := <-done:
					var se *runtime.ScriptError
					if !errors.Is(err, errStopTest) || errors.As(err, &se) {
						t.Errorf("Run = %v, want the stop's cause", err)
					}
				case <-time.After(30 * time.Second): // generous: the machine is shared
					t.Fatal("the run did not stop")
				}
			})
		}
	}
}

// TestErrorConversionWithoutStop checks that the values above still make ordinary script
// errors when their conversion ends by itself: a toString that throws gives the placeholder,
// one that returns gives its text.
func TestErrorConversionWithoutStop(t *testing.T) {
	tt := []struct{ src, msg string }{
		{`throw {toString: function() { throw new Error('inner'); }};`, "<a value that cannot be converted to a string>"},
		{`throw {toString: function() { var i = 0; while (i < 1e5) i++; return 'slow ' + i; }};`, "slow 100000"},
		{`throw {toString: function() { return {}; }, valueOf: function() { return 'v'; }};`, "v"},
		{`throw {toString: function() { function r() { return r(); } return r(); }};`, "<a value that cannot be converted to a string>"},
		{`Promise.reject({toString: function() { throw 1; }});`, "(in promise) <a value that cannot be converted to a string>"},
	}
	for _, tc := range tt {
		l := runtime.New(runtime.Options{Stdout: io.Discard})
		err := l.Run(context.Background(), "test.js", tc.src)
		var se *runtime.ScriptError
		if !errors.As(err, &se) || se.Message != tc.msg {
			t.Errorf("%s: Run = %v, want a ScriptError %q", tc.src, err, tc.msg)
		}
	}
}
